import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, NotFoundError } from '@mitosis/core';
import { csvRows, headerOf } from './csv-rows';
import type { PlateManifest } from './manifest';
import { parseWell, wellLabel } from './wells';

/** Annotated mitoses of one field, for M3's training: 1-based frames, original pixels. */
export interface FieldAnnotations {
  readonly well: string;
  readonly field: number;
  readonly points: { readonly frame: number; readonly x: number; readonly y: number }[];
}

const COLUMNS = ['well', 'field', 'frame', 'x', 'y'];

/**
 * A plate's annotations: `well,field,frame,x,y` (field may be left out for 1), each row one
 * mitosis. Every bad row is named at once: a well or field not in the plate, a frame past its
 * video, a point outside the frame, a malformed number.
 */
export function parsePlateAnnotations(text: string, source: string, plate: PlateManifest): FieldAnnotations[] {
  const name = path.basename(source);
  const rows = csvRows(text, name);
  const header = headerOf(rows);
  const missing = COLUMNS.filter((c) => c !== 'field' && !header.includes(c));
  if (header.length === 0 || missing.length > 0)
    throw new InvalidInputError(`${name} line 1: the header must have ${COLUMNS.join(',')} (field may be left out); it lacks ${missing.join(', ') || 'everything'}`);
  const at = (c: string): number => header.indexOf(c);
  const problems: string[] = [];
  const byField = new Map<string, FieldAnnotations>();
  for (const { record, info } of rows.slice(1)) {
    const where = `${name} line ${info.lines}`;
    const position = parseWell(record[at('well')] ?? '');
    const fieldText = at('field') < 0 ? '1' : (record[at('field')] ?? '');
    const field = /^\d+$/.test(fieldText) ? Number(fieldText) : NaN;
    const [frame, x, y] = ['frame', 'x', 'y'].map((c) => Number(record[at(c)] ?? ''));
    if (position === undefined) {
      problems.push(`${where}: well "${record[at('well')] ?? ''}" is not a well name such as B07`);
      continue;
    }
    const well = wellLabel(position);
    const entry = plate.entries.find((e) => e.well === well && e.field === field);
    if (entry === undefined) {
      problems.push(`${where}: well ${well} field ${fieldText} is not in the plate`);
      continue;
    }
    if (frame === undefined || x === undefined || y === undefined || !Number.isInteger(frame) || !Number.isFinite(x) || !Number.isFinite(y)) {
      problems.push(`${where}: frame, x and y must be numbers (frame a whole one)`);
      continue;
    }
    if (frame < 1 || frame > entry.frames) problems.push(`${where}: frame ${frame} is outside ${well} field ${field}'s frames 1-${entry.frames}`);
    else if (x < 0 || y < 0 || x >= entry.width || y >= entry.height) problems.push(`${where}: (${x}, ${y}) is outside the ${entry.width}x${entry.height} frame`);
    else {
      const key = `${well}/${field}`;
      const list = byField.get(key) ?? { well, field, points: [] };
      list.points.push({ frame, x, y });
      byField.set(key, list);
    }
  }
  if (problems.length > 0) throw new InvalidInputError(`${name}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  if (byField.size === 0) throw new InvalidInputError(`${name}: no annotated mitosis; M3 needs at least one`);
  return [...byField.values()];
}

export async function readPlateAnnotations(file: string, plate: PlateManifest): Promise<FieldAnnotations[]> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new NotFoundError(`annotations ${file} cannot be read`, { cause: error });
  });
  return parsePlateAnnotations(text, file, plate);
}
