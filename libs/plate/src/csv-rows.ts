import { parse } from 'csv-parse/sync';
import { InvalidInputError } from '@mitosis/core';

/** One CSV record with the 1-based line it ends on, for messages that name the line. */
export interface CsvRow {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

/** The rows of a CSV (header first), trimmed, blank lines skipped; a malformed file names itself and the parser's reason. */
export function csvRows(text: string, name: string): CsvRow[] {
  try {
    return parse(text, { bom: true, trim: true, skip_empty_lines: true, info: true });
  } catch (error: unknown) {
    throw new InvalidInputError(`${name}: not a readable CSV: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The header's column names, lower case. */
export const headerOf = (rows: readonly CsvRow[]): string[] => (rows[0]?.record ?? []).map((h) => h.toLowerCase());
