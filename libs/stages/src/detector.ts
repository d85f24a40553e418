import * as tf from '@tensorflow/tfjs';
import type { ProgressSink } from '@mitosis/core';
import { InvalidInputError, PreconditionError, createRng, silentProgress } from '@mitosis/core';
import type { M3Model, M3Options } from '@mitosis/models';
import { createM3, predictTiled } from '@mitosis/models';
import type { MitosisPoint } from '@mitosis/scoring';
import { scoreAtThresholds } from '@mitosis/scoring';
import { toOriginalPixels } from '@mitosis/video';
import type { Volume } from '@mitosis/volume';
import { applyAugmentation, connectedComponents, cropVolume } from '@mitosis/volume';
import type { SequenceGrid } from './labels';
import { annealedRate, checkAnnealFrom, randomAugmentation, randomCrop, stackSequences } from './sampling';

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
  /**
   * Fraction of the updates after which the learning rate decays (annealedRate; default 0.5; 1 =
   * constant, the paper's). At a constant rate M3's output scale swung from one checkpoint to the
   * next (docs/method-choices.md).
   */
  readonly annealFrom?: number;
  readonly seed?: number;
  readonly model?: M3Options;
  /**
   * Detection threshold stored with the model: 'auto' (default) chooses it on the annotated
   * frames after training (chooseDetectionThreshold), a number fixes it (0.5 is the paper's).
   */
  readonly detectionThreshold?: number | 'auto';
  readonly onProgress?: ProgressSink;
}

/**
 * M3 training (SPEC step 7, paper III.F-H): windows of k consecutive annotated frames, cropped,
 * flipped and rotated, against the dilated mitosis labels; RMSProp 1e-3 / 0.9.
 */
export function trainDetector(frames: Volume<Float32Array>, labels: Volume<Uint8Array>, options: DetectorTrainingOptions): { model: M3Model; losses: number[] } {
  return trainDetectorOn([{ frames, labels }], options);
}

/** Annotated frames of one video, and their labels, for M3 trained on several videos. */
export interface TrainingSegment {
  readonly frames: Volume<Float32Array>;
  readonly labels: Volume<Uint8Array>;
}

/**
 * M3 trained on the annotated frames of several videos (a plate's annotated fields): every window
 * lies inside one segment, never across two videos. A crop around a mitosis is drawn among all
 * segments' mitoses; any other crop from a segment drawn in proportion to its frames. With one
 * segment the draws are those of trainDetector on it alone.
 */
export function trainDetectorOn(segments: readonly TrainingSegment[], options: DetectorTrainingOptions): { model: M3Model; losses: number[] } {
  const { k } = options;
  if (!Number.isInteger(k) || k < 1) throw new InvalidInputError(`k must be a positive integer, got ${k}`);
  if (segments.length === 0) throw new InvalidInputError('M3 needs annotated frames to train on');
  for (const [n, { frames, labels }] of segments.entries()) {
    const which = segments.length === 1 ? '' : ` of video ${n + 1}`;
    if (k > frames.frames) {
      throw new PreconditionError(`k = ${k} is larger than the ${frames.frames} training frames${which}: annotate at least k frames (paper III.G)`);
    }
    if (labels.frames !== frames.frames || labels.height !== frames.height || labels.width !== frames.width) {
      throw new InvalidInputError(`labels and training frames${which} differ in shape`);
    }
  }
  const totalFrames = segments.reduce((n, s) => n + s.frames.frames, 0);
  const iterations = options.iterations ?? 600;
  const batch = options.batch ?? 2;
  const crop = options.crop ?? 96;
  const positiveFraction = options.positiveFraction ?? 0.5;
  const annealFrom = checkAnnealFrom(options.annealFrom ?? 0.5);
  const seed = options.seed ?? 1;
  const rng = createRng(seed);
  const progress = options.onProgress ?? silentProgress;
  const positives: { segment: number; voxel: number }[] = [];
  for (const [segment, { labels }] of segments.entries()) for (let i = 0; i < labels.data.length; i++) if (labels.data[i]) positives.push({ segment, voxel: i });
  // A segment for a crop not placed on a mitosis, in proportion to its frames (no draw for one).
  const anySegment = (): number => {
    if (segments.length === 1) return 0;
    let at = rng.int(totalFrames);
    for (const [n, s] of segments.entries()) {
      if (at < s.frames.frames) return n;
      at -= s.frames.frames;
    }
    return segments.length - 1;
  };
  const model = createM3({ seed, ...options.model });
  const baseRate = model.config.optimizer.learningRate;
  const losses: number[] = [];
  try {
    for (let iteration = 0; iteration < iterations; iteration++) {
      model.setLearningRate(annealedRate(baseRate, iteration, iterations, annealFrom));
      const xs: Volume<Float32Array>[] = [];
      const ys: Volume<Uint8Array>[] = [];
      const size = { frames: k, height: crop, width: crop };
      for (let b = 0; b < batch; b++) {
        let focus: { t: number; y: number; x: number } | undefined;
        let segment: TrainingSegment | undefined;
        if (positives.length > 0 && rng.next() < positiveFraction) {
          const picked = positives[rng.int(positives.length)] ?? { segment: 0, voxel: 0 };
          segment = segments[picked.segment];
          const { height, width } = segment?.frames ?? { height: 1, width: 1 };
          const i = picked.voxel;
          focus = { t: Math.floor(i / (height * width)), y: Math.floor((i % (height * width)) / width), x: i % width };
        }
        const chosen = segment ?? segments[anySegment()];
        if (chosen === undefined) throw new InvalidInputError('no training segment to crop from');
        const { frames, labels } = chosen;
        const square = Math.min(crop, frames.height) === Math.min(crop, frames.width);
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
  /**
   * Groups whose centres lie within this many downscaled pixels and `mergeFrames` frames of each
   * other are one detection (0: every group is one, as the paper). Default 6, the span of one
   * training label less a voxel (an octahedron of radius 3): two separate mitoses this close would
   * have had touching labels, while one mitosis often leaves two groups, one per daughter, as they
   * move apart (on the demo video a third of the false detections were such second halves).
   */
  readonly mergeDistance?: number;
  /** Frames between group centres that may merge (default 3, the label's temporal radius). */
  readonly mergeFrames?: number;
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

/** M3's outputs over a sequence, combined over the sliding windows at each voxel. */
export interface WindowedProbability {
  /** Mean probability over the windows that covered each voxel. */
  readonly mean: Volume<Float32Array>;
  /** Largest probability any window gave each voxel: 'any' window above a threshold is this above it. */
  readonly max: Volume<Float32Array>;
}

/**
 * M3 over windows of k frames slid with a temporal step (paper III.G: 2; the last window flush
 * with the end), each window in spatial tiles, combined per voxel as mean and max over the
 * windows. Thresholds are applied afterwards (`detectionsFrom`), so one pass serves any threshold.
 */
export function windowedProbability(
  model: M3Model,
  frames: Volume<Float32Array>,
  k: number,
  options: Pick<DetectionOptions, 'step' | 'tile' | 'onProgress'> = {},
): WindowedProbability {
  const step = options.step ?? 2;
  const tile = options.tile ?? 128;
  const progress = options.onProgress ?? silentProgress;
  if (frames.frames < k) {
    throw new PreconditionError(`the detection range has ${frames.frames} frames, fewer than the model's k = ${k}`);
  }
  const { height, width } = frames;
  const plane = height * width;
  const sum = new Float32Array(frames.data.length);
  const max = new Float32Array(frames.data.length);
  const coverage = new Uint16Array(frames.frames);
  const starts = windowStarts(frames.frames, k, step);
  const margin = model.receptiveRadius(k);
  starts.forEach((start, w) => {
    const input = tf.tensor5d(frames.data.subarray(start * plane, (start + k) * plane), [1, k, height, width, 1]);
    try {
      const output = predictTiled((x) => model.predict(x), input, { tile, margin });
      try {
        const values = output.dataSync();
        const offset = start * plane;
        for (let i = 0; i < values.length; i++) {
          const v = values[i] ?? 0;
          sum[offset + i] += v;
          if (v > (max[offset + i] ?? 0)) max[offset + i] = v;
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
  for (let t = 0; t < frames.frames; t++) {
    const n = Math.max(1, coverage[t] ?? 1);
    for (let i = t * plane; i < (t + 1) * plane; i++) sum[i] = (sum[i] ?? 0) / n;
  }
  const shape = { frames: frames.frames, height, width };
  return { mean: { data: sum, ...shape }, max: { data: max, ...shape } };
}

/**
 * Binarises the combined outputs ('any': some window above the threshold, the paper's summed
 * binarised outputs; 'mean': the mean above it), takes each 26-connected 3D group of positive
 * voxels and reports its centre of mass in 1-based frames and original pixels, scored by the
 * group's mean probability.
 */
export function detectionsFrom(
  probability: WindowedProbability,
  grid: SequenceGrid,
  options: Pick<DetectionOptions, 'threshold' | 'vote' | 'minVoxels' | 'mergeDistance' | 'mergeFrames'> = {},
): Omit<DetectionResult, 'probability'> {
  const threshold = options.threshold ?? 0.5;
  const vote = options.vote ?? 'any';
  const { mean } = probability;
  const decisive = vote === 'any' ? probability.max.data : mean.data;
  const positive = new Uint8Array(decisive.length);
  for (let i = 0; i < decisive.length; i++) positive[i] = (decisive[i] ?? 0) > threshold ? 1 : 0;
  const detectionMap = { data: positive, frames: mean.frames, height: mean.height, width: mean.width };
  const { labels, components } = connectedComponents(detectionMap, { connectivity: '3d-26', weights: mean });
  const scoreSum = new Float64Array(components.length + 1);
  for (let i = 0; i < labels.data.length; i++) {
    const label = labels.data[i] ?? 0;
    if (label > 0) scoreSum[label] += mean.data[i] ?? 0;
  }
  const kept = components.filter((c) => c.size >= (options.minVoxels ?? 1));
  const groups = mergeNearbyGroups(
    kept.map((c) => ({ t: c.centroid.t, y: c.centroid.y, x: c.centroid.x, size: c.size, scoreSum: scoreSum[c.label] ?? 0 })),
    options.mergeDistance ?? 6,
    options.mergeFrames ?? 3,
  );
  const detections: MitosisPoint[] = groups.map((g) => {
    const original = toOriginalPixels({ x: g.x, y: g.y }, grid.factor);
    return { frame: grid.firstFrame + Math.round(g.t), x: original.x, y: original.y, score: g.scoreSum / g.size };
  });
  detections.sort((a, b) => a.frame - b.frame || a.y - b.y || a.x - b.x);
  return { detectionMap, detections };
}

interface Group {
  readonly t: number;
  readonly y: number;
  readonly x: number;
  readonly size: number;
  readonly scoreSum: number;
}

/**
 * Joins groups whose centres are within `distance` pixels and `frames` frames (single linkage,
 * union-find); a joined group sits at its parts' voxel-weighted centre with their pooled score.
 */
export function mergeNearbyGroups(groups: readonly Group[], distance: number, frames: number): Group[] {
  if (distance <= 0 || groups.length < 2) return [...groups];
  const parent = groups.map((_, i) => i);
  const root = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r] ?? r;
    return r;
  };
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      const a = groups[i] as Group;
      const b = groups[j] as Group;
      if (Math.abs(a.t - b.t) <= frames && Math.hypot(a.y - b.y, a.x - b.x) <= distance) parent[root(j)] = root(i);
    }
  }
  const joined = new Map<number, { t: number; y: number; x: number; size: number; scoreSum: number }>();
  groups.forEach((g, i) => {
    const r = root(i);
    const acc = joined.get(r) ?? { t: 0, y: 0, x: 0, size: 0, scoreSum: 0 };
    acc.t += g.t * g.size;
    acc.y += g.y * g.size;
    acc.x += g.x * g.size;
    acc.size += g.size;
    acc.scoreSum += g.scoreSum;
    joined.set(r, acc);
  });
  return [...joined.values()].map((g) => ({ t: g.t / g.size, y: g.y / g.size, x: g.x / g.size, size: g.size, scoreSum: g.scoreSum }));
}

/** How the detection threshold was chosen on the annotated frames (see chooseDetectionThreshold). */
export interface ThresholdChoice {
  /** The threshold detection applies to M3's outputs by default. */
  readonly threshold: number;
  /** 'annotated-frames': the best F1 on the training frames; 'paper': 0.5, too few annotations to choose; 'given': the caller's. */
  readonly chosenBy: 'annotated-frames' | 'paper' | 'given';
  /** How windows are combined with it (DetectionOptions.vote), chosen with the threshold unless fixed. */
  readonly vote: 'any' | 'mean';
  /** F1 at th = 1 and th = 3 of each candidate on the annotated frames (empty when not chosen). */
  readonly candidates: readonly { readonly threshold: number; readonly vote: 'any' | 'mean'; readonly f1Th1: number; readonly f1Th3: number }[];
}

/** Thresholds tried: 0.05, 0.10, ..., 0.95. */
export const thresholdCandidates: readonly number[] = Array.from({ length: 19 }, (_, i) => Math.round((i + 1) * 5) / 100);

/**
 * The operating point of detection, chosen where the annotations are: M3 runs over the annotated
 * frames it trained on, exactly as detection will run, and the threshold and vote rule with the
 * best F1 (the sum of F1 at th = 1 and th = 3; ties go to the threshold nearest 0.5, then to the
 * paper's 'any') are kept. A documented deviation from the paper's fixed 0.5 (III.G): after a few
 * hundred updates instead of 6000, M3 ranks mitoses well but its peak probabilities stay between
 * 0.3 and 0.6 and drift from one checkpoint to the next, so a fixed 0.5 found nothing on some runs
 * and most mitoses on others; and a look-alike that one window alone takes for a mitosis survives
 * 'any' but not the mean over the windows. `options.vote` fixes the rule. With fewer than
 * `minAnnotations` mitoses to learn from, the choice would be noise: 0.5 and 'any' are kept.
 */
export function chooseDetectionThreshold(
  model: M3Model,
  frames: Volume<Float32Array>,
  grid: SequenceGrid,
  k: number,
  annotations: readonly MitosisPoint[],
  options: Pick<DetectionOptions, 'step' | 'tile' | 'vote' | 'mergeDistance' | 'mergeFrames' | 'onProgress'> & { readonly minAnnotations?: number } = {},
): ThresholdChoice {
  const last = grid.firstFrame + grid.frames - 1;
  const inside = annotations.filter((p) => p.frame >= grid.firstFrame && p.frame <= last);
  const paper = { threshold: 0.5, chosenBy: 'paper', vote: options.vote ?? 'any' } as const;
  if (inside.length < (options.minAnnotations ?? 3) || frames.frames < k) return { ...paper, candidates: [] };
  const probability = windowedProbability(model, frames, k, options);
  const window = { first: grid.firstFrame, last };
  const votes = options.vote ? [options.vote] : (['any', 'mean'] as const);
  const candidates = votes.flatMap((vote) =>
    thresholdCandidates.map((threshold) => {
      const { detections } = detectionsFrom(probability, grid, { ...options, threshold, vote });
      const [th1, th3] = scoreAtThresholds(inside, detections, { ths: [1, 3], frames: window });
      return { threshold, vote, f1Th1: th1?.f1 ?? 0, f1Th3: th3?.f1 ?? 0 };
    }),
  );
  let best = candidates[0] ?? { threshold: 0.5, vote: paper.vote, f1Th1: 0, f1Th3: 0 };
  for (const c of candidates) {
    const gain = c.f1Th1 + c.f1Th3 - (best.f1Th1 + best.f1Th3);
    if (gain > 1e-9 || (Math.abs(gain) <= 1e-9 && Math.abs(c.threshold - 0.5) < Math.abs(best.threshold - 0.5))) best = c;
  }
  if (best.f1Th1 + best.f1Th3 === 0) return { ...paper, candidates };
  return { threshold: best.threshold, chosenBy: 'annotated-frames', vote: best.vote, candidates };
}

/**
 * Detection (SPEC step 8, paper III.G): windows of k frames slid with a temporal step of 2, the
 * outputs summed by their coordinates and binarised, each 3D group of positive voxels reported at
 * its centre of mass, scaled back to original pixels.
 */
export function detectMitoses(model: M3Model, frames: Volume<Float32Array>, grid: SequenceGrid, k: number, options: DetectionOptions = {}): DetectionResult {
  const probability = windowedProbability(model, frames, k, options);
  return { probability: probability.mean, ...detectionsFrom(probability, grid, options) };
}
