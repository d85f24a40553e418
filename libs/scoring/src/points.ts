import { readFile } from 'node:fs/promises';
import { InvalidInputError, NotFoundError } from '@mitosis/core';

/**
 * One mitosis, annotated or detected: `frame` is 1-based, `x` the column and `y` the row in
 * original pixels (SPEC step 8 reports detections at the original resolution). `score` is the
 * detector's confidence when it has one.
 */
export interface MitosisPoint {
  readonly frame: number;
  readonly x: number;
  readonly y: number;
  readonly score?: number;
}

/** The extent of a video, to tell whether annotations or detections can belong to it. */
export interface VideoExtent {
  /** First frame (1-based, inclusive). */
  readonly firstFrame: number;
  /** Last frame (1-based, inclusive). */
  readonly lastFrame: number;
  /** Width in original pixels: a point is inside when 0 <= x < width. */
  readonly width: number;
  /** Height in original pixels: a point is inside when 0 <= y < height. */
  readonly height: number;
}

type Column = 'frame' | 'x' | 'y' | 'score';
const requiredColumns: readonly Column[] = ['frame', 'x', 'y'];
const knownColumns: readonly string[] = ['frame', 'x', 'y', 'score'];

/** How many problems one error message lists before it says "and N more". */
const maxListed = 5;

// A plain decimal number, optionally in scientific notation; rejects "", "0x10", "1,5", "NaN".
const decimalPattern = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function headerName(cell: string): string {
  return cell
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .trim()
    .toLowerCase();
}

/** Parses one value of `column`; returns the number or a sentence saying what is wrong with it. */
function parseValue(column: Column, raw: string): number | string {
  const text = raw.trim();
  if (text === '') return `missing value for ${column}`;
  if (/^[+-]?nan$/i.test(text)) return `${column} is NaN`;
  if (!decimalPattern.test(text)) {
    if (/^[+-]?inf(inity)?$/i.test(text)) return `${column} "${text}" is not finite`;
    return `${column} "${text}" is not a number`;
  }
  const value = Number(text);
  if (!Number.isFinite(value)) return `${column} "${text}" is not finite`;
  if (column === 'score') return value;
  if (value < 0) return `${column} ${text} is negative`;
  if (column === 'frame') {
    if (!Number.isInteger(value)) return `frame ${text} is not an integer`;
    if (value === 0) return 'frame 0: frames are numbered from 1';
  }
  return value;
}

function describeProblems(source: string, problems: readonly { line: number; message: string }[]): string {
  if (problems.length === 1) {
    const only = problems[0];
    return `${source} line ${only.line}: ${only.message}`;
  }
  const listed = problems.slice(0, maxListed).map((p) => `line ${p.line}: ${p.message}`);
  const more = problems.length > maxListed ? `; and ${problems.length - maxListed} more` : '';
  return `${source}: ${problems.length} malformed rows: ${listed.join('; ')}${more}`;
}

/**
 * Parses a points CSV: a header naming at least `frame,x,y` (any order, any case, optional
 * `score`; other columns are ignored) then one row per point. Whitespace around cells, CRLF
 * line ends, a UTF-8 byte-order mark and blank lines are tolerated. Every malformed row is
 * reported (the first few in the message) with its 1-based line number in `source`.
 * A header with no rows is valid and gives [].
 */
export function parsePointsCsv(text: string, source: string): MitosisPoint[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const headerIndex = lines.findIndex((line) => line.trim() !== '');
  if (headerIndex < 0) {
    throw new InvalidInputError(`${source}: empty file, expected a header line "frame,x,y" (optionally ",score")`);
  }
  const headerLine = headerIndex + 1;
  const header = lines[headerIndex].split(',').map(headerName);
  const columnIndex = new Map<Column, number>();
  header.forEach((name, index) => {
    if (!knownColumns.includes(name)) return;
    if (columnIndex.has(name as Column)) {
      throw new InvalidInputError(`${source} line ${headerLine}: column "${name}" appears twice in the header`);
    }
    columnIndex.set(name as Column, index);
  });
  const missing = requiredColumns.filter((column) => !columnIndex.has(column));
  if (missing.length > 0) {
    const looksLikeData = header.every((cell) => decimalPattern.test(cell));
    const found = looksLikeData ? 'a data row, not a header' : `columns: ${header.join(', ')}`;
    throw new InvalidInputError(
      `${source} line ${headerLine}: header lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` + `(expected "frame,x,y" optionally with "score"; found ${found})`,
    );
  }

  const points: MitosisPoint[] = [];
  const problems: { line: number; message: string }[] = [];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const rowProblems: string[] = [];
    if (cells.length > header.length) {
      rowProblems.push(`${cells.length} fields but the header has ${header.length}`);
    }
    // Reads one column of this row; a problem is recorded and NaN stands in for the value.
    const valueOf = (column: Column): number | undefined => {
      const index = columnIndex.get(column);
      const cell = index === undefined ? undefined : cells[index];
      // No score column, a short row or an empty score cell all mean "no score"
      // (formatPointsCsv writes an empty cell for an unscored point among scored ones).
      if (column === 'score' && (cell === undefined || cell.trim() === '')) return undefined;
      if (cell === undefined) {
        rowProblems.push(`missing column ${column}`);
        return Number.NaN;
      }
      const parsed = parseValue(column, cell);
      if (typeof parsed === 'number') return parsed;
      rowProblems.push(parsed);
      return Number.NaN;
    };
    const frame = valueOf('frame') ?? Number.NaN;
    const x = valueOf('x') ?? Number.NaN;
    const y = valueOf('y') ?? Number.NaN;
    const score = valueOf('score');
    if (rowProblems.length > 0) {
      problems.push({ line: i + 1, message: rowProblems.join(', ') });
      continue;
    }
    const point: MitosisPoint = score === undefined ? { frame, x, y } : { frame, x, y, score };
    points.push(point);
  }
  if (problems.length > 0) throw new InvalidInputError(describeProblems(source, problems));
  return points;
}

/** Reads and parses a points CSV file; a missing file is a NotFoundError naming the path. */
export async function readPointsCsv(path: string): Promise<MitosisPoint[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') throw new NotFoundError(`${path}: no such points file`, { cause: error });
    if (code === 'EISDIR') throw new InvalidInputError(`${path}: is a directory, expected a CSV file`, { cause: error });
    throw error;
  }
  return parsePointsCsv(text, path);
}

function formatCoordinate(value: number): string {
  // Two decimals is a hundredth of an original pixel, far below the 10-pixel tolerance.
  return String(Number(value.toFixed(2)));
}

/**
 * Writes points as CSV, `frame,x,y` plus a `score` column when any point has a score (empty for
 * those without), x and y with at most 2 decimals, one row per point, newline-terminated.
 * Throws InvalidInputError for a point that parsePointsCsv would reject.
 */
export function formatPointsCsv(points: readonly MitosisPoint[]): string {
  const withScore = points.some((p) => p.score !== undefined);
  const rows = [withScore ? 'frame,x,y,score' : 'frame,x,y'];
  points.forEach((p, index) => {
    if (!Number.isInteger(p.frame) || p.frame < 1) {
      throw new InvalidInputError(`point #${index + 1}: frame ${p.frame} is not an integer >= 1`);
    }
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y) || p.x < 0 || p.y < 0) {
      throw new InvalidInputError(`point #${index + 1} (frame ${p.frame}): x ${p.x}, y ${p.y} must be finite and >= 0`);
    }
    if (p.score !== undefined && !Number.isFinite(p.score)) {
      throw new InvalidInputError(`point #${index + 1} (frame ${p.frame}): score ${p.score} is not finite`);
    }
    const cells = [String(p.frame), formatCoordinate(p.x), formatCoordinate(p.y)];
    if (withScore) cells.push(p.score === undefined ? '' : String(p.score));
    rows.push(cells.join(','));
  });
  return `${rows.join('\n')}\n`;
}

function whyOutside(p: MitosisPoint, extent: VideoExtent): string | undefined {
  const reasons: string[] = [];
  if (p.frame < extent.firstFrame) reasons.push(`frame before ${extent.firstFrame}`);
  if (p.frame > extent.lastFrame) reasons.push(`frame after ${extent.lastFrame}`);
  if (!(p.x >= 0 && p.x < extent.width)) reasons.push(`x outside 0..${extent.width}`);
  if (!(p.y >= 0 && p.y < extent.height)) reasons.push(`y outside 0..${extent.height}`);
  return reasons.length > 0 ? reasons.join(', ') : undefined;
}

/**
 * Throws InvalidInputError when any point lies outside the video (frames firstFrame..lastFrame,
 * 0 <= x < width, 0 <= y < height), listing the first few with their position in the list:
 * annotations for another video, or in another coordinate system, must not be scored silently.
 */
export function checkPointsInside(points: readonly MitosisPoint[], extent: VideoExtent, source: string): void {
  const outside: string[] = [];
  let count = 0;
  points.forEach((p, index) => {
    const why = whyOutside(p, extent);
    if (why === undefined) return;
    count++;
    if (outside.length < maxListed) outside.push(`#${index + 1} frame ${p.frame} x ${p.x} y ${p.y} (${why})`);
  });
  if (count === 0) return;
  const more = count > maxListed ? `; and ${count - maxListed} more` : '';
  throw new InvalidInputError(
    `${source}: ${count} of ${points.length} points lie outside the video ` +
      `(frames ${extent.firstFrame}..${extent.lastFrame}, ${extent.width}x${extent.height} pixels): ${outside.join('; ')}${more}`,
  );
}
