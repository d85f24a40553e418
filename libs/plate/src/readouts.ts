// Written by hand: a tidy CSV of numbers and a few quoted text fields needs no CSV library.
import { InvalidInputError } from '@mitosis/core';
import type { WellPosition } from './wells';
import { rowLetters, wellLabel } from './wells';

export type WellStatus = 'ok' | 'failed' | 'empty';

/** The result of one field (one video) of a well. */
export interface FieldResult {
  /** 'B07'; must name the same well as `position`. */
  readonly well: string;
  readonly position: WellPosition;
  readonly field: number;
  readonly condition: string;
  readonly status: WellStatus;
  readonly error?: string;
  readonly frames: number;
  /** From the manifest or the file's metadata; without it no rate per hour is given. */
  readonly frameIntervalMin?: number;
  /** 1-based frame of each detected mitosis. */
  readonly mitosisFrames: readonly number[];
  /** Cells counted in each frame (from the normal-cell map); length = frames. */
  readonly cellsPerFrame: readonly number[];
}

export interface ReadoutOptions {
  /** Frames per bin when binning by frames; 10 unless given. */
  readonly binFrames?: number;
  /** Minutes per bin; used only when every ok field states its frame interval. */
  readonly binMinutes?: number;
}

/**
 * One well in one time bin. A failed or empty well gives one row with its status and no bin or
 * numbers, so the CSV still lists every well of the plate and why it has no values.
 */
export interface ReadoutRow {
  readonly well: string;
  /** Row letter(s), 'A'.. */
  readonly row: string;
  readonly column: number;
  readonly condition: string;
  readonly status: WellStatus;
  /** Fields whose numbers are summed into this row (0 for a failed or empty well). */
  readonly fields: number;
  /** 1-based; bins of every well start at frame 1 (or minute 0), so bin n is the same time on the plate. */
  readonly bin?: number;
  readonly binStartFrame?: number;
  readonly binEndFrame?: number;
  /** Start of the bin's first frame and end of its last, in minutes since frame 1. */
  readonly binStartMin?: number;
  readonly binEndMin?: number;
  readonly mitoses?: number;
  /** Mean cells per frame in the bin, summed over the well's fields. */
  readonly cells?: number;
  readonly mitosesPer100Cells?: number;
  readonly mitoticRatePer100CellsPerHour?: number;
  /** Why a well failed, or which of its fields failed. */
  readonly error?: string;
}

export type RateMetric = 'mitotic_rate_per_100_cells_per_h' | 'mitoses_per_100_cells';

/** Mean and sample standard deviation over the replicate wells that have a value. */
export interface SpreadOverWells {
  readonly wells: number;
  readonly mean?: number;
  readonly sd?: number;
}

export interface ConditionBinSummary extends SpreadOverWells {
  readonly condition: string;
  readonly bin: number;
  readonly binStartFrame: number;
  readonly binEndFrame: number;
  readonly binStartMin?: number;
  readonly binEndMin?: number;
}

/** One well over the whole video. */
export interface WellOverall {
  readonly well: string;
  readonly position: WellPosition;
  readonly condition: string;
  readonly status: WellStatus;
  readonly fields: number;
  readonly mitoses?: number;
  /** Mean cells per frame over the video, summed over fields. */
  readonly cells?: number;
  readonly mitosesPer100Cells?: number;
  readonly mitoticRatePer100CellsPerHour?: number;
  readonly error?: string;
}

export interface ConditionOverall extends SpreadOverWells {
  readonly condition: string;
  readonly failedWells: number;
}

export interface ReadoutSummary {
  /** Per hour when every ok well states its frame interval, else per 100 cells: one metric for the whole plate so conditions compare. */
  readonly metric: RateMetric;
  readonly bins: readonly ConditionBinSummary[];
  /** Empty wells belong to no condition and are left out here. */
  readonly conditions: readonly ConditionOverall[];
  readonly wells: readonly WellOverall[];
}

const defaultBinFrames = 10;
// Frame times are products of a decimal interval; this keeps 3 * 0.1 / 0.3 in bin 1, not bin 0.
const binEpsilon = 1e-9;

function namesPosition(well: string, p: WellPosition): boolean {
  const match = /^([A-Za-z]+)0*(\d+)$/.exec(well.trim());
  return match !== null && match[1].toUpperCase() === rowLetters(p.row) && Number(match[2]) === p.column;
}

function checkField(f: FieldResult, index: number): void {
  const where = `field result #${index + 1} (well ${f.well}, field ${f.field})`;
  const { row, column } = f.position;
  if (!Number.isInteger(row) || row < 0 || !Number.isInteger(column) || column < 1)
    throw new InvalidInputError(`${where}: position row ${row}, column ${column} must be integers >= 0 and >= 1`);
  if (!namesPosition(f.well, f.position)) throw new InvalidInputError(`${where}: well name does not match its position ${wellLabel(f.position)}`);
  if (!Number.isInteger(f.field) || f.field < 1) throw new InvalidInputError(`${where}: field number must be an integer >= 1`);
  if (f.status !== 'ok') return;
  if (!Number.isInteger(f.frames) || f.frames < 1) throw new InvalidInputError(`${where}: frames ${f.frames} must be an integer >= 1`);
  if (f.frameIntervalMin !== undefined && !(Number.isFinite(f.frameIntervalMin) && f.frameIntervalMin > 0)) {
    throw new InvalidInputError(`${where}: frame interval ${f.frameIntervalMin} min must be finite and > 0`);
  }
  if (f.cellsPerFrame.length !== f.frames) throw new InvalidInputError(`${where}: cellsPerFrame has ${f.cellsPerFrame.length} values but the video has ${f.frames} frames`);
  const badCells = f.cellsPerFrame.findIndex((c) => !(Number.isFinite(c) && c >= 0));
  if (badCells >= 0) throw new InvalidInputError(`${where}: cells in frame ${badCells + 1} is ${f.cellsPerFrame[badCells]}, expected a finite count >= 0`);
  const badFrame = f.mitosisFrames.find((m) => !Number.isInteger(m) || m < 1 || m > f.frames);
  if (badFrame !== undefined) throw new InvalidInputError(`${where}: mitosis at frame ${badFrame} is outside 1..${f.frames}`);
}

interface Well {
  readonly label: string;
  readonly position: WellPosition;
  readonly condition: string;
  readonly fields: FieldResult[];
}

/** Fields grouped by well, in plate order (A01, A02, .., B01, ..). */
function groupWells(fields: readonly FieldResult[]): Well[] {
  const wells = new Map<string, Well>();
  fields.forEach((f, index) => {
    checkField(f, index);
    const label = wellLabel(f.position);
    const well = wells.get(label) ?? { label, position: f.position, condition: f.condition, fields: [] };
    if (well.condition !== f.condition)
      throw new InvalidInputError(`well ${label}: field ${f.field} has condition "${f.condition}" but field ${well.fields[0].field} has "${well.condition}"`);
    if (well.fields.some((g) => g.field === f.field)) throw new InvalidInputError(`well ${label}: field ${f.field} appears twice`);
    well.fields.push(f);
    wells.set(label, well);
  });
  for (const well of wells.values()) {
    const empty = well.fields.filter((f) => f.status === 'empty');
    if (empty.length > 0 && empty.length < well.fields.length)
      throw new InvalidInputError(`well ${well.label}: field ${empty[0].field} is empty but other fields are not; a well is empty as a whole`);
    const ok = well.fields.filter((f) => f.status === 'ok');
    // The fields of a well are summed frame by frame, so they must be the same acquisition.
    const mismatch = ok.find((f) => f.frames !== ok[0].frames || f.frameIntervalMin !== ok[0].frameIntervalMin);
    if (mismatch !== undefined) {
      throw new InvalidInputError(
        `well ${well.label}: field ${mismatch.field} has ${mismatch.frames} frames every ${mismatch.frameIntervalMin ?? '?'} min but field ${ok[0].field} has ${ok[0].frames} every ${ok[0].frameIntervalMin ?? '?'} min`,
      );
    }
  }
  return [...wells.values()].sort((a, b) => a.position.row - b.position.row || a.position.column - b.position.column);
}

interface Bin {
  readonly index: number;
  readonly first: number;
  readonly last: number;
}

function binsByFrames(frames: number, binFrames: number): Bin[] {
  const bins: Bin[] = [];
  for (let first = 1; first <= frames; first += binFrames) bins.push({ index: bins.length + 1, first, last: Math.min(first + binFrames - 1, frames) });
  return bins;
}

/** Frame f (starting at (f - 1) * interval) goes to the bin its start falls in; bins without frames are skipped. */
function binsByMinutes(frames: number, intervalMin: number, binMinutes: number): Bin[] {
  const bins: Bin[] = [];
  for (let f = 1; f <= frames; f++) {
    const index = Math.floor(((f - 1) * intervalMin) / binMinutes + binEpsilon) + 1;
    const last = bins.at(-1);
    if (last !== undefined && last.index === index) bins[bins.length - 1] = { ...last, last: f };
    else bins.push({ index, first: f, last: f });
  }
  return bins;
}

function fieldErrors(fields: readonly FieldResult[]): string | undefined {
  const failed = fields.filter((f) => f.status === 'failed');
  return failed.length === 0 ? undefined : failed.map((f) => `field ${f.field}: ${f.error ?? 'no reason given'}`).join('; ');
}

/**
 * Readouts per well and time bin, the fields of a well summed. Bins are by minutes when
 * `binMinutes` is given and every ok field states its frame interval, else by `binFrames`.
 * The rate per hour is given only where the interval is known and the bin has cells.
 */
export function wellReadouts(fields: readonly FieldResult[], options: ReadoutOptions = {}): ReadoutRow[] {
  const { binFrames = defaultBinFrames, binMinutes } = options;
  if (!Number.isInteger(binFrames) || binFrames < 1) throw new InvalidInputError(`binFrames ${binFrames} must be an integer >= 1`);
  if (binMinutes !== undefined && !(Number.isFinite(binMinutes) && binMinutes > 0)) throw new InvalidInputError(`binMinutes ${binMinutes} must be finite and > 0`);
  const wells = groupWells(fields);
  const ok = fields.filter((f) => f.status === 'ok');
  const byMinutes = binMinutes !== undefined && ok.length > 0 && ok.every((f) => f.frameIntervalMin !== undefined);
  const rows: ReadoutRow[] = [];
  for (const well of wells) {
    const base = { well: well.label, row: rowLetters(well.position.row), column: well.position.column, condition: well.condition };
    const error = fieldErrors(well.fields);
    const used = well.fields.filter((f) => f.status === 'ok');
    if (used.length === 0) {
      rows.push({ ...base, status: well.fields.some((f) => f.status === 'failed') ? 'failed' : 'empty', fields: 0, error });
      continue;
    }
    const { frames, frameIntervalMin: interval } = used[0];
    const bins = byMinutes && interval !== undefined && binMinutes !== undefined ? binsByMinutes(frames, interval, binMinutes) : binsByFrames(frames, binFrames);
    for (const bin of bins) {
      const length = bin.last - bin.first + 1;
      let mitoses = 0;
      let cellSum = 0;
      for (const f of used) {
        mitoses += f.mitosisFrames.filter((m) => m >= bin.first && m <= bin.last).length;
        for (let frame = bin.first; frame <= bin.last; frame++) cellSum += f.cellsPerFrame[frame - 1];
      }
      const cells = cellSum / length;
      const per100 = cells > 0 ? (mitoses / cells) * 100 : undefined;
      const timed = interval === undefined ? {} : { binStartMin: (bin.first - 1) * interval, binEndMin: bin.last * interval };
      const hours = interval === undefined ? undefined : (length * interval) / 60;
      rows.push({
        ...base,
        status: 'ok',
        fields: used.length,
        bin: bin.index,
        binStartFrame: bin.first,
        binEndFrame: bin.last,
        ...timed,
        mitoses,
        cells,
        mitosesPer100Cells: per100,
        mitoticRatePer100CellsPerHour: per100 !== undefined && hours !== undefined ? per100 / hours : undefined,
        error,
      });
    }
  }
  return rows;
}

function spread(values: readonly number[]): SpreadOverWells {
  const n = values.length;
  if (n === 0) return { wells: 0 };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : undefined;
  return { wells: n, mean, sd };
}

function metricValue(metric: RateMetric, r: { mitosesPer100Cells?: number; mitoticRatePer100CellsPerHour?: number }): number | undefined {
  return metric === 'mitotic_rate_per_100_cells_per_h' ? r.mitoticRatePer100CellsPerHour : r.mitosesPer100Cells;
}

function wellOverall(rows: readonly ReadoutRow[], position: WellPosition): WellOverall {
  const first = rows[0];
  const base = { well: first.well, position, condition: first.condition, status: first.status, fields: first.fields, error: first.error };
  if (first.status !== 'ok') return base;
  let mitoses = 0;
  let cellFrames = 0;
  let frames = 0;
  let minutes: number | undefined = 0;
  for (const r of rows) {
    const length = (r.binEndFrame ?? 0) - (r.binStartFrame ?? 0) + 1;
    mitoses += r.mitoses ?? 0;
    cellFrames += (r.cells ?? 0) * length;
    frames += length;
    minutes = minutes !== undefined && r.binStartMin !== undefined && r.binEndMin !== undefined ? minutes + r.binEndMin - r.binStartMin : undefined;
  }
  const cells = cellFrames / frames;
  const per100 = cells > 0 ? (mitoses / cells) * 100 : undefined;
  const rate = per100 !== undefined && minutes !== undefined && minutes > 0 ? per100 / (minutes / 60) : undefined;
  return { ...base, mitoses, cells, mitosesPer100Cells: per100, mitoticRatePer100CellsPerHour: rate };
}

/**
 * Per condition and bin, and per condition over the whole video: the number of replicate wells
 * with a value and the mean and sample SD of their rates. A well's overall rate is its total
 * mitoses over its mean cells and total hours, not a mean of its bins.
 */
export function conditionSummary(rows: readonly ReadoutRow[]): ReadoutSummary {
  const ok = rows.filter((r) => r.status === 'ok');
  const metric: RateMetric = ok.length > 0 && ok.every((r) => r.binStartMin !== undefined) ? 'mitotic_rate_per_100_cells_per_h' : 'mitoses_per_100_cells';
  const byWell = new Map<string, ReadoutRow[]>();
  for (const r of rows) byWell.set(r.well, [...(byWell.get(r.well) ?? []), r]);
  const wells = [...byWell.values()].map((wellRows) => wellOverall(wellRows, { row: rowIndex(wellRows[0].row), column: wellRows[0].column }));
  const conditions = [...new Set(rows.filter((r) => r.status !== 'empty').map((r) => r.condition))];

  const bins: ConditionBinSummary[] = [];
  for (const condition of conditions) {
    const inCondition = ok.filter((r) => r.condition === condition);
    for (const bin of [...new Set(inCondition.map((r) => r.bin ?? 0))].sort((a, b) => a - b)) {
      const inBin = inCondition.filter((r) => r.bin === bin);
      const starts = inBin.map((r) => r.binStartMin);
      const ends = inBin.map((r) => r.binEndMin);
      const timed = starts.every((s) => s !== undefined) && ends.every((e) => e !== undefined) ? { binStartMin: Math.min(...starts), binEndMin: Math.max(...ends) } : {};
      bins.push({
        condition,
        bin,
        binStartFrame: Math.min(...inBin.map((r) => r.binStartFrame ?? 0)),
        binEndFrame: Math.max(...inBin.map((r) => r.binEndFrame ?? 0)),
        ...timed,
        ...spread(inBin.map((r) => metricValue(metric, r)).filter((v) => v !== undefined)),
      });
    }
  }
  const overall = conditions.map((condition) => {
    const inCondition = wells.filter((w) => w.condition === condition);
    return {
      condition,
      ...spread(inCondition.map((w) => metricValue(metric, w)).filter((v) => v !== undefined)),
      failedWells: inCondition.filter((w) => w.status === 'failed').length,
    };
  });
  return { metric, bins, conditions: overall, wells };
}

function rowIndex(letters: string): number {
  return [...letters].reduce((n, c) => n * 26 + (c.charCodeAt(0) - 64), 0) - 1;
}

// Counts are integers; minutes and mean cells to a hundredth; ratios to 4 decimals, as rates per 100 cells per hour can be well below 1.
const minuteDecimals = 2;
const cellDecimals = 2;
const ratioDecimals = 4;

function number(value: number | undefined, decimals = 0): string {
  return value === undefined ? '' : value.toFixed(decimals);
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function text(value: string | undefined): string {
  if (value === undefined) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export const readoutColumns = [
  'well',
  'row',
  'column',
  'condition',
  'status',
  'fields',
  'bin',
  'bin_start_frame',
  'bin_end_frame',
  'bin_start_min',
  'bin_end_min',
  'mitoses',
  'cells_per_frame',
  'mitoses_per_100_cells',
  'mitotic_rate_per_100_cells_per_h',
  'error',
] as const;

/** Tidy CSV: one header line, a row per well and bin, empty cells for unknown values. */
export function readoutsCsv(rows: readonly ReadoutRow[]): string {
  const lines = [readoutColumns.join(',')];
  for (const r of rows) {
    lines.push(
      [
        r.well,
        r.row,
        String(r.column),
        text(r.condition),
        r.status,
        String(r.fields),
        number(r.bin),
        number(r.binStartFrame),
        number(r.binEndFrame),
        number(r.binStartMin, minuteDecimals),
        number(r.binEndMin, minuteDecimals),
        number(r.mitoses),
        number(r.cells, cellDecimals),
        number(r.mitosesPer100Cells, ratioDecimals),
        number(r.mitoticRatePer100CellsPerHour, ratioDecimals),
        text(r.error),
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

export interface ReadoutsJson {
  readonly plate: {
    readonly wells: number;
    readonly okWells: number;
    readonly failedWells: number;
    readonly emptyWells: number;
    readonly fields: number;
    readonly mitoses: number;
    readonly metric: RateMetric;
  };
  readonly conditions: readonly (ConditionOverall & { readonly bins: readonly Omit<ConditionBinSummary, 'condition'>[] })[];
  readonly wells: readonly WellOverall[];
  readonly failedWells: readonly { readonly well: string; readonly condition: string; readonly reason: string }[];
}

/** The summary as a plain object for JSON.stringify (unknown values are absent keys). */
export function readoutsJson(rows: readonly ReadoutRow[], summary: ReadoutSummary): ReadoutsJson {
  const count = (status: WellStatus) => summary.wells.filter((w) => w.status === status).length;
  return {
    plate: {
      wells: summary.wells.length,
      okWells: count('ok'),
      failedWells: count('failed'),
      emptyWells: count('empty'),
      fields: summary.wells.reduce((s, w) => s + w.fields, 0),
      mitoses: rows.reduce((s, r) => s + (r.mitoses ?? 0), 0),
      metric: summary.metric,
    },
    conditions: summary.conditions.map((c) => ({ ...c, bins: summary.bins.filter((b) => b.condition === c.condition).map(({ condition: _condition, ...bin }) => bin) })),
    wells: summary.wells,
    failedWells: summary.wells.filter((w) => w.status === 'failed').map((w) => ({ well: w.well, condition: w.condition, reason: w.error ?? 'no reason given' })),
  };
}
