import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, isMitosisError, NotFoundError } from '@mitosis/core';
import type { VideoInfo } from '@mitosis/video';
import { naturalCompare, probeVideo } from '@mitosis/video';
import { csvRows, headerOf } from './csv-rows';
import type { PlateFormat, WellPosition } from './wells';
import { parseWell, plateFormatFor, wellLabel } from './wells';

/** One field of a well: one time-lapse video. */
export interface PlateEntry {
  /** Canonical well name, `B07`. */
  readonly well: string;
  readonly position: WellPosition;
  /** 1-based field (site) of the well. */
  readonly field: number;
  /** Compound, dose or any label of replicate wells; empty when the layout gives none. */
  readonly condition: string;
  /** Absolute path of the video (any format readVideo takes). */
  readonly path: string;
  /** From the manifest; where absent, the video's own metadata may still state it. */
  readonly frameIntervalMin?: number;
  readonly pixelSizeUm?: number;
  /** Where the entry came from, for messages: `plate.csv line 4` or the file's path. */
  readonly origin: string;
}

/** A probed entry: what its video holds, the manifest's sizes first, the file's where it gave none. */
export interface CheckedEntry extends PlateEntry {
  readonly frames: number;
  readonly width: number;
  readonly height: number;
}

export interface PlateManifest {
  /** The manifest CSV or the plate folder. */
  readonly source: string;
  readonly layout: 'manifest' | 'folder';
  readonly format: PlateFormat;
  /** Sorted by well (row, then column), then field. */
  readonly entries: readonly CheckedEntry[];
  /** Conditions in order of first appearance. */
  readonly conditions: readonly string[];
  /** Folder layout: names that carry no well, left out. */
  readonly ignored: readonly string[];
}

const REQUIRED = ['well', 'field', 'condition', 'path'] as const;
const OPTIONAL = ['frame_interval_min', 'pixel_size_um'] as const;
const KNOWN: readonly string[] = [...REQUIRED, ...OPTIONAL];

interface Parsed {
  readonly entries: PlateEntry[];
  readonly problems: string[];
  /** Folder layout: names that carry no well. */
  readonly ignored?: string[];
}

function positiveNumber(text: string | undefined, what: string, at: string, problems: string[]): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    problems.push(`${at}: ${what} "${text}" is not a number > 0`);
    return undefined;
  }
  return value;
}

/**
 * Rows of a manifest CSV (`well,field,condition,path`, optional `frame_interval_min`,
 * `pixel_size_um`; paths relative to `baseDir`). Every bad row is a problem naming its line;
 * nothing is thrown for them, so a user sees them all at once.
 */
export function parseManifestCsv(text: string, source: string, baseDir: string): Parsed {
  const name = path.basename(source);
  const rows = csvRows(text, name);
  const problems: string[] = [];
  const header = headerOf(rows);
  if (header.length === 0) throw new InvalidInputError(`${name}: empty file, expected the header ${REQUIRED.join(',')}`);
  const missing = REQUIRED.filter((c) => !header.includes(c));
  const unknown = header.filter((c) => !KNOWN.includes(c));
  if (missing.length > 0 || unknown.length > 0) {
    const said = [...(missing.length > 0 ? [`lacks ${missing.join(', ')}`] : []), ...(unknown.length > 0 ? [`has unknown columns ${unknown.join(', ')}`] : [])];
    throw new InvalidInputError(`${name} line 1: the header ${said.join(' and ')} (columns: ${KNOWN.join(', ')})`);
  }
  if (rows.length === 1) throw new InvalidInputError(`${name}: a header and no wells`);
  const records = rows.slice(1).map(({ record, info }) => ({ record: Object.fromEntries(header.map((h, i) => [h, record[i] ?? ''])), info }));
  const entries: PlateEntry[] = [];
  for (const { record, info } of records) {
    const at = `${name} line ${info.lines}`;
    const before = problems.length;
    const position = parseWell(record['well'] ?? '');
    if (position === undefined) problems.push(`${at}: well "${record['well'] ?? ''}" is not a well name such as B07`);
    const fieldText = record['field'] ?? '';
    const field = /^\d+$/.test(fieldText) ? Number(fieldText) : NaN;
    if (!(field >= 1)) problems.push(`${at}: field "${fieldText}" is not a whole number >= 1`);
    const condition = record['condition'] ?? '';
    if (condition === '') problems.push(`${at}: condition is empty`);
    const file = record['path'] ?? '';
    const resolved = path.resolve(baseDir, file);
    if (file === '') problems.push(`${at}: path is empty`);
    else if (!existsSync(resolved)) problems.push(`${at}: ${file} does not exist (looked at ${resolved})`);
    const frameIntervalMin = positiveNumber(record['frame_interval_min'], 'frame_interval_min', at, problems);
    const pixelSizeUm = positiveNumber(record['pixel_size_um'], 'pixel_size_um', at, problems);
    if (problems.length > before || position === undefined) continue;
    entries.push({
      well: wellLabel(position),
      position,
      field,
      condition,
      path: resolved,
      ...(frameIntervalMin === undefined ? {} : { frameIntervalMin }),
      ...(pixelSizeUm === undefined ? {} : { pixelSizeUm }),
      origin: at,
    });
  }
  return { entries, problems };
}

// B07.tif, B07_f2.tif, b7-field3.ome.tif, B07_f2.ome.zarr, B07_s1_phase.tif: the well first,
// then an optional field (f, field, s or site, and its number).
const WELL_NAME = /^([A-Pa-p]\d{1,2})(?:[_-](?:f|field|s|site)(\d+))?(?=[_.-]|$)/;
const VIDEO_FILE = /\.(tiff?|zarr)$/i;

/**
 * A plate as a folder: either one sub-folder per well (`B07/`, its videos the fields in name
 * order) or videos whose names start with the well (`B07_f2.tif`). Names that carry no well
 * are listed as ignored, not refused, so notes or exports beside the videos do no harm.
 */
export async function scanPlateFolder(dir: string): Promise<Parsed & { ignored: string[] }> {
  const problems: string[] = [];
  const entries: PlateEntry[] = [];
  const ignored: string[] = [];
  const names = (await readdir(dir, { withFileTypes: true })).sort((a, b) => naturalCompare(a.name, b.name));
  const taken = new Map<string, string>();
  const add = (position: WellPosition, field: number, file: string): void => {
    const key = `${wellLabel(position)}/${field}`;
    const earlier = taken.get(key);
    if (earlier !== undefined) {
      problems.push(`${file}: well ${wellLabel(position)} field ${field} is also ${earlier}`);
      return;
    }
    taken.set(key, file);
    entries.push({ well: wellLabel(position), position, field, condition: '', path: file, origin: file });
  };
  for (const entry of names) {
    const full = path.join(dir, entry.name);
    const whole = parseWell(entry.name);
    if (entry.isDirectory() && whole !== undefined) {
      // A well's folder: its videos (TIFF files, OME-Zarr folders) are the fields, in name order.
      const inside = (await readdir(full)).filter((n) => VIDEO_FILE.test(n)).sort(naturalCompare);
      if (inside.length === 0) problems.push(`${full}: a well folder with no video (.tif, .tiff or .zarr) in it`);
      inside.forEach((n, i) => add(whole, i + 1, path.join(full, n)));
      continue;
    }
    const [, well, field] = WELL_NAME.exec(entry.name) ?? [];
    const position = well === undefined ? undefined : parseWell(well);
    if (position === undefined || !VIDEO_FILE.test(entry.name)) {
      ignored.push(entry.name);
      continue;
    }
    add(position, field === undefined ? 1 : Number(field), full);
  }
  return { entries, problems, ignored };
}

const byWell = (a: PlateEntry, b: PlateEntry): number => a.position.row - b.position.row || a.position.column - b.position.column || a.field - b.field;

export interface LoadPlateOptions {
  /** The plate's format; by default the smallest of 96 and 384 wells that holds every well. */
  readonly wells?: 96 | 384;
  /** Reads each video's size and metadata; probeVideo by default. */
  readonly probe?: (file: string) => Promise<VideoInfo>;
}

/**
 * A plate from a manifest CSV or a plate folder, checked before any work starts: every bad row
 * (unknown well, missing file, duplicate well and field, bad number) and every unreadable video
 * is named in one InvalidInputError, so the user fixes them all in one go.
 */
export async function loadPlate(source: string, options: LoadPlateOptions = {}): Promise<PlateManifest> {
  const info = await stat(source).catch((error: unknown) => {
    throw new NotFoundError(`plate ${source} does not exist: give a manifest CSV or a plate folder`, { cause: error });
  });
  const layout = info.isDirectory() ? 'folder' : 'manifest';
  const parsed = layout === 'folder' ? await scanPlateFolder(source) : parseManifestCsv(await readFile(source, 'utf8'), source, path.dirname(path.resolve(source)));
  const problems = [...parsed.problems];
  if (layout === 'manifest') {
    const seen = new Map<string, string>();
    for (const entry of parsed.entries) {
      const key = `${entry.well}/${entry.field}`;
      const earlier = seen.get(key);
      if (earlier === undefined) seen.set(key, entry.origin);
      else problems.push(`${entry.origin}: well ${entry.well} field ${entry.field} is already on ${earlier.replace(/^.* line /, 'line ')}`);
    }
  }
  if (parsed.entries.length === 0 && problems.length === 0) {
    throw new InvalidInputError(`${source}: no wells found (${layout === 'folder' ? 'no sub-folder or video named after a well, such as B07/ or B07_f1.tif' : 'no rows'})`);
  }
  let format: PlateFormat | undefined;
  try {
    format = plateFormatFor(
      parsed.entries.map((e) => e.position),
      options.wells,
    );
  } catch (error: unknown) {
    if (!isMitosisError(error)) throw error;
    problems.push(`${path.basename(source)}: ${error.message}`);
  }
  const probe = options.probe ?? ((file: string) => probeVideo(file));
  const checked: CheckedEntry[] = [];
  for (const entry of parsed.entries) {
    try {
      const video = await probe(entry.path);
      if (video.frameCount < 2) {
        problems.push(`${entry.origin}: ${path.basename(entry.path)} has ${video.frameCount} frame(s); a time-lapse needs at least 2`);
        continue;
      }
      const fromFile = video.physical?.frameIntervalS === undefined ? undefined : video.physical.frameIntervalS / 60;
      const pixel = video.physical?.pixelSizeUm;
      const frameIntervalMin = entry.frameIntervalMin ?? fromFile;
      const pixelSizeUm = entry.pixelSizeUm ?? (pixel !== undefined && pixel.x === pixel.y ? pixel.x : undefined);
      checked.push({
        ...entry,
        frames: video.frameCount,
        width: video.width,
        height: video.height,
        ...(frameIntervalMin === undefined ? {} : { frameIntervalMin }),
        ...(pixelSizeUm === undefined ? {} : { pixelSizeUm }),
      });
    } catch (error: unknown) {
      if (!isMitosisError(error)) throw error;
      problems.push(`${entry.origin}: ${path.basename(entry.path)} is not a readable video: ${error.message}`);
    }
  }
  // The fields of a well are one acquisition of one condition: readouts sum them frame by frame.
  const firstOfWell = new Map<string, CheckedEntry>();
  for (const entry of checked) {
    const first = firstOfWell.get(entry.well);
    if (first === undefined) {
      firstOfWell.set(entry.well, entry);
      continue;
    }
    if (entry.condition !== first.condition)
      problems.push(`${entry.origin}: well ${entry.well} field ${entry.field} is "${entry.condition}", field ${first.field} "${first.condition}"`);
    if (entry.frames !== first.frames || entry.frameIntervalMin !== first.frameIntervalMin) {
      const every = (e: CheckedEntry): string => (e.frameIntervalMin === undefined ? '' : ` every ${e.frameIntervalMin} min`);
      problems.push(`${entry.origin}: well ${entry.well} field ${entry.field} has ${entry.frames} frames${every(entry)}, field ${first.field} ${first.frames}${every(first)}`);
    }
  }
  if (problems.length > 0 || format === undefined) {
    const list = problems.map((p) => `  ${p}`).join('\n');
    throw new InvalidInputError(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}, nothing was run:\n${list}`);
  }
  checked.sort(byWell);
  const conditions = [...new Set(parsed.entries.map((e) => e.condition))];
  return { source, layout, format, entries: checked, conditions, ignored: parsed.ignored ?? [] };
}
