import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exitCodes } from '@mitosis/core';
import { METHOD_DEFAULTS } from '@mitosis/stages';
import { syntheticPanel } from '@mitosis/synth';
import { runCliCaptured } from '../testing';
import { registerAnalyze } from './analyze';
import { registerTrain } from './train';
import { cliDefaults, panelCases, parseSeeds, quickCase, selectCases, sharedDataRoot } from './validate';
import type { ValidationRow } from './validate-table';
import { formatRow, validationColumns, validationCsv, validationMarkdown } from './validate-table';

const okRow: ValidationRow = {
  case: 'sparse-p8',
  seed: 2,
  status: 'ok',
  frames: { first: 1, last: 60 },
  detectionFrames: { first: 61, last: 100 },
  factor: 2,
  factorChosenBy: 'cell-size',
  cellRadius: 11.96,
  normalMap: 5,
  mapMargin: 0.12345,
  mapConfident: true,
  mapsTried: [{ map: 1, rejected: 'no cell events predicted' }, { map: 5 }],
  k: 7,
  kRuns: [7, 6, 8],
  kMin: 6,
  kMax: 8,
  simulatedP75: 8.25,
  annotatedFrames: { first: 43, last: 60 },
  mitosesScored: 30,
  detections: 28,
  th1: { f1: 0.8, precision: 0.75, recall: 0.857142 },
  th3: { f1: 0.9, precision: 0.85, recall: 0.95 },
  warnings: ['the M2 runs disagree on k'],
  seconds: { analyze: 100.04, train: 50.55, detect: 3.2 },
};

const cell = (row: ValidationRow, name: string): string => formatRow(row)[validationColumns.findIndex((c) => c.name === name)] ?? 'missing column';

describe('validation table', () => {
  it('has the columns the panel reports, once each', () => {
    const names = validationColumns.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of [
      'case',
      'seed',
      'frames',
      'factor',
      'cell_radius_px',
      'normal_map',
      'map_margin',
      'map_confident',
      'maps_tried',
      'k',
      'k_runs',
      'k_min',
      'k_max',
      'simulated_p75',
      'k_minus_p75_abs',
      'annotated_frames',
      'f1_th1',
      'precision_th1',
      'recall_th1',
      'f1_th3',
      'precision_th3',
      'recall_th3',
      'warnings',
      'analyze_s',
      'train_s',
      'detect_s',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('formats a successful row: ranges, rounded figures, |k - p75|, maps tried and counts', () => {
    expect(formatRow(okRow)).toHaveLength(validationColumns.length);
    expect(cell(okRow, 'frames')).toBe('1-60');
    expect(cell(okRow, 'detection_frames')).toBe('61-100');
    expect(cell(okRow, 'cell_radius_px')).toBe('12.0');
    expect(cell(okRow, 'map_margin')).toBe('0.123');
    expect(cell(okRow, 'map_confident')).toBe('true');
    expect(cell(okRow, 'maps_tried')).toBe('1 rejected; 5');
    expect(cell(okRow, 'k_runs')).toBe('7 6 8');
    expect(cell(okRow, 'k_minus_p75_abs')).toBe('1.25');
    expect(cell(okRow, 'annotated_count')).toBe('18');
    expect(cell(okRow, 'recall_th1')).toBe('0.857');
    expect(cell(okRow, 'warnings')).toBe('1');
    expect(cell(okRow, 'analyze_s')).toBe('100.0');
    expect(cell(okRow, 'status')).toBe('ok');
    expect(cell(okRow, 'error')).toBe('');
  });

  it('leaves what a failed run never measured empty, and names the stage that failed', () => {
    const failed: ValidationRow = {
      case: 'cetres-1-110',
      seed: 1,
      status: 'failed',
      failedStage: 'analyze',
      error: 'no cell events were predicted, try "another map", or more frames',
      frames: { first: 1, last: 110 },
      factor: 4,
      warnings: [],
      seconds: { analyze: 12 },
    };
    expect(cell(failed, 'status')).toBe('failed (analyze)');
    expect(cell(failed, 'factor')).toBe('4');
    for (const name of ['k', 'k_minus_p75_abs', 'f1_th3', 'train_s', 'detect_s', 'simulated_p75']) expect(cell(failed, name)).toBe('');
    const csv = validationCsv([okRow, failed]).split('\n');
    expect(csv[0]).toBe(validationColumns.map((c) => c.name).join(','));
    expect(csv).toHaveLength(4);
    // The error holds commas and quotes: one quoted field, quotes doubled.
    expect(csv[2]?.endsWith(',"no cell events were predicted, try ""another map"", or more frames"')).toBe(true);
  });

  it('writes a markdown table whose pipes in cells cannot split a row', () => {
    const piped: ValidationRow = { ...okRow, status: 'failed', failedStage: 'train', error: 'a | b\nc' };
    const lines = validationMarkdown([okRow, piped]).trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe(`| ${validationColumns.map(() => '---').join(' | ')} |`);
    const unescapedPipes = (line: string): number => line.replace(/\\\|/g, '').split('|').length - 1;
    for (const line of lines) expect(unescapedPipes(line)).toBe(validationColumns.length + 1);
    expect(lines[3]).toContain('a \\| b c');
  });
});

describe('validate options', () => {
  it('runs the CLI defaults of analyze and train, read from the commands themselves', () => {
    const analyze = cliDefaults(registerAnalyze, 'analyze');
    expect(analyze['factor']).toBe(String(METHOD_DEFAULTS.factor));
    expect(analyze['m2Runs']).toBe(String(METHOD_DEFAULTS.m2.runs));
    expect(analyze['erosions']).toBe(String(METHOD_DEFAULTS.cleaning.erosions));
    expect(analyze['flatField']).toBe(true);
    expect(cliDefaults(registerTrain, 'train')['iterations']).toBe(String(METHOD_DEFAULTS.m3.iterations));
  });

  it('has every synthetic panel case and the three CeTReS windows; --cases picks by name', () => {
    expect(panelCases.map((c) => c.name)).toEqual([...syntheticPanel.map((c) => c.name), 'cetres-1-110', 'cetres-50-160', 'cetres-90-200']);
    expect(selectCases(undefined, true)).toEqual([quickCase]);
    expect(selectCases('p4, cetres-50-160', false).map((c) => c.name)).toEqual(['p4', 'cetres-50-160']);
    expect(() => selectCases('p4,nope', false)).toThrow(/no case "nope".*sparse-p8/);
  });

  it('parses --seeds and rejects repeats and non-numbers', () => {
    expect(parseSeeds('1,2, 3')).toEqual([1, 2, 3]);
    expect(() => parseSeeds('1,1')).toThrow(/twice/);
    expect(() => parseSeeds('1,x')).toThrow(/--seeds "x"/);
  });

  it('finds the shared data in $MITOSIS_SHARED_DATA, else beside the repository', () => {
    const saved = process.env['MITOSIS_SHARED_DATA'];
    try {
      process.env['MITOSIS_SHARED_DATA'] = '/somewhere/shared';
      expect(sharedDataRoot()).toBe('/somewhere/shared');
      delete process.env['MITOSIS_SHARED_DATA'];
      expect(sharedDataRoot()).toBe(path.resolve(__dirname, '../../../..', '..', 'shared'));
    } finally {
      if (saved === undefined) delete process.env['MITOSIS_SHARED_DATA'];
      else process.env['MITOSIS_SHARED_DATA'] = saved;
    }
  });
});

describe('mitosis validate', () => {
  let dir: string;
  const saved = process.env['MITOSIS_SHARED_DATA'];
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cli-validate-'));
  });
  afterAll(() => {
    if (saved === undefined) delete process.env['MITOSIS_SHARED_DATA'];
    else process.env['MITOSIS_SHARED_DATA'] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  const readTable = (out: string): { csv: string[]; rows: ValidationRow[]; md: string } => ({
    csv: readFileSync(path.join(out, 'validation.csv'), 'utf8').trimEnd().split('\n'),
    rows: (JSON.parse(readFileSync(path.join(out, 'validation.json'), 'utf8')) as { rows: ValidationRow[] }).rows,
    md: readFileSync(path.join(out, 'validation.md'), 'utf8'),
  });

  it('skips the CeTReS rows with the reason when the shared data is absent, and exits 0', async () => {
    process.env['MITOSIS_SHARED_DATA'] = path.join(dir, 'no-shared');
    const out = path.join(dir, 'skipped');
    const result = await runCliCaptured(['validate', '--cases', 'cetres-1-110', '--seeds', '1,2', '--out', out, '--quiet']);
    expect(result.errors).toEqual([]);
    expect(result.code).toBe(exitCodes.OK);
    expect(result.stdout).toMatch(/cetres-1-110 seed 1: skipped: .*no-shared/);
    const { rows, csv } = readTable(out);
    expect(rows.map((r) => [r.seed, r.status])).toEqual([
      [1, 'skipped'],
      [2, 'skipped'],
    ]);
    expect(csv).toHaveLength(3);
  });

  it('records a run whose input is broken as a failed row and exits non-zero after writing the table', async () => {
    const shared = path.join(dir, 'broken-shared');
    mkdirSync(path.join(shared, 'data', 'cetres-b', 'frames'), { recursive: true });
    writeFileSync(path.join(shared, 'data', 'cetres-b', 'mitoses.csv'), 'frame,x,y\n1,2,3\n');
    process.env['MITOSIS_SHARED_DATA'] = shared;
    const out = path.join(dir, 'broken');
    const result = await runCliCaptured(['validate', '--cases', 'cetres-50-160', '--seeds', '4', '--out', out, '--quiet']);
    expect(result.code).not.toBe(exitCodes.OK);
    expect(result.errors.join('\n')).toMatch(/1 of 1 runs failed, first cetres-50-160 seed 4 in input/);
    const { rows } = readTable(out);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ case: 'cetres-50-160', seed: 4, status: 'failed', failedStage: 'input' });
    expect(rows[0]?.error).toMatch(/frames/);
  });

  it('--quick runs the whole pipeline on one small synthetic video and writes the table', async () => {
    const out = path.join(dir, 'quick');
    const result = await runCliCaptured(['validate', '--quick', '--out', out, '--quiet']);
    const { csv, rows, md } = readTable(out);
    expect(csv[0]).toBe(validationColumns.map((c) => c.name).join(','));
    expect(csv).toHaveLength(2);
    expect(md.split('\n')[0]).toBe(`| ${validationColumns.map((c) => c.name).join(' | ')} |`);
    expect(result.stdout).toMatch(new RegExp(`${quickCase.name} seed 1: analyze (done in|failed)`));
    if (result.code !== exitCodes.OK) {
      // With so few updates M2 may find no event on the small video: then the row says so and
      // the command fails with that kind, after the table; any other failure fails this test.
      expect(result.code).toBe(exitCodes.INVALID_ARGUMENT);
      expect(result.errors.join('\n')).toMatch(/1 of 1 runs failed, first quick-sparse-p8 seed 1 in analyze: no cell events were predicted/);
      expect(rows[0]).toMatchObject({ status: 'failed', failedStage: 'analyze', factorChosenBy: 'cell-size' });
      expect(rows[0]?.seconds.analyze).toBeGreaterThan(0);
      return;
    }
    expect(result.errors).toEqual([]);
    for (const stage of ['analyze', 'train', 'detect']) expect(result.stdout).toMatch(new RegExp(`${quickCase.name} seed 1: ${stage} done in`));
    const [row] = rows;
    expect(row).toMatchObject({ case: quickCase.name, seed: 1, status: 'ok', frames: { first: 1, last: quickCase.kind === 'synthetic' ? quickCase.unsupervisedFrames : 0 } });
    if (row === undefined) throw new Error('no row');
    expect(row.factorChosenBy).toBe('cell-size');
    expect(row.cellRadius).toBeGreaterThan(0);
    expect(row.k).toBeGreaterThanOrEqual(1);
    expect(row.kRuns).toHaveLength(METHOD_DEFAULTS.m2.runs);
    expect(row.mapsTried?.at(-1)?.map).toBe(row.normalMap);
    expect(row.simulatedP75).toBeGreaterThan(0);
    expect(row.annotatedFrames?.last).toBe(row.frames.last);
    expect(row.th1?.f1).toBeGreaterThanOrEqual(0);
    expect(row.th3?.f1).toBeGreaterThanOrEqual(row.th1?.f1 ?? 0);
    for (const stage of ['analyze', 'train', 'detect'] as const) expect(row.seconds[stage]).toBeGreaterThan(0);
    expect(existsSync(path.join(out, quickCase.name, 'seed-1', 'model', 'model.json'))).toBe(true);
  }, 480_000);
});
