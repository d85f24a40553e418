import * as tf from '@tensorflow/tfjs';
import type { ProgressSink } from '@mitosis/core';
import { InvalidInputError, PreconditionError, createRng, silentProgress } from '@mitosis/core';
import type { M3Model, M3Options } from '@mitosis/models';
import { createM3, predictTiled } from '@mitosis/models';
import type { MitosisPoint } from '@mitosis/scoring';
import { toOriginalPixels } from '@mitosis/video';
import type { Volume } from '@mitosis/volume';
import { applyAugmentation, connectedComponents, cropVolume } from '@mitosis/volume';
import type { SequenceGrid } from './labels';
import { randomAugmentation, randomCrop, stackSequences } from './sampling';

export interface DetectorTrainingOptions {
  /** ConvLSTM sequence length: the recommended k of M2. */
  readonly k: number;
  /** RMSProp updates (paper: 6000). Default 600. */
  readonly iterations?: number;
  /** Side of the square training crops. Default 96. */
  readonly crop?: number;
  /** Windows per update. Default 2. */
  readonly batch?: number;
  /**
   * Share of crops placed around an annotated mitosis (default 0.5). The paper trains on whole
   * frames; with crops, mitoses would be too rare to learn from, so half the crops contain one.
   */
  readonly positiveFraction?: number;
  readonly seed?: number;
  readonly model?: M3Options;
  readonly onProgress?: ProgressSink;
}

/**
 * M3 training (SPEC step 7, paper III.F-H): windows of k consecutive annotated frames, cropped,
 * flipped and rotated, against the dilated mitosis labels; RMSProp 1e-3 / 0.9.
 */
export function trainDetector(
  frames: Volume<Float32Array>,
  labels: Volume<Uint8Array>,
  options: DetectorTrainingOptions,
): { model: M3Model; losses: number[] } {
  const { k } = options;
  if (!Number.isInteger(k) || k < 1) throw new InvalidInputError(`k must be a positive integer, got ${k}`);
  if (k > frames.frames) {
    throw new PreconditionError(`k = ${k} is larger than the ${frames.frames} training frames: annotate at least k frames (paper III.G)`);
  }
  if (labels.frames !== frames.frames || labels.height !== frames.height || labels.width !== frames.width) {
    throw new InvalidInputError('labels and training frames differ in shape');
  }
  const iterations = options.iterations ?? 600;
  const batch = options.batch ?? 2;
  const crop = options.crop ?? 96;
  const positiveFraction = options.positiveFraction ?? 0.5;
  const seed = options.seed ?? 1;
  const rng = createRng(seed);
  const progress = options.onProgress ?? silentProgress;
  const positives: number[] = [];
  for (let i = 0; i < labels.data.length; i++) if (labels.data[i]) positives.push(i);
  const plane = frames.height * frames.width;
  const model = createM3({ seed, ...options.model });
  const losses: number[] = [];
  try {
    for (let iteration = 0; iteration < iterations; iteration++) {
      const xs: Volume<Float32Array>[] = [];
      const ys: Volume<Uint8Array>[] = [];
      const size = { frames: k, height: crop, width: crop };
      const square = Math.min(crop, frames.height) === Math.min(crop, frames.width);
      for (let b = 0; b < batch; b++) {
        let focus: { t: number; y: number; x: number } | undefined;
        if (positives.length > 0 && rng.next() < positiveFraction) {
          const i = positives[rng.int(positives.length)] ?? 0;
          focus = { t: Math.floor(i / plane), y: Math.floor((i % plane) / frames.width), x: i % frames.width };
        }
        const box = randomCrop(rng, frames, size, focus);
        const augmentation = randomAugmentation(rng, square);
        xs.push(applyAugmentation(cropVolume(frames, box), augmentation));
        ys.push(applyAugmentation(cropVolume(labels, box), augmentation));
      }
      const x = stackSequences(xs);
      const y = stackSequences(ys);
      try {
        losses.push(model.trainStep(x, y));
      } finally {
        x.dispose();
        y.dispose();
      }
      progress({ step: 'm3.train', done: iteration + 1, total: iterations, detail: `loss ${losses[losses.length - 1]?.toFixed(4)}` });
    }
  } catch (error: unknown) {
    model.dispose();
    throw error;
  }
  return { model, losses };
}

export interface DetectionOptions {
  /** Temporal step between windows (paper III.G: 2). */
  readonly step?: number;
  /** Binarisation threshold of each window's output (paper: 0.5). */
  readonly threshold?: number;
  /**
   * How the windows' outputs are combined at a voxel: 'any' is the paper's (outputs binarised and
   * summed, non-zero is a detection); 'mean' binarises the mean probability over the windows that
   * saw the voxel, which is stricter.
   */
  readonly vote?: 'any' | 'mean';
  /** Groups smaller than this many voxels are dropped. Default 1 (keep all, as the paper). */
  readonly minVoxels?: number;
  /** Spatial tile of inference (the wasm heap is 4 GiB). Default 128. */
  readonly tile?: number;
  readonly onProgress?: ProgressSink;
}

export interface DetectionResult {
  /** Mean mitosis probability over the windows that covered each voxel. */
  readonly probability: Volume<Float32Array>;
  /** Binary 3D map of detections. */
  readonly detectionMap: Volume<Uint8Array>;
  /** One point per 3D group, in 1-based frames and original pixels, scored by its mean probability. */
  readonly detections: MitosisPoint[];
}

/** Window start frames: every `step` frames, plus a last one flush with the end so every frame is seen. */
export function windowStarts(frames: number, k: number, step: number): number[] {
  if (frames < k) return [];
  const starts: number[] = [];
  for (let s = 0; s + k <= frames; s += step) starts.push(s);
  if (starts[starts.length - 1] !== frames - k) starts.push(frames - k);
  return starts;
}

/**
 * Detection (SPEC step 8, paper III.G): windows of k frames slid with a temporal step of 2, the
 * outputs summed by their coordinates and binarised, each 3D group of positive voxels reported at
 * its centre of mass, scaled back to original pixels.
 */
export function detectMitoses(model: M3Model, frames: Volume<Float32Array>, grid: SequenceGrid, k: number, options: DetectionOptions = {}): DetectionResult {
  const step = options.step ?? 2;
  const threshold = options.threshold ?? 0.5;
  const vote = options.vote ?? 'any';
  const tile = options.tile ?? 128;
  const progress = options.onProgress ?? silentProgress;
  if (frames.frames < k) {
    throw new PreconditionError(`the detection range has ${frames.frames} frames, fewer than the model's k = ${k}`);
  }
  const { height, width } = frames;
  const plane = height * width;
  const sum = new Float32Array(frames.data.length);
  const votes = new Uint16Array(frames.data.length);
  const coverage = new Uint16Array(frames.frames);
  const starts = windowStarts(frames.frames, k, step);
  const margin = model.receptiveRadius(k);
  starts.forEach((start, w) => {
    const input = tf.tensor5d(frames.data.subarray(start * plane, (start + k) * plane), [1, k, height, width, 1]);
    try {
      const output = predictTiled((x) => model.predict(x), input, { tile, margin });
      try {
        const values = output.dataSync();
        for (let i = 0; i < values.length; i++) {
          const v = values[i] ?? 0;
          sum[start * plane + i] += v;
          if (v > threshold) votes[start * plane + i] += 1;
        }
      } finally {
        output.dispose();
      }
    } finally {
      input.dispose();
    }
    for (let t = start; t < start + k; t++) coverage[t] += 1;
    progress({ step: 'm3.detect', done: w + 1, total: starts.length });
  });
  const probability = new Float32Array(sum.length);
  const positive = new Uint8Array(sum.length);
  for (let t = 0; t < frames.frames; t++) {
    const n = Math.max(1, coverage[t] ?? 1);
    for (let i = t * plane; i < (t + 1) * plane; i++) {
      probability[i] = (sum[i] ?? 0) / n;
      positive[i] = vote === 'any' ? ((votes[i] ?? 0) > 0 ? 1 : 0) : (probability[i] ?? 0) > threshold ? 1 : 0;
    }
  }
  const probabilityVolume = { data: probability, frames: frames.frames, height, width };
  const detectionMap = { data: positive, frames: frames.frames, height, width };
  const { labels, components } = connectedComponents(detectionMap, { connectivity: '3d-26', weights: probabilityVolume });
  const scoreSum = new Float64Array(components.length + 1);
  for (let i = 0; i < labels.data.length; i++) {
    const label = labels.data[i] ?? 0;
    if (label > 0) scoreSum[label] += probability[i] ?? 0;
  }
  const detections: MitosisPoint[] = [];
  for (const c of components) {
    if (c.size < (options.minVoxels ?? 1)) continue;
    const original = toOriginalPixels({ x: c.centroid.x, y: c.centroid.y }, grid.factor);
    detections.push({
      frame: grid.firstFrame + Math.round(c.centroid.t),
      x: original.x,
      y: original.y,
      score: (scoreSum[c.label] ?? 0) / c.size,
    });
  }
  detections.sort((a, b) => a.frame - b.frame || a.y - b.y || a.x - b.x);
  return { probability: probabilityVolume, detectionMap, detections };
}
