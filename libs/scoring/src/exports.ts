// Written by hand: two small CSV layouts (napari's points CSV, a physical-units table) need no library.
import { InvalidInputError } from '@mitosis/core';
import type { MitosisPoint } from './points';

/** Physical sizes of a video where it states them (the shape of @mitosis/video's PhysicalSizes). */
export interface PhysicalScale {
  readonly pixelSizeUm?: { readonly y: number; readonly x: number };
  readonly frameIntervalS?: number;
}

/** One row of the physical-units CSV: columns the video could not fill are absent. */
export interface PhysicalPoint {
  /** 1-based frame, as in detections.csv. */
  readonly frame: number;
  /** Minutes since frame 1. */
  readonly timeMin?: number;
  readonly xUm?: number;
  readonly yUm?: number;
  readonly score?: number;
}

// Pixel coordinates as in detections.csv; scores are probabilities; µm and minutes to a thousandth.
const pixelDecimals = 2;
const scoreDecimals = 4;
const physicalDecimals = 3;

function fixed(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

function checkPoint(p: MitosisPoint, index: number): void {
  if (!Number.isInteger(p.frame) || p.frame < 1) throw new InvalidInputError(`point #${index + 1}: frame ${p.frame} is not an integer >= 1`);
  if (!Number.isFinite(p.x) || !Number.isFinite(p.y) || p.x < 0 || p.y < 0) {
    throw new InvalidInputError(`point #${index + 1} (frame ${p.frame}): x ${p.x}, y ${p.y} must be finite and >= 0`);
  }
  if (p.score !== undefined && !Number.isFinite(p.score)) throw new InvalidInputError(`point #${index + 1} (frame ${p.frame}): score ${p.score} is not finite`);
}

/**
 * napari's points CSV for a (t, y, x) layer: `index,axis-0,axis-1,axis-2`, axis-0 the 0-based
 * frame index (frame - 1), axis-1 the row y, axis-2 the column x, in original pixels.
 * napari's reader (napari_builtins/io/_read.py, _points_csv_to_layerdata) takes the `axis-*`
 * columns as coordinates, skips a leading `index` and keeps every other column as a property
 * (feature), so `score` is appended when any point has one (empty for those without).
 */
export function formatNapariPointsCsv(points: readonly MitosisPoint[]): string {
  const withScore = points.some((p) => p.score !== undefined);
  const rows = [withScore ? 'index,axis-0,axis-1,axis-2,score' : 'index,axis-0,axis-1,axis-2'];
  points.forEach((p, index) => {
    checkPoint(p, index);
    const cells = [String(index), String(p.frame - 1), fixed(p.y, pixelDecimals), fixed(p.x, pixelDecimals)];
    if (withScore) cells.push(p.score === undefined ? '' : fixed(p.score, scoreDecimals));
    rows.push(cells.join(','));
  });
  return `${rows.join('\n')}\n`;
}

/** The columns of a physical-units CSV for these sizes; undefined when the video states none. */
export function physicalColumns(scale: PhysicalScale | undefined, withScore: boolean): string[] | undefined {
  if (scale === undefined) return undefined;
  const { pixelSizeUm, frameIntervalS } = scale;
  if (pixelSizeUm !== undefined && !(pixelSizeUm.x > 0 && pixelSizeUm.y > 0 && Number.isFinite(pixelSizeUm.x) && Number.isFinite(pixelSizeUm.y))) {
    throw new InvalidInputError(`pixel size ${pixelSizeUm.x} x ${pixelSizeUm.y} µm must be finite and > 0`);
  }
  if (frameIntervalS !== undefined && !(frameIntervalS > 0 && Number.isFinite(frameIntervalS))) {
    throw new InvalidInputError(`frame interval ${frameIntervalS} s must be finite and > 0`);
  }
  if (pixelSizeUm === undefined && frameIntervalS === undefined) return undefined;
  return ['frame', ...(frameIntervalS !== undefined ? ['time_min'] : []), ...(pixelSizeUm !== undefined ? ['x_um', 'y_um'] : []), ...(withScore ? ['score'] : [])];
}

/**
 * Points in micrometres and minutes: `frame,time_min,x_um,y_um,score`, time_min = 0 at frame 1.
 * Columns the video cannot fill (no pixel size, no frame interval) are left out rather than
 * zeroed; undefined when it states neither, so no file is written.
 */
export function formatPhysicalPointsCsv(points: readonly MitosisPoint[], scale: PhysicalScale | undefined): string | undefined {
  const withScore = points.some((p) => p.score !== undefined);
  const columns = physicalColumns(scale, withScore);
  if (columns === undefined || scale === undefined) return undefined;
  const { pixelSizeUm, frameIntervalS } = scale;
  const rows = [columns.join(',')];
  points.forEach((p, index) => {
    checkPoint(p, index);
    const cells = [String(p.frame)];
    if (frameIntervalS !== undefined) cells.push(fixed(((p.frame - 1) * frameIntervalS) / 60, physicalDecimals));
    if (pixelSizeUm !== undefined) cells.push(fixed(p.x * pixelSizeUm.x, physicalDecimals), fixed(p.y * pixelSizeUm.y, physicalDecimals));
    if (withScore) cells.push(p.score === undefined ? '' : fixed(p.score, scoreDecimals));
    rows.push(cells.join(','));
  });
  return `${rows.join('\n')}\n`;
}

/** Header and rows of a CSV with no quoting, every data cell a number or empty. */
function parseNumericCsv(text: string, source: string, required: readonly string[]): { columns: string[]; rows: Map<string, number | undefined>[] } {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\n|\r/)
    .map((line, i) => ({ line, number: i + 1 }))
    .filter(({ line }) => line.trim() !== '');
  if (lines.length === 0) throw new InvalidInputError(`${source}: empty file, expected a header line`);
  const columns = lines[0].line.split(',').map((c) => c.trim());
  const missing = required.filter((c) => !columns.includes(c));
  if (missing.length > 0) throw new InvalidInputError(`${source} line ${lines[0].number}: header lacks ${missing.join(', ')} (found ${columns.join(', ')})`);
  const rows = lines.slice(1).map(({ line, number }) => {
    const cells = line.split(',');
    if (cells.length !== columns.length) throw new InvalidInputError(`${source} line ${number}: ${cells.length} fields but the header has ${columns.length}`);
    const row = new Map<string, number | undefined>();
    cells.forEach((cell, i) => {
      const text = cell.trim();
      const value = text === '' ? undefined : Number(text);
      if (value !== undefined && !Number.isFinite(value)) throw new InvalidInputError(`${source} line ${number}: ${columns[i]} "${text}" is not a number`);
      row.set(columns[i], value);
    });
    return row;
  });
  return { columns, rows };
}

/** Reads formatNapariPointsCsv's layout back into 1-based points (frame = axis-0 + 1). */
export function parseNapariPointsCsv(text: string, source: string): MitosisPoint[] {
  const { rows } = parseNumericCsv(text, source, ['axis-0', 'axis-1', 'axis-2']);
  return rows.map((row) => {
    const t = row.get('axis-0');
    const y = row.get('axis-1');
    const x = row.get('axis-2');
    if (t === undefined || x === undefined || y === undefined) throw new InvalidInputError(`${source}: a row lacks axis-0, axis-1 or axis-2`);
    const score = row.get('score');
    return score === undefined ? { frame: t + 1, x, y } : { frame: t + 1, x, y, score };
  });
}

/** Reads formatPhysicalPointsCsv's layout back. */
export function parsePhysicalPointsCsv(text: string, source: string): PhysicalPoint[] {
  const { rows } = parseNumericCsv(text, source, ['frame']);
  return rows.map((row) => {
    const frame = row.get('frame');
    if (frame === undefined) throw new InvalidInputError(`${source}: a row lacks frame`);
    const timeMin = row.get('time_min');
    const xUm = row.get('x_um');
    const yUm = row.get('y_um');
    const score = row.get('score');
    return {
      frame,
      ...(timeMin !== undefined ? { timeMin } : {}),
      ...(xUm !== undefined ? { xUm } : {}),
      ...(yUm !== undefined ? { yUm } : {}),
      ...(score !== undefined ? { score } : {}),
    };
  });
}
