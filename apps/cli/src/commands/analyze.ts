import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, createLocalBlobStore, exitCodes } from '@mitosis/core';
import type { AnalysisStats, NormalCellMapChoice, TrainedModelAt } from '@mitosis/stages';
import {
  METHOD_DEFAULTS,
  WORK_LIMITS,
  analysisKeys,
  checkFramesFor,
  checkWorkLimit,
  mapSelectionDefaults,
  featureMapMontage,
  histogramImage,
  loadStoredFrames,
  runEventLengthStage,
  runNormalCellMapStage,
} from '@mitosis/stages';
import { readArray, readArrayMetadata } from '@mitosis/tensor-store';
import { encodePng } from '@mitosis/video';
import { createProgressRenderer } from '../progress';
import type { ComputeOptions } from '../runtime';
import { computeCommand, methodOptions, parseFactor, ingestVideo, initCompute, pad3, parseNonNegativeInt, parsePositiveInt, parsePositiveNumber, writeImage } from '../runtime';
import type { RegisterCommand } from './index';

interface AnalyzeOptions extends ComputeOptions {
  readonly out: string;
  readonly frames?: string;
  readonly factor: string;
  readonly m1Iterations: string;
  readonly m2Iterations: string;
  readonly crop: string;
  readonly m2Crop?: string;
  readonly m2Batch: string;
  readonly m2PositiveWeight: string;
  readonly m2LossMargin: string;
  readonly sequenceLength: string;
  readonly normalMap?: string;
  readonly erosions: string;
  readonly minArea: string;
  readonly m2Runs: string;
  readonly minFrames: string;
  readonly seed: string;
  readonly json?: boolean;
  /** false with --no-flat-field. */
  readonly flatField?: boolean;
  readonly channel?: string;
  /** M1 and M2 trained on other videos (a plate's sample), applied by inference only; not CLI flags. */
  readonly m1Model?: TrainedModelAt;
  readonly m2Model?: TrainedModelAt;
}

export interface AnalysisSummary {
  readonly stats: AnalysisStats;
  readonly choice: NormalCellMapChoice;
  readonly outDir: string;
}

/** M1 and M2 on a video; writes stats.json, the normal-cell map as PNGs and figures under `out`. */
export async function analyzeVideo(videoPath: string, options: AnalyzeOptions): Promise<AnalysisSummary> {
  const outDir = path.resolve(options.out);
  await mkdir(outDir, { recursive: true });
  const store = createLocalBlobStore(path.join(outDir, 'store'));
  const factor = parseFactor(options.factor);
  const seed = parseNonNegativeInt(options.seed, '--seed');
  const normalMap = options.normalMap === undefined ? undefined : parseNonNegativeInt(options.normalMap, '--normal-map');
  const crop = checkWorkLimit(parsePositiveInt(options.crop, '--crop'), '--crop', WORK_LIMITS.crop);
  const m1Iterations = checkWorkLimit(parsePositiveInt(options.m1Iterations, '--m1-iterations'), '--m1-iterations', WORK_LIMITS.m1Iterations);
  const m2Iterations = checkWorkLimit(parsePositiveInt(options.m2Iterations, '--m2-iterations'), '--m2-iterations', WORK_LIMITS.m2Iterations);
  const sequenceLength = checkWorkLimit(parsePositiveInt(options.sequenceLength, '--sequence-length'), '--sequence-length', WORK_LIMITS.sequenceLength);
  // Absent: the cleaning that keeps more persistent cells of the chosen map (0 or 1 erosions).
  const erosions = options.erosions === 'auto' ? undefined : parseNonNegativeInt(options.erosions, '--erosions');
  const minArea = options.minArea === 'auto' ? undefined : parseNonNegativeInt(options.minArea, '--min-area');
  const m2Runs = checkWorkLimit(parsePositiveInt(options.m2Runs, '--m2-runs'), '--m2-runs', WORK_LIMITS.m2Runs);
  const minFrames = parseNonNegativeInt(options.minFrames, '--min-frames');
  const m2Crop = options.m2Crop === undefined ? crop : checkWorkLimit(parsePositiveInt(options.m2Crop, '--m2-crop'), '--m2-crop', WORK_LIMITS.crop);
  const m2Batch = checkWorkLimit(parsePositiveInt(options.m2Batch, '--m2-batch'), '--m2-batch', WORK_LIMITS.batch);
  const m2PositiveWeight = parsePositiveNumber(options.m2PositiveWeight, '--m2-positive-weight');
  const m2LossMargin = parseNonNegativeInt(options.m2LossMargin, '--m2-loss-margin');
  await initCompute(options);
  const { range } = await ingestVideo(store, 'video', videoPath, { frames: options.frames, factor, flatField: options.flatField !== false, channel: options.channel });
  // Before M1 trains: the gateway refuses such a video with the same rule.
  checkFramesFor(`${videoPath} (frames ${range.first}:${range.last})`, range.last - range.first + 1, { job: 'analysis' });
  const renderer = createProgressRenderer(process.stderr, options.quiet);
  const prefix = 'analysis';
  const keys = analysisKeys(prefix);
  try {
    const choice = await runNormalCellMapStage(
      store,
      { videoKey: 'video', prefix },
      {
        training: { iterations: m1Iterations, crop, seed },
        ...(erosions === undefined ? {} : { erosions }),
        ...(minArea === undefined ? {} : { minArea }),
        minFrames,
        ...(normalMap === undefined ? {} : { normalMap }),
        ...(options.m1Model ? { model: options.m1Model } : {}),
        onProgress: renderer.sink,
      },
    ).catch(async (error: unknown) => {
      // No map was chosen: still show the maps, so the user can pick one with --normal-map.
      if (error instanceof InvalidInputError && (await store.exists(`${keys.featureMaps}/zarr.json`))) {
        const scores = ((await readArrayMetadata(store, keys.featureMaps)).attributes['scores'] ?? []) as NormalCellMapChoice['scores'];
        await writeFeatureMapsFigure(outDir, store, keys, { chosen: -1, scores }, range.first);
        throw new InvalidInputError(`${error.message} (the maps are in ${path.join(outDir, 'feature-maps.png')})`, { cause: error });
      }
      throw error;
    });
    // The M1 figures first: when M2 finds nothing, the maps are what the user needs to look at.
    await writeMapFigures(outDir, store, keys, choice, range.first);
    const { stats } = await runEventLengthStage(
      store,
      { videoKey: 'video', range, prefix },
      {
        training: {
          iterations: m2Iterations,
          crop: m2Crop,
          batch: m2Batch,
          seed,
          sequenceLength,
          lossMargin: m2LossMargin,
          model: { positiveWeight: m2PositiveWeight },
        },
        runs: m2Runs,
        ...(options.m2Model ? { model: options.m2Model } : {}),
        onProgress: renderer.sink,
      },
    );
    renderer.stop();
    // M2 fell back on another map: the figures show the one used.
    if (stats.normalCellMap !== choice.chosen) await writeMapFigures(outDir, store, keys, { ...choice, chosen: stats.normalCellMap }, range.first);
    await writeFile(path.join(outDir, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
    await writeImage(path.join(outDir, 'event-lengths.png'), histogramImage(stats.histogram));
    return { stats, choice, outDir };
  } finally {
    renderer.stop();
  }
}

async function writeMapFigures(
  outDir: string,
  store: ReturnType<typeof createLocalBlobStore>,
  keys: ReturnType<typeof analysisKeys>,
  choice: NormalCellMapChoice,
  firstFrame: number,
): Promise<void> {
  const map = await readArray(store, keys.normalCellMap);
  const [frames = 0, height = 0, width = 0] = map.shape;
  const plane = height * width;
  const mapDir = path.join(outDir, 'normal-cell-map');
  await mkdir(mapDir, { recursive: true });
  for (let t = 0; t < frames; t++) {
    const frame = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) frame[i] = map.data[t * plane + i] ? 255 : 0;
    await writeFile(path.join(mapDir, `frame-${pad3(firstFrame + t)}.png`), encodePng(frame, width, height, 8));
  }
  await writeFeatureMapsFigure(outDir, store, keys, choice, firstFrame);
}

/** The middle frame and M1's maps side by side (paper Fig. 7), the chosen one framed. */
async function writeFeatureMapsFigure(
  outDir: string,
  store: ReturnType<typeof createLocalBlobStore>,
  keys: ReturnType<typeof analysisKeys>,
  choice: Pick<NormalCellMapChoice, 'chosen' | 'scores'>,
  firstFrame: number,
): Promise<void> {
  const winner = await readArray(store, keys.featureMaps);
  const [frames = 0, height = 0, width = 0] = winner.shape;
  const plane = height * width;
  const middle = Math.floor(frames / 2);
  const { volume } = await loadStoredFrames(store, 'video', { first: firstFrame + middle, last: firstFrame + middle });
  await writeImage(
    path.join(outDir, 'feature-maps.png'),
    featureMapMontage(volume.data, (winner.data as Uint8Array).subarray(middle * plane, (middle + 1) * plane), width, height, choice.scores.length, choice.chosen),
  );
}

export function summaryText(stats: AnalysisStats, choice: NormalCellMapChoice, outDir: string): string {
  const s = (v: number): string => v.toFixed(2);
  const { mapChoice, kSpread } = stats;
  const chosenBy = !choice.automatic ? 'chosen by you' : stats.normalCellMap === choice.chosen ? 'chosen automatically' : `map ${choice.chosen} gave too few events`;
  const cleaning = `${mapChoice.cleaning.erosions} erosion${mapChoice.cleaning.erosions === 1 ? '' : 's'}, specks under ${mapChoice.cleaning.minArea} px dropped${mapChoice.cleaning.chosenBy === 'given' ? ' (given)' : ''}`;
  return [
    `normal-cell map: ${stats.normalCellMap} (${chosenBy}; margin ${s(mapChoice.margin)} over the next map${mapChoice.confident ? '' : ', uncertain'}; scores ${mapChoice.scores.map((c) => `${c.index}:${c.score.toFixed(3)}`).join(' ')}; ${cleaning})`,
    `cell events: ${stats.count}, temporal length mean ${s(stats.mean)}, sd ${s(stats.std)}, p50 ${s(stats.p50)}, p75 ${s(stats.p75)} (frames ${stats.frames.first}-${stats.frames.last})`,
    ...(stats.minutes === undefined
      ? []
      : [
          `in time (${s(stats.minutes.frameInterval)} min per frame): mean ${s(stats.minutes.mean)} min, p50 ${s(stats.minutes.p50)} min, p75 ${s(stats.minutes.p75)} min; k spans ${s(stats.minutes.k)} min`,
        ]),
    `recommended ConvLSTM sequence length k = ${stats.recommendedK} (median of ${kSpread.runs.length} M2 run${kSpread.runs.length === 1 ? '' : 's'}: ${kSpread.runs.join(', ')}); annotate ${stats.recommendedAnnotationFrames} consecutive frames (${stats.annotationFramesRange[0]}-${stats.annotationFramesRange[1]})`,
    ...stats.warnings.map((w) => `warning: ${w}`),
    `results in ${outDir}: stats.json, normal-cell-map/, feature-maps.png, event-lengths.png`,
  ].join('\n');
}

/** `mitosis analyze`: the unsupervised part of the method (M1, M2) and its recommendation. */
export const registerAnalyze: RegisterCommand = (program) => {
  computeCommand(program, 'analyze')
    .description('learn the normal-cell map (M1) and the lengths of cell events (M2); recommend k and the frames to annotate')
    .argument('<video>', 'multi-page TIFF or folder of PNG/TIFF frames')
    .requiredOption('--out <dir>', 'folder for stats.json, the normal-cell map PNGs and figures')
    .option('--frames <A:B>', '1-based inclusive frames to learn from (default: all; the paper uses 1:110)')
    .addOption(methodOptions.factor())
    .option('--m1-iterations <n>', 'M1 training updates', String(METHOD_DEFAULTS.m1.iterations))
    .option('--m2-iterations <n>', 'M2 training updates', String(METHOD_DEFAULTS.m2.iterations))
    .option('--crop <px>', 'side of the square training crops', String(METHOD_DEFAULTS.m1.crop))
    .option('--m2-crop <px>', 'side of the M2 training crops (default: --crop)')
    .option('--m2-batch <n>', 'sequences per M2 update', String(METHOD_DEFAULTS.m2.batch))
    .option('--m2-positive-weight <w>', "weight of event voxels in the M2 loss; e' is corrected for it (paper: 1)", String(METHOD_DEFAULTS.m2.positiveWeight))
    .option(
      '--m2-loss-margin <px>',
      'pixels along each M2 crop edge left out of its loss, where cells leave the crop unlabelled (paper: 0, whole frames)',
      String(METHOD_DEFAULTS.m2.lossMargin),
    )
    .option('--sequence-length <n>', 'frames per M2 training sequence', String(METHOD_DEFAULTS.m2.sequenceLength))
    .option('--normal-map <i>', 'use feature map i as the normal-cell map instead of the automatic choice')
    .option('--erosions <n>', 'erosions of the binarised normal-cell map (paper: 1; auto: 1, then 0 if M2 finds too few events)', String(METHOD_DEFAULTS.cleaning.erosions))
    .option(
      '--min-area <px>',
      `drop normal-cell map components under this many pixels (paper: 0; auto: 0, ${mapSelectionDefaults.minArea} without erosion)`,
      String(METHOD_DEFAULTS.cleaning.minArea),
    )
    .option('--m2-runs <n>', 'M2 trainings from seeds seed, seed+1, ...; k is the median of theirs', String(METHOD_DEFAULTS.m2.runs))
    .option('--min-frames <n>', 'drop normal-cell map trajectories present in fewer frames (0: keep all, as the paper)', String(METHOD_DEFAULTS.cleaning.minFrames))
    .addOption(methodOptions.noFlatField())
    .addOption(methodOptions.seed())
    .addOption(methodOptions.channel())
    .option('--json', 'print stats.json instead of the summary')
    .action(async (video: string, options: AnalyzeOptions) => {
      const { stats, choice, outDir } = await analyzeVideo(video, options);
      process.stdout.write(options.json ? `${JSON.stringify(stats)}\n` : `${summaryText(stats, choice, outDir)}\n`);
      process.exitCode = exitCodes.OK;
    });
};
