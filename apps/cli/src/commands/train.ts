import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLocalBlobStore, createMemoryBlobStore, exitCodes } from '@mitosis/core';
import { readPointsCsv } from '@mitosis/scoring';
import type { DetectorMeta } from '@mitosis/stages';
import { METHOD_DEFAULTS, WORK_LIMITS, checkWorkLimit, runTrainingStage } from '@mitosis/stages';
import { createProgressRenderer } from '../progress';
import type { ComputeOptions } from '../runtime';
import { computeCommand, methodOptions, parseFactor, ingestVideo, initCompute, parseNonNegativeInt, parsePositiveInt, parsePositiveNumber, parseThreshold } from '../runtime';
import type { RegisterCommand } from './index';

interface TrainOptions extends ComputeOptions {
  readonly annotations: string;
  readonly frames: string;
  readonly k: string;
  readonly out: string;
  readonly factor: string;
  readonly iterations: string;
  readonly crop: string;
  readonly batch: string;
  readonly positiveWeight: string;
  readonly threshold: string;
  readonly seed: string;
  /** false with --no-flat-field. */
  readonly flatField?: boolean;
  readonly channel?: string;
  /** Other videos' annotated frames to train on too (a plate's annotated fields); not a CLI flag. */
  readonly more?: readonly { readonly video: string; readonly annotations: string; readonly frames: string }[];
}

/** M3 training on the annotated frames of a video; the model folder gets model.json, weights.bin and training.json. */
export async function trainModel(videoPath: string, options: TrainOptions): Promise<DetectorMeta> {
  const k = checkWorkLimit(parsePositiveInt(options.k, '--k'), '--k', WORK_LIMITS.k);
  const factor = parseFactor(options.factor);
  const iterations = checkWorkLimit(parsePositiveInt(options.iterations, '--iterations'), '--iterations', WORK_LIMITS.m3Iterations);
  const crop = checkWorkLimit(parsePositiveInt(options.crop, '--crop'), '--crop', WORK_LIMITS.crop);
  const batch = checkWorkLimit(parsePositiveInt(options.batch, '--batch'), '--batch', WORK_LIMITS.batch);
  const seed = parseNonNegativeInt(options.seed, '--seed');
  const positiveWeight = parsePositiveNumber(options.positiveWeight, '--positive-weight');
  const detectionThreshold = options.threshold === 'auto' ? 'auto' : parseThreshold(options.threshold, '--threshold');
  // Annotations are read (and rejected when malformed) before any slow work starts.
  const annotations = await readPointsCsv(options.annotations);
  await initCompute(options);
  const scratch = createMemoryBlobStore();
  const {
    range,
    frameCount,
    meta: first,
  } = await ingestVideo(scratch, 'video', videoPath, {
    frames: options.frames,
    factor,
    flatField: options.flatField !== false,
    channel: options.channel,
  });
  // Every other video at the first one's factor: M3 learns one cell size.
  const more = [];
  for (const [i, other] of (options.more ?? []).entries()) {
    const points = await readPointsCsv(other.annotations);
    const key = `video-${i + 2}`;
    const ingested = await ingestVideo(scratch, key, other.video, { frames: other.frames, factor: first.factor, flatField: options.flatField !== false, channel: options.channel });
    more.push({ videoKey: key, range: ingested.range, annotations: points, annotationSource: other.annotations, videoFrames: { first: 1, last: ingested.frameCount } });
  }
  const outDir = path.resolve(options.out);
  await mkdir(outDir, { recursive: true });
  const renderer = createProgressRenderer(process.stderr, options.quiet);
  try {
    // Trained into memory first, then copied: a failed run never leaves half a model in --out.
    const meta = await runTrainingStage(
      scratch,
      { videoKey: 'video', range, annotations, annotationSource: options.annotations, modelPrefix: 'model', videoFrames: { first: 1, last: frameCount }, more },
      { k, iterations, crop, batch, seed, model: { positiveWeight }, detectionThreshold, onProgress: renderer.sink },
    );
    const target = createLocalBlobStore(outDir);
    for (const key of await scratch.list('model/')) await target.put(key.slice('model/'.length), await scratch.get(key));
    return meta;
  } finally {
    renderer.stop();
  }
}

const D = METHOD_DEFAULTS;

export const registerTrain: RegisterCommand = (program) => {
  computeCommand(program, 'train')
    .description('train the mitosis detector M3 on annotated frames')
    .argument('<video>', 'multi-page TIFF or folder of PNG/TIFF frames')
    .requiredOption('--annotations <csv>', 'annotated mitoses: frame,x,y (1-based frames, original pixels)')
    .requiredOption('--frames <A:B>', 'the annotated frames to train on (at least k of them)')
    .requiredOption('--k <n>', 'ConvLSTM sequence length (mitosis analyze recommends one)')
    .requiredOption('--out <dir>', 'model folder to write')
    .addOption(methodOptions.factor())
    .option('--iterations <n>', 'training updates (paper: 6000)', String(D.m3.iterations))
    .option('--crop <px>', 'side of the square training crops (paper: whole frames)', String(D.m3.crop))
    .option('--batch <n>', 'windows per update', String(D.m3.batch))
    .option(
      '--positive-weight <w>',
      'weight of mitosis voxels in the loss (paper: 1, with 6000 updates; a few hundred updates need the rare positives weighted)',
      String(D.m3.positiveWeight),
    )
    .option(
      '--threshold <p|auto>',
      "detection threshold stored with the model: 'auto' picks the best F1 on the annotated frames, a number fixes it (paper: 0.5)",
      String(D.m3.threshold),
    )
    .addOption(methodOptions.noFlatField())
    .addOption(methodOptions.seed())
    .addOption(methodOptions.channel())
    .action(async (video: string, options: TrainOptions) => {
      const meta = await trainModel(video, options);
      process.stdout.write(
        `trained M3 (k = ${meta.k}) on frames ${meta.trainingFrames.first}-${meta.trainingFrames.last} with ${meta.annotations} annotated mitoses; final loss ${meta.finalLoss?.toFixed(5)}; detection threshold ${meta.threshold}, vote ${meta.vote ?? 'any'} (${meta.thresholdChoice?.chosenBy === 'annotated-frames' ? 'best F1 on the annotated frames' : meta.thresholdChoice?.chosenBy === 'given' ? 'given' : "the paper's"}); model in ${path.resolve(options.out)}\n`,
      );
      await writeFile(path.join(path.resolve(options.out), 'README.txt'), 'M3 mitosis detector: model.json + weights.bin (tfjs weights), training.json (k, frames, factor).\n');
      process.exitCode = exitCodes.OK;
    });
};
