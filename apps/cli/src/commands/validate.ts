import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { InvalidInputError, MitosisError, createLocalBlobStore, exitCodes, isMitosisError } from '@mitosis/core';
import type { MitosisPoint } from '@mitosis/scoring';
import { readPointsCsv, scoreAtThresholds } from '@mitosis/scoring';
import type { StoredVideoMeta } from '@mitosis/stages';
import { readVideoMeta } from '@mitosis/stages';
import type { SynthOptions } from '@mitosis/synth';
import { generateSyntheticVideo, syntheticPanel, writeSyntheticVideo } from '@mitosis/synth';
import { probeVideo } from '@mitosis/video';
import type { ComputeOptions } from '../runtime';
import { computeCommand, initCompute, parseNonNegativeInt, parsePositiveNumber } from '../runtime';
import { analyzeVideo, registerAnalyze } from './analyze';
import { detectInVideo, registerDetect } from './detect';
import type { RegisterCommand } from './index';
import { registerTrain, trainModel } from './train';
import type { Score, ValidationRow } from './validate-table';
import { validationCsv, validationMarkdown } from './validate-table';

/** A video of the panel: a synthetic case (seeded per run) or a window of the shared CeTReS.B video. */
export type PanelCase =
  | { readonly name: string; readonly kind: 'synthetic'; readonly options: SynthOptions; readonly unsupervisedFrames: number }
  | { readonly name: string; readonly kind: 'cetres'; readonly first: number; readonly last: number };

/** The paper's protocol: M1/M2 on 110 frames, M3 on the last annotated ones of them, detection after. */
const CETRES_UNSUPERVISED = 110;
/** The last frame of CeTReS.B in the shared folder (201-399 are held out). */
const CETRES_LAST = 200;
/** Most frames to annotate, as the demo: the paper's headline uses 18. */
const MAX_ANNOTATED = 18;
/** Spatial tolerance of the scoring in original pixels (the benchmark's, and the demo's). */
const SCORE_RADIUS = 10;

export const cetresCases: readonly PanelCase[] = [
  { name: 'cetres-1-110', kind: 'cetres', first: 1, last: 110 },
  { name: 'cetres-50-160', kind: 'cetres', first: 50, last: 160 },
  { name: 'cetres-90-200', kind: 'cetres', first: 90, last: 200 },
];

/** The whole panel: every synthetic case, then the CeTReS windows. */
export const panelCases: readonly PanelCase[] = [
  ...syntheticPanel.map((c) => ({ name: c.name, kind: 'synthetic' as const, options: c.options, unsupervisedFrames: c.unsupervisedFrames })),
  ...cetresCases,
];

const sparse = syntheticPanel.find((c) => c.name === 'sparse-p8');
/**
 * --quick: the demo's look on a small, short video, so that CI runs the whole pipeline through
 * this command in minutes; its figures say nothing about the method's accuracy.
 */
export const quickCase: PanelCase = {
  name: 'quick-sparse-p8',
  kind: 'synthetic',
  options: { ...(sparse?.options ?? {}), frames: 40, width: 256, height: 192 },
  unsupervisedFrames: 28,
};
/** Training updates of --quick (M1, M2 per run, M3), before --iterations-scale. */
export const quickIterations = { m1: 40, m2: 30, m3: 40 } as const;

/** The shared data folder: $MITOSIS_SHARED_DATA, else ../shared beside the repository (as libs/testing resolves it). */
export function sharedDataRoot(): string {
  const fromEnv = process.env['MITOSIS_SHARED_DATA'];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return path.resolve(fromEnv);
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'nx.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve('..', 'shared');
    dir = parent;
  }
  return path.join(dir, '..', 'shared');
}

/** `--seeds 1,2,3`: distinct whole numbers >= 0. */
export function parseSeeds(text: string): number[] {
  const seeds = text.split(',').map((s) => parseNonNegativeInt(s.trim(), '--seeds'));
  if (new Set(seeds).size !== seeds.length) throw new InvalidInputError(`--seeds "${text}" names a seed twice`);
  return seeds;
}

/** `--cases a,b`: names of the panel (or of the quick case); an unknown name lists the known ones. */
export function selectCases(names: string | undefined, quick: boolean): PanelCase[] {
  const pool = [...panelCases, quickCase];
  if (names === undefined) return quick ? [quickCase] : [...panelCases];
  return names.split(',').map((raw) => {
    const name = raw.trim();
    const found = pool.find((c) => c.name === name);
    if (!found) throw new InvalidInputError(`--cases: no case "${name}" in the panel; the cases are ${pool.map((c) => c.name).join(', ')}`);
    return found;
  });
}

/**
 * A command's option values before any flag is given: its registered defaults, so that the
 * panel runs exactly what `mitosis analyze/train/detect` run when the user sets nothing.
 */
export function cliDefaults<T = Record<string, unknown>>(register: RegisterCommand, name: string): T {
  const program = new Command();
  register(program);
  const command = program.commands.find((c) => c.name() === name);
  if (!command) throw new Error(`command ${name} is not registered by its module`);
  return command.opts<Record<string, unknown>>() as T;
}

interface ValidateOptions extends ComputeOptions {
  readonly out: string;
  readonly seeds: string;
  readonly cases?: string;
  readonly quick?: boolean;
  readonly iterationsScale: string;
}

export interface ValidationResult {
  readonly rows: ValidationRow[];
  readonly files: { readonly csv: string; readonly json: string; readonly markdown: string };
  /** The first failed run's error, kept for its kind (the exit code); absent when none failed. */
  readonly firstError?: unknown;
}

const seconds = (since: number): number => (performance.now() - since) / 1000;
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const toScore = (s: { f1: number; precision: number; recall: number } | undefined): Score | undefined =>
  s === undefined ? undefined : { f1: s.f1, precision: s.precision, recall: s.recall };

interface RowContext {
  readonly dir: string;
  readonly seed: number;
  readonly iterations: { m1: number; m2: number; m3: number };
  readonly common: ComputeOptions;
  readonly log: (line: string) => void;
}

/** The input of one run: the video, its annotations, and the frames of each part of the protocol. */
interface RunInput {
  readonly video: string;
  readonly mitoses: string;
  readonly truth: readonly MitosisPoint[];
  readonly unsupervised: { first: number; last: number };
  readonly window: { first: number; last: number };
  readonly simulatedP75?: number;
}

async function prepareInput(c: PanelCase, ctx: RowContext): Promise<RunInput | { skipped: string }> {
  if (c.kind === 'synthetic') {
    const video = generateSyntheticVideo({ ...c.options, seed: ctx.seed });
    const { files, truth } = await writeSyntheticVideo(path.join(ctx.dir, 'synthetic'), video);
    return {
      video: files.video,
      mitoses: files.mitoses,
      truth: video.mitoses,
      unsupervised: { first: 1, last: c.unsupervisedFrames },
      window: { first: c.unsupervisedFrames + 1, last: video.options.frames },
      simulatedP75: truth.durations.all.p75,
    };
  }
  const root = path.join(sharedDataRoot(), 'data', 'cetres-b');
  const frames = path.join(root, 'frames');
  const mitoses = path.join(root, 'mitoses.csv');
  if (!existsSync(frames) || !existsSync(mitoses)) {
    return { skipped: `${frames} or ${mitoses} is missing: the shared data lives in $MITOSIS_SHARED_DATA or ../shared beside the repository` };
  }
  const { frameCount } = await probeVideo(frames);
  const last = Math.min(CETRES_LAST, frameCount);
  const unsupervised = { first: c.first, last: c.first + CETRES_UNSUPERVISED - 1 };
  if (unsupervised.last >= last)
    throw new InvalidInputError(`${c.name}: frames ${unsupervised.first}-${unsupervised.last} leave no frame to detect on in ${frames} (${frameCount} frames)`);
  return { video: frames, mitoses, truth: await readPointsCsv(mitoses), unsupervised, window: { first: unsupervised.last + 1, last } };
}

/** One case with one seed through analyze, train and detect; a failure is the row's error, not a throw. */
export async function runValidationRow(c: PanelCase, ctx: RowContext): Promise<{ row: ValidationRow; error?: unknown }> {
  const base = { case: c.name, seed: ctx.seed };
  const tag = `${c.name} seed ${ctx.seed}`;
  let input: RunInput;
  try {
    const prepared = await prepareInput(c, ctx);
    if ('skipped' in prepared) {
      ctx.log(`${tag}: skipped: ${prepared.skipped}`);
      const frames = c.kind === 'cetres' ? { first: c.first, last: c.last } : { first: 1, last: c.unsupervisedFrames };
      return { row: { ...base, status: 'skipped', error: prepared.skipped, frames, warnings: [], seconds: {} } };
    }
    input = prepared;
  } catch (error) {
    ctx.log(`${tag}: could not prepare the video: ${message(error)}`);
    const frames = c.kind === 'cetres' ? { first: c.first, last: c.last } : { first: 1, last: c.unsupervisedFrames };
    return { row: { ...base, status: 'failed', failedStage: 'input', error: message(error), frames, warnings: [], seconds: {} }, error };
  }

  let row: ValidationRow = {
    ...base,
    status: 'ok',
    frames: input.unsupervised,
    ...(input.simulatedP75 === undefined ? {} : { simulatedP75: input.simulatedP75 }),
    warnings: [],
    seconds: {},
  };
  const fail = (stage: NonNullable<ValidationRow['failedStage']>, error: unknown): { row: ValidationRow; error: unknown } => {
    ctx.log(`${tag}: ${stage} failed: ${message(error)}`);
    return { row: { ...row, status: 'failed', failedStage: stage, error: message(error) }, error };
  };

  // analyze: M1 and M2 with the CLI's defaults; only the iteration counts and the seed are set.
  const analysisDir = path.join(ctx.dir, 'analysis');
  let started = performance.now();
  let k: number;
  let annotationUpper: number;
  try {
    const analysis = await analyzeVideo(input.video, {
      ...cliDefaults<Parameters<typeof analyzeVideo>[1]>(registerAnalyze, 'analyze'),
      ...ctx.common,
      out: analysisDir,
      frames: `${input.unsupervised.first}:${input.unsupervised.last}`,
      m1Iterations: String(ctx.iterations.m1),
      m2Iterations: String(ctx.iterations.m2),
      seed: String(ctx.seed),
    });
    const { stats } = analysis;
    k = stats.recommendedK;
    annotationUpper = stats.annotationFramesRange[1];
    row = {
      ...row,
      normalMap: stats.normalCellMap,
      mapMargin: stats.mapChoice.margin,
      mapConfident: stats.mapChoice.confident,
      mapsTried: stats.mapsTried.map((m) => ({ map: m.map, ...(m.rejected === undefined ? {} : { rejected: m.rejected }) })),
      k,
      kRuns: stats.kSpread.runs,
      kMin: stats.kSpread.min,
      kMax: stats.kSpread.max,
      warnings: stats.warnings,
    };
  } catch (error) {
    row = { ...row, ...(await videoMetaFields(analysisDir)), seconds: { analyze: seconds(started) } };
    return fail('analyze', error);
  }
  row = { ...row, ...(await videoMetaFields(analysisDir)), seconds: { analyze: seconds(started) } };
  ctx.log(
    `${tag}: analyze done in ${row.seconds.analyze?.toFixed(1)} s: factor ${row.factor}, map ${row.normalMap} (margin ${row.mapMargin?.toFixed(3)}), k ${k} (runs ${row.kRuns?.join(', ')})`,
  );

  // train: M3 on the last annotated frames of the unsupervised part, as many as the demo takes.
  const annotated = Math.max(k, Math.min(MAX_ANNOTATED, annotationUpper));
  const annotatedFrames = { first: Math.max(input.unsupervised.first, input.unsupervised.last - annotated + 1), last: input.unsupervised.last };
  row = { ...row, annotatedFrames };
  const modelDir = path.join(ctx.dir, 'model');
  started = performance.now();
  try {
    await trainModel(input.video, {
      ...cliDefaults<Parameters<typeof trainModel>[1]>(registerTrain, 'train'),
      ...ctx.common,
      annotations: input.mitoses,
      frames: `${annotatedFrames.first}:${annotatedFrames.last}`,
      k: String(k),
      out: modelDir,
      iterations: String(ctx.iterations.m3),
      seed: String(ctx.seed),
    });
  } catch (error) {
    row = { ...row, seconds: { ...row.seconds, train: seconds(started) } };
    return fail('train', error);
  }
  row = { ...row, seconds: { ...row.seconds, train: seconds(started) } };
  ctx.log(`${tag}: train done in ${row.seconds.train?.toFixed(1)} s: M3 with k ${k} on frames ${annotatedFrames.first}-${annotatedFrames.last}`);

  // detect: a scored window shorter than k is read with the frames before it as context only.
  const window = input.window;
  const detectFirst = Math.max(1, Math.min(window.first, window.last - k + 1));
  started = performance.now();
  try {
    const detected = await detectInVideo(input.video, {
      ...cliDefaults<Parameters<typeof detectInVideo>[1]>(registerDetect, 'detect'),
      ...ctx.common,
      model: modelDir,
      frames: `${detectFirst}:${window.last}`,
      out: path.join(ctx.dir, 'detections.csv'),
      overlays: false,
    });
    const [th1, th3] = scoreAtThresholds(input.truth, detected.detections, { radius: SCORE_RADIUS, ths: [1, 3], frames: window });
    const inWindow = (p: MitosisPoint): boolean => p.frame >= window.first && p.frame <= window.last;
    row = {
      ...row,
      detectionFrames: window,
      mitosesScored: input.truth.filter(inWindow).length,
      detections: detected.detections.filter(inWindow).length,
      ...(toScore(th1) ? { th1: toScore(th1) } : {}),
      ...(toScore(th3) ? { th3: toScore(th3) } : {}),
      seconds: { ...row.seconds, detect: seconds(started) },
    };
  } catch (error) {
    row = { ...row, seconds: { ...row.seconds, detect: seconds(started) } };
    return fail('detect', error);
  }
  ctx.log(
    `${tag}: detect done in ${row.seconds.detect?.toFixed(1)} s: frames ${window.first}-${window.last}, F1 ${row.th1?.f1.toFixed(3)} at th=1, ${row.th3?.f1.toFixed(3)} at th=3`,
  );
  return { row };
}

/** Factor and cell radius from the video analyze stored, when ingest got that far. */
async function videoMetaFields(analysisDir: string): Promise<Partial<ValidationRow>> {
  const storeDir = path.join(analysisDir, 'store');
  if (!existsSync(storeDir)) return {};
  let meta: StoredVideoMeta;
  try {
    meta = await readVideoMeta(createLocalBlobStore(storeDir), 'video');
  } catch {
    return {};
  }
  return {
    factor: meta.factor,
    ...(meta.factorChosenBy === undefined ? {} : { factorChosenBy: meta.factorChosenBy }),
    ...(meta.cellRadius === undefined ? {} : { cellRadius: meta.cellRadius }),
  };
}

async function writeTables(out: string, rows: readonly ValidationRow[], panel: Record<string, unknown>): Promise<ValidationResult['files']> {
  const files = { csv: path.join(out, 'validation.csv'), json: path.join(out, 'validation.json'), markdown: path.join(out, 'validation.md') };
  await writeFile(files.csv, validationCsv(rows));
  await writeFile(files.json, `${JSON.stringify({ panel, rows }, null, 2)}\n`);
  await writeFile(files.markdown, validationMarkdown(rows));
  return files;
}

/** Every case with every seed; the tables are rewritten after each run, so a long panel leaves what it did. */
export async function runValidation(options: ValidateOptions): Promise<ValidationResult> {
  const out = path.resolve(options.out);
  const quick = options.quick === true;
  const seeds = quick ? parseSeeds(options.seeds).slice(0, 1) : parseSeeds(options.seeds);
  const cases = selectCases(options.cases, quick);
  const scale = parsePositiveNumber(options.iterationsScale, '--iterations-scale');
  const train = cliDefaults(registerTrain, 'train');
  const analyze = cliDefaults(registerAnalyze, 'analyze');
  const base = quick ? quickIterations : { m1: Number(analyze['m1Iterations']), m2: Number(analyze['m2Iterations']), m3: Number(train['iterations']) };
  const iterations = { m1: Math.max(1, Math.round(base.m1 * scale)), m2: Math.max(1, Math.round(base.m2 * scale)), m3: Math.max(1, Math.round(base.m3 * scale)) };
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  await mkdir(out, { recursive: true });
  await initCompute(options);
  const common: ComputeOptions = { ...(options.backend ? { backend: options.backend } : {}), ...(options.threads ? { threads: options.threads } : {}), quiet: true };
  const panel = { cases: cases.map((c) => c.name), seeds, iterations, quick };
  log(
    `validating ${cases.length} case${cases.length === 1 ? '' : 's'} x ${seeds.length} seed${seeds.length === 1 ? '' : 's'} (M1 ${iterations.m1}, M2 ${iterations.m2}, M3 ${iterations.m3} updates) into ${out}`,
  );
  const rows: ValidationRow[] = [];
  let firstError: unknown;
  let anyFailed = false;
  let files = await writeTables(out, rows, panel);
  for (const c of cases) {
    for (const seed of seeds) {
      const dir = path.join(out, c.name, `seed-${seed}`);
      await mkdir(dir, { recursive: true });
      const { row, error } = await runValidationRow(c, { dir, seed, iterations, common, log });
      rows.push(row);
      if (row.status === 'failed' && !anyFailed) {
        anyFailed = true;
        firstError = error;
      }
      files = await writeTables(out, rows, panel);
    }
  }
  const failed = rows.filter((r) => r.status === 'failed').length;
  const skipped = rows.filter((r) => r.status === 'skipped').length;
  log(`${rows.length - failed - skipped} ok, ${failed} failed, ${skipped} skipped; the table is in ${files.csv}, ${files.json} and ${files.markdown}`);
  return { rows, files, ...(anyFailed ? { firstError } : {}) };
}

/** `mitosis validate`: the whole pipeline, out of the box, over the validation panel. */
export const registerValidate: RegisterCommand = (program) => {
  computeCommand(program, 'validate')
    .description('run analyze, train and detect with their defaults on a panel of videos (synthetic cases and CeTReS.B windows) and tabulate map, k, F1 and time')
    .option('--out <dir>', "folder for validation.csv/.json/.md and each run's files", 'mitosis-validation')
    .option('--seeds <list>', 'seeds of each case (video and trainings), comma-separated', '1,2,3')
    .option('--cases <list>', `cases to run, comma-separated (default: all): ${[...panelCases, quickCase].map((c) => c.name).join(', ')}`)
    .option('--quick', `the CI subset: ${quickCase.name} with the first seed and a few training updates`)
    .option('--iterations-scale <x>', "multiply every training's updates (M1, M2, M3) by x, for quicker or longer runs", '1')
    .action(async (options: ValidateOptions) => {
      const { rows, files, firstError } = await runValidation(options);
      const failed = rows.filter((r) => r.status === 'failed');
      const first = failed[0];
      if (first !== undefined) {
        // The run's exit code is that of the first failure's kind (exitCodes), after every row ran and the tables were written.
        const kind = isMitosisError(firstError) ? firstError.kind : 'INTERNAL';
        throw new MitosisError(
          kind,
          `${failed.length} of ${rows.length} runs failed, first ${first.case} seed ${first.seed} in ${first.failedStage}: ${first.error} (the table is in ${files.markdown})`,
        );
      }
      process.exitCode = exitCodes.OK;
    });
};
