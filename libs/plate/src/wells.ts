import { InvalidInputError } from '@mitosis/core';

/** Where a well sits on its plate: row 0 is A, column 1 is the first. */
export interface WellPosition {
  readonly row: number;
  readonly column: number;
}

export interface PlateFormat {
  /** Wells on the plate: 96 (8 x 12) or 384 (16 x 24). */
  readonly wells: 96 | 384;
  readonly rows: number;
  readonly columns: number;
}

export const PLATE_FORMATS: readonly PlateFormat[] = [
  { wells: 96, rows: 8, columns: 12 },
  { wells: 384, rows: 16, columns: 24 },
];

// A1, A01, a01, P24: one row letter, then the column (1-24, zero-padded or not).
const WELL = /^([A-Pa-p])(\d{1,2})$/;

/** The position of a well name such as `B07`, `B7` or `b07`; undefined when it is none. */
export function parseWell(text: string): WellPosition | undefined {
  const [, letter, digits] = WELL.exec(text.trim()) ?? [];
  if (letter === undefined || digits === undefined) return undefined;
  const column = Number(digits);
  if (column < 1 || column > 24) return undefined;
  return { row: letter.toUpperCase().charCodeAt(0) - 65, column };
}

/** Row letters: 'A'..'Z', then 'AA'.. as on 1536-well plates. */
export function rowLetters(row: number): string {
  let letters = '';
  for (let n = row + 1; n > 0; n = Math.floor((n - 1) / 26)) letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
}

/** The canonical name of a well: row letters and two-digit column (`B07`), as plate readers write it. */
export function wellLabel(position: WellPosition): string {
  return `${rowLetters(position.row)}${String(position.column).padStart(2, '0')}`;
}

/** The smallest standard plate holding every position; a 384-well plate beyond that is an error. */
export function plateFormatFor(positions: readonly WellPosition[], wells?: 96 | 384): PlateFormat {
  const fits = (format: PlateFormat): boolean => positions.every((p) => p.row < format.rows && p.column <= format.columns);
  if (wells !== undefined) {
    const format = PLATE_FORMATS.find((f) => f.wells === wells);
    if (format === undefined) throw new InvalidInputError(`plate of ${String(wells)} wells is not a standard format (96 or 384)`);
    const outside = positions.filter((p) => p.row >= format.rows || p.column > format.columns);
    if (outside.length > 0) throw new InvalidInputError(`wells ${outside.map(wellLabel).join(', ')} lie outside a ${String(wells)}-well plate`);
    return format;
  }
  const format = PLATE_FORMATS.find(fits);
  if (format === undefined) throw new InvalidInputError('wells lie outside a 384-well plate');
  return format;
}
