import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exitCodes } from '@mitosis/core';
import { formatPointsCsv, scoreAtThresholds } from '@mitosis/scoring';
import { METHOD_DEFAULTS } from '@mitosis/stages';
import { generateSyntheticVideo, summarizeTruth, writeSyntheticVideo } from '@mitosis/synth';
import type { ComputeOptions } from '../runtime';
import { computeCommand, parseNonNegativeInt, parsePositiveInt } from '../runtime';
import { analyzeVideo, summaryText } from './analyze';
import { detectInVideo } from './detect';
import type { RegisterCommand } from './index';
import { trainModel } from './train';

interface DemoOptions extends ComputeOptions {
  readonly out: string;
  readonly seed: string;
  readonly frames: string;
  readonly unsupervised: string;
  readonly size: string;
  readonly factor: string;
  readonly m1Iterations: string;
  readonly m2Iterations: string;
  readonly m3Iterations: string;
  readonly maxAnnotated: string;
}

export interface DemoResult {
  readonly recommendedK: number;
  readonly simulatedP75: number;
  readonly annotatedFrames: { first: number; last: number };
  readonly f1: { th1: number; th3: number };
  readonly precision: { th1: number; th3: number };
  readonly recall: { th1: number; th3: number };
  readonly detections: number;
  readonly mitoses: number;
}

/**
 * The whole method on a synthetic video with known ground truth, with the paper's protocol in
 * small: M1 and M2 learn unsupervised on the first frames, M3 trains on the recommended number of
 * annotated frames at the end of that part, detection is scored on the frames after it.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const out = path.resolve(options.out);
  const seed = parseNonNegativeInt(options.seed, '--seed');
  const frames = parsePositiveInt(options.frames, '--frames');
  const unsupervised = parsePositiveInt(options.unsupervised, '--unsupervised');
  const maxAnnotated = parsePositiveInt(options.maxAnnotated, '--max-annotated');
  const [width, height] = options.size.split('x').map((v) => parsePositiveInt(v, '--size'));
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  await mkdir(out, { recursive: true });

  log(`1/4 synthesising a ${frames}-frame ${width}x${height} phase-contrast video (seed ${seed})`);
  const video = generateSyntheticVideo({ seed, frames, ...(width ? { width } : {}), ...(height ? { height } : {}), mitosisRate: 0.03 });
  const synthDir = path.join(out, 'synthetic');
  const { files } = await writeSyntheticVideo(synthDir, video);
  const truth = summarizeTruth(video);
  log(`    ${truth.counts.mitoses} mitoses, ${truth.counts.events} cell events; simulated event lengths p75 ${truth.durations.all.p75.toFixed(2)}`);

  log(`2/4 analyze: M1 and M2 on frames 1-${unsupervised}`);
  const common = {
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.quiet ? { quiet: true } : {}),
  };
  const analysis = await analyzeVideo(files.video, {
    ...common,
    out: path.join(out, 'analysis'),
    frames: `1:${unsupervised}`,
    factor: options.factor,
    m1Iterations: options.m1Iterations,
    m2Iterations: options.m2Iterations,
    crop: '64',
    // The demo's cells are small at factor 2: one erosion cuts their interiors into specks that
    // flicker in and out of y, and M2 learns to doubt every disappearance (docs/method-choices.md).
    erosions: '0',
    minArea: '4',
    minFrames: '0',
    // M2 within the demo's time budget: 400 updates on 2 crops of 48 px, its rare event voxels
    // weighted 5 (e' corrected for the weight), and no loss within 8 px of a crop's edge, where
    // cells that merely leave the crop would otherwise be learnt as events (docs/method-choices.md).
    m2Crop: '48',
    m2Batch: '2',
    m2PositiveWeight: '5',
    m2LossMargin: '8',
    sequenceLength: '16',
    m2Runs: String(METHOD_DEFAULTS.m2.runs),
    seed: String(seed),
  });
  log(summaryText(analysis.stats, analysis.choice, analysis.outDir).replace(/^/gm, '    '));

  const k = analysis.stats.recommendedK;
  // The upper end of the recommended budget (2.25 k; the paper's 18 frames for k = 8), within --max-annotated.
  const annotated = Math.max(k, Math.min(maxAnnotated, analysis.stats.annotationFramesRange[1]));
  const annotatedFrames = { first: unsupervised - annotated + 1, last: unsupervised };
  log(`3/4 train: M3 with k = ${k} on the ${annotated} annotated frames ${annotatedFrames.first}-${annotatedFrames.last}`);
  const modelDir = path.join(out, 'model');
  await trainModel(files.video, {
    ...common,
    annotations: files.mitoses,
    frames: `${annotatedFrames.first}:${annotatedFrames.last}`,
    k: String(k),
    out: modelDir,
    factor: options.factor,
    iterations: options.m3Iterations,
    // Small crops, more of them: the mitoses and their look-alikes are local (a cell is ~6 px
    // across at factor 2), and 4 crops of 32 cost half of 2 crops of 64.
    crop: '32',
    batch: '4',
    positiveWeight: '20',
    threshold: 'auto',
    seed: String(seed),
  });

  log(`4/4 detect on frames ${unsupervised + 1}-${frames} and score`);
  const detectionsFile = path.join(out, 'detections.csv');
  const detected = await detectInVideo(files.video, {
    ...common,
    model: modelDir,
    frames: `${unsupervised + 1}:${frames}`,
    out: detectionsFile,
    truth: files.mitoses,
  });
  const window = { first: unsupervised + 1, last: frames };
  const [th1, th3] = scoreAtThresholds(video.mitoses, detected.detections, { radius: 10, ths: [1, 3], frames: window });
  const result: DemoResult = {
    recommendedK: k,
    simulatedP75: truth.durations.all.p75,
    annotatedFrames,
    f1: { th1: th1?.f1 ?? 0, th3: th3?.f1 ?? 0 },
    precision: { th1: th1?.precision ?? 0, th3: th3?.precision ?? 0 },
    recall: { th1: th1?.recall ?? 0, th3: th3?.recall ?? 0 },
    detections: detected.detections.length,
    mitoses: video.mitoses.filter((m) => m.frame >= window.first && m.frame <= window.last).length,
  };
  await writeFile(path.join(out, 'demo.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(path.join(out, 'misses-and-false-detections.csv'), formatPointsCsv([...(th3?.misses ?? []), ...(th3?.falseDetections ?? [])]));
  log(
    [
      `k recommended ${k} (simulated event lengths p75 ${truth.durations.all.p75.toFixed(2)})`,
      `F1 ${result.f1.th1.toFixed(3)} at th=1, ${result.f1.th3.toFixed(3)} at th=3 (precision ${result.precision.th3.toFixed(3)}, recall ${result.recall.th3.toFixed(3)}; ${result.detections} detections, ${result.mitoses} mitoses in frames ${window.first}-${window.last})`,
      `everything is in ${out}: synthetic/, analysis/, model/, detections.csv, overlays/, demo.json`,
    ].join('\n'),
  );
  return result;
}

export const registerDemo: RegisterCommand = (program) => {
  computeCommand(program, 'demo')
    .description('the whole method end to end on a synthetic video: synth, analyze, train on the recommended frames, detect, score')
    .option('--out <dir>', 'folder for everything the demo writes', 'mitosis-demo')
    .option('--seed <n>', 'seed of the video and of every training', '1')
    .option('--frames <n>', 'frames of the synthetic video', '100')
    .option('--unsupervised <n>', 'frames 1..n for M1/M2 (M3 trains on the last annotated ones of them)', '60')
    .option('--size <WxH>', 'frame size of the synthetic video', '480x384')
    .option('--factor <n>', 'downscale factor', '2')
    .option('--m1-iterations <n>', 'M1 training updates', '600')
    .option('--m2-iterations <n>', 'M2 training updates', '400')
    .option('--m3-iterations <n>', 'M3 training updates', '800')
    .option('--max-annotated <n>', 'most frames to annotate', '18')
    .action(async (options: DemoOptions) => {
      await runDemo(options);
      process.exitCode = exitCodes.OK;
    });
};
