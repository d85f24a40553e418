import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { InvalidInputError } from '@mitosis/core';
import { conditionSummary, readoutColumns, readoutsCsv, readoutsJson, wellReadouts } from './readouts';
import { rowLetters, wellLabel } from './wells';
import type { FieldResult, ReadoutRow } from './readouts';

const dmso = 'DMSO, 0.1%';
const drug = '5 "uM" nocodazole';

function field(well: string, row: number, column: number, condition: string, cellsPerFrame: number[], mitosisFrames: number[], extra: Partial<FieldResult> = {}): FieldResult {
  return { well, position: { row, column }, field: 1, condition, status: 'ok', frames: cellsPerFrame.length, frameIntervalMin: 30, mitosisFrames, cellsPerFrame, ...extra };
}

/**
 * Four frames every 30 min, bins of 2 frames (1 h):
 * A01 (two fields): bin 1 has 1 mitosis over 10 + 30 = 40 cells -> 2.5 per 100 cells per h; bin 2: 2 -> 5.
 * A02: bin 1: 1 over 20 -> 5; bin 2: 0 -> 0.   B01: bin 1: 2 over 50 -> 4; bin 2: 3 -> 6.
 * B02 failed, C01 empty.
 */
const plate: FieldResult[] = [
  field('B01', 1, 1, drug, [50, 50, 50, 50], [1, 2, 3, 4, 4]),
  field('A01', 0, 1, dmso, [10, 10, 10, 10], [1, 3]),
  field('A01', 0, 1, dmso, [30, 30, 30, 30], [4], { field: 2 }),
  field('A2', 0, 2, dmso, [20, 20, 20, 20], [2]),
  { ...field('B02', 1, 2, drug, [], []), status: 'failed', error: 'focus lost', frameIntervalMin: undefined },
  { ...field('C01', 2, 1, '', [], []), status: 'empty', frameIntervalMin: undefined },
];

const pick = (rows: readonly ReadoutRow[], well: string) => rows.filter((r) => r.well === well);

describe('wellLabel', () => {
  it('writes the row letter and a two-digit column, AA after Z', () => {
    expect(wellLabel({ row: 1, column: 7 })).toBe('B07');
    expect(wellLabel({ row: 15, column: 24 })).toBe('P24');
    expect(rowLetters(26)).toBe('AA');
  });
});

describe('wellReadouts', () => {
  const rows = wellReadouts(plate, { binFrames: 2 });

  it('sums the fields of a well and bins by frames', () => {
    expect(rows.map((r) => `${r.well}:${r.bin ?? '-'}`)).toEqual(['A01:1', 'A01:2', 'A02:1', 'A02:2', 'B01:1', 'B01:2', 'B02:-', 'C01:-']);
    const [a1, a2] = pick(rows, 'A01');
    expect(a1).toMatchObject({
      row: 'A',
      column: 1,
      condition: dmso,
      status: 'ok',
      fields: 2,
      binStartFrame: 1,
      binEndFrame: 2,
      binStartMin: 0,
      binEndMin: 60,
      mitoses: 1,
      cells: 40,
    });
    expect(a1.mitosesPer100Cells).toBeCloseTo(2.5, 12);
    expect(a1.mitoticRatePer100CellsPerHour).toBeCloseTo(2.5, 12);
    expect(a2).toMatchObject({ binStartFrame: 3, binEndFrame: 4, mitoses: 2, cells: 40 });
    expect(a2.mitoticRatePer100CellsPerHour).toBeCloseTo(5, 12);
    expect(pick(rows, 'B01').map((r) => r.mitoticRatePer100CellsPerHour)).toEqual([4, 6]);
  });

  it('gives a failed or empty well one row with its status and no numbers', () => {
    const [failed] = pick(rows, 'B02');
    expect(failed).toEqual({ well: 'B02', row: 'B', column: 2, condition: drug, status: 'failed', fields: 0, error: 'field 1: focus lost' });
    expect(pick(rows, 'C01')).toEqual([{ well: 'C01', row: 'C', column: 1, condition: '', status: 'empty', fields: 0, error: undefined }]);
  });

  it('bins by minutes when every field states its interval, including a last partial bin', () => {
    const fields = [field('A01', 0, 1, dmso, [1, 1, 1, 1, 1, 1, 1], [5], { frameIntervalMin: 20 })];
    const byMinutes = wellReadouts(fields, { binMinutes: 60, binFrames: 2 });
    expect(byMinutes.map((r) => [r.binStartFrame, r.binEndFrame, r.binStartMin, r.binEndMin])).toEqual([
      [1, 3, 0, 60],
      [4, 6, 60, 120],
      [7, 7, 120, 140],
    ]);
    // 1 mitosis over 1 cell in 1 h; the last bin covers 20 min.
    expect(byMinutes.map((r) => r.mitoticRatePer100CellsPerHour)).toEqual([0, 100, 0]);
  });

  it('puts a frame whose start is a binMinutes multiple in the next bin despite rounding (3 * 0.3 / 0.9 < 1)', () => {
    const fields = [field('A01', 0, 1, dmso, [1, 1, 1, 1, 1, 1], [], { frameIntervalMin: 0.3 })];
    expect(wellReadouts(fields, { binMinutes: 0.9 }).map((r) => [r.binStartFrame, r.binEndFrame])).toEqual([
      [1, 3],
      [4, 6],
    ]);
  });

  it('falls back to frame bins when a field lacks its interval, keeping the rate where the interval is known', () => {
    const fields = [field('A01', 0, 1, dmso, [10, 10, 10], [1]), field('A02', 0, 2, dmso, [10, 10, 10], [1], { frameIntervalMin: undefined })];
    const mixed = wellReadouts(fields, { binMinutes: 60, binFrames: 3 });
    expect(mixed.map((r) => [r.well, r.binStartFrame, r.binEndFrame])).toEqual([
      ['A01', 1, 3],
      ['A02', 1, 3],
    ]);
    expect(mixed[0]).toMatchObject({ binStartMin: 0, binEndMin: 90, mitosesPer100Cells: 10, mitoticRatePer100CellsPerHour: 10 / 1.5 });
    expect(mixed[1].mitosesPer100Cells).toBe(10);
    expect(mixed[1].mitoticRatePer100CellsPerHour).toBeUndefined();
    expect(mixed[1].binStartMin).toBeUndefined();
  });

  it('gives no ratio for a bin without cells, and defaults to 10-frame bins', () => {
    const none = wellReadouts([field('A01', 0, 1, dmso, new Array<number>(12).fill(0), [])]);
    expect(none.map((r) => [r.binStartFrame, r.binEndFrame, r.cells, r.mitosesPer100Cells, r.mitoticRatePer100CellsPerHour])).toEqual([
      [1, 10, 0, undefined, undefined],
      [11, 12, 0, undefined, undefined],
    ]);
  });

  it('refuses inconsistent input, naming the well and field', () => {
    const a = field('A01', 0, 1, dmso, [1, 1], [1]);
    const refuse = (fields: FieldResult[], pattern: RegExp, options = {}) => {
      expect(() => wellReadouts(fields, options)).toThrow(InvalidInputError);
      expect(() => wellReadouts(fields, options)).toThrow(pattern);
    };
    refuse([{ ...a, frames: 3 }], /well A01, field 1.*cellsPerFrame has 2 values but the video has 3 frames/);
    refuse([{ ...a, mitosisFrames: [0] }], /mitosis at frame 0 is outside 1\.\.2/);
    refuse([{ ...a, mitosisFrames: [3] }], /mitosis at frame 3 is outside 1\.\.2/);
    refuse([a], /binFrames 0 must be an integer >= 1/, { binFrames: 0 });
    refuse([a], /binFrames 1.5/, { binFrames: 1.5 });
    refuse([a], /binMinutes -1/, { binMinutes: -1 });
    refuse([{ ...a, well: 'B01' }], /does not match its position A01/);
    refuse([a, { ...a, field: 2, condition: 'other' }], /well A01: field 2 has condition "other"/);
    refuse([a, a], /well A01: field 1 appears twice/);
    refuse([a, { ...a, field: 2, frameIntervalMin: 15 }], /well A01: field 2 has 2 frames every 15 min/);
    refuse([a, { ...a, field: 2, status: 'empty' }], /well A01: field 2 is empty but other fields are not/);
    refuse([{ ...a, cellsPerFrame: [1, NaN] }], /cells in frame 2 is NaN/);
  });
});

describe('conditionSummary', () => {
  const summary = conditionSummary(wellReadouts(plate, { binFrames: 2 }));

  it('gives mean and sample SD over replicate wells per condition and bin', () => {
    expect(summary.metric).toBe('mitotic_rate_per_100_cells_per_h');
    const dmsoBins = summary.bins.filter((b) => b.condition === dmso);
    expect(dmsoBins.map((b) => [b.bin, b.wells, b.binStartMin, b.binEndMin])).toEqual([
      [1, 2, 0, 60],
      [2, 2, 60, 120],
    ]);
    // Bin 1: rates 2.5 and 5; bin 2: 5 and 0.
    expect(dmsoBins[0].mean).toBeCloseTo(3.75, 12);
    expect(dmsoBins[0].sd).toBeCloseTo(1.25 * Math.SQRT2, 12);
    expect(dmsoBins[1].mean).toBeCloseTo(2.5, 12);
    expect(dmsoBins[1].sd).toBeCloseTo(2.5 * Math.SQRT2, 12);
    expect(summary.bins.filter((b) => b.condition === drug).map((b) => [b.wells, b.mean, b.sd])).toEqual([
      [1, 4, undefined],
      [1, 6, undefined],
    ]);
  });

  it('rates each well over the whole video, then spreads over wells; empty wells belong to no condition', () => {
    // A01: 3 mitoses / 40 cells / 2 h = 3.75; A02: 1 / 20 / 2 h = 2.5; B01: 5 / 50 / 2 h = 5.
    const a01 = summary.wells.find((w) => w.well === 'A01')!;
    expect(a01).toMatchObject({ position: { row: 0, column: 1 }, mitoses: 3, cells: 40, mitosesPer100Cells: 7.5, mitoticRatePer100CellsPerHour: 3.75 });
    const [d, n] = summary.conditions;
    expect(d).toMatchObject({ condition: dmso, wells: 2, failedWells: 0 });
    expect(d.mean).toBeCloseTo(3.125, 12);
    expect(d.sd).toBeCloseTo(0.625 * Math.SQRT2, 12);
    expect(n).toEqual({ condition: drug, wells: 1, mean: 5, sd: undefined, failedWells: 1 });
    expect(summary.conditions).toHaveLength(2);
  });

  it('falls back to mitoses per 100 cells when an interval is unknown', () => {
    const noInterval = plate.map((f) => ({ ...f, frameIntervalMin: undefined }));
    const s = conditionSummary(wellReadouts(noInterval, { binFrames: 2, binMinutes: 60 }));
    expect(s.metric).toBe('mitoses_per_100_cells');
    expect(s.bins.find((b) => b.condition === dmso && b.bin === 1)).toMatchObject({ wells: 2, mean: 3.75, binStartFrame: 1, binEndFrame: 2 });
    expect(s.bins[0].binStartMin).toBeUndefined();
    expect(s.wells.every((w) => w.mitoticRatePer100CellsPerHour === undefined)).toBe(true);
    expect(s.conditions[0].mean).toBeCloseTo((7.5 + 5) / 2, 12);
  });
});

/** RFC 4180 reader for the spec: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  const record: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (quoted || (c !== ',' && c !== '\n')) cell += c;
    else {
      record.push(cell);
      cell = '';
      if (c === '\n') records.push(record.splice(0));
    }
  }
  return records;
}

describe('readoutsCsv', () => {
  const rows = wellReadouts(plate, { binFrames: 2 });
  const csv = readoutsCsv(rows);

  it('writes one snake_case header with units and quotes text fields per RFC 4180', () => {
    const lines = csv.split('\n');
    expect(lines[0]).toBe(
      'well,row,column,condition,status,fields,bin,bin_start_frame,bin_end_frame,bin_start_min,bin_end_min,mitoses,cells_per_frame,mitoses_per_100_cells,mitotic_rate_per_100_cells_per_h,error',
    );
    expect(lines[1]).toBe('A01,A,1,"DMSO, 0.1%",ok,2,1,1,2,0.00,60.00,1,40.00,2.5000,2.5000,');
    expect(lines).toContain('B02,B,2,"5 ""uM"" nocodazole",failed,0,,,,,,,,,,field 1: focus lost');
    expect(csv.endsWith('\n')).toBe(true);
  });

  it('reads back to the same texts and numbers', () => {
    const [header, ...records] = parseCsv(csv);
    expect(header).toEqual([...readoutColumns]);
    expect(records).toHaveLength(rows.length);
    records.forEach((record, i) => {
      const get = (column: string) => record[header.indexOf(column)];
      const num = (column: string) => (get(column) === '' ? undefined : Number(get(column)));
      const r = rows[i];
      expect(record).toHaveLength(header.length);
      expect([get('well'), get('condition'), get('status'), get('error') || undefined]).toEqual([r.well, r.condition, r.status, r.error]);
      expect([num('bin'), num('mitoses'), num('bin_start_min'), num('bin_end_min')]).toEqual([r.bin, r.mitoses, r.binStartMin, r.binEndMin]);
      for (const [column, value] of [
        ['cells_per_frame', r.cells],
        ['mitotic_rate_per_100_cells_per_h', r.mitoticRatePer100CellsPerHour],
      ] as const) {
        if (value === undefined) expect(num(column)).toBeUndefined();
        else expect(num(column)).toBeCloseTo(value, 4);
      }
    });
  });

  const python = '/usr/bin/python3';
  (existsSync(python) ? it : it.skip)("reads the same with Python's csv module, a reader that shares no code with ours", () => {
    const script = 'import csv, io, json, sys\nprint(json.dumps(list(csv.DictReader(io.StringIO(sys.stdin.read())))))';
    const records = JSON.parse(execFileSync(python, ['-c', script], { input: csv, encoding: 'utf8' })) as Record<string, string>[];
    expect(records.map((r) => r['condition'])).toEqual(rows.map((r) => r.condition));
    expect(records.map((r) => r['mitotic_rate_per_100_cells_per_h'])).toEqual(['2.5000', '5.0000', '5.0000', '0.0000', '4.0000', '6.0000', '', '']);
  });
});

describe('readoutsJson', () => {
  const rows = wellReadouts(plate, { binFrames: 2 });
  const json = readoutsJson(rows, conditionSummary(rows));

  it('reports plate totals, conditions with their bins, and failed wells with their reasons', () => {
    expect(json.plate).toEqual({ wells: 5, okWells: 3, failedWells: 1, emptyWells: 1, fields: 4, mitoses: 9, metric: 'mitotic_rate_per_100_cells_per_h' });
    expect(json.failedWells).toEqual([{ well: 'B02', condition: drug, reason: 'field 1: focus lost' }]);
    expect(json.conditions.map((c) => [c.condition, c.bins.length])).toEqual([
      [dmso, 2],
      [drug, 2],
    ]);
    expect(json.wells.find((w) => w.well === 'B01')?.mitoticRatePer100CellsPerHour).toBe(5);
  });

  it('survives JSON.stringify with unknown values left out rather than null', () => {
    const text = JSON.stringify(json);
    expect(text).not.toContain('null');
    const wells = (JSON.parse(text) as { wells: Record<string, unknown>[] }).wells;
    expect(wells.find((w) => w['well'] === 'B02')).toEqual({
      well: 'B02',
      position: { row: 1, column: 2 },
      condition: drug,
      status: 'failed',
      fields: 0,
      error: 'field 1: focus lost',
    });
  });

  it('keeps the reason of a failed field in an otherwise usable well', () => {
    const partial = [...plate, { ...field('A02', 0, 2, dmso, [], []), field: 2, status: 'failed' as const, error: 'out of focus' }];
    const r = wellReadouts(partial, { binFrames: 2 });
    expect(pick(r, 'A02').map((x) => [x.status, x.fields, x.error])).toEqual([
      ['ok', 1, 'field 2: out of focus'],
      ['ok', 1, 'field 2: out of focus'],
    ]);
    expect(readoutsJson(r, conditionSummary(r)).wells.find((w) => w.well === 'A02')?.error).toBe('field 2: out of focus');
  });
});
