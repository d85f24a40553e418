import type { ProgressSink, Rng } from '@mitosis/core';
import { InvalidInputError, createRng, silentProgress } from '@mitosis/core';
import type { M2Model, M2Options } from '@mitosis/models';
import { createM2 } from '@mitosis/models';
import type { Components, Volume } from '@mitosis/volume';
import { applyAugmentation, connectedComponents, cropVolume } from '@mitosis/volume';
import { annealedRate, checkAnnealFrom, randomAugmentation, randomCrop, stackSequences } from './sampling';

/**
 * Trajectories (SPEC step 3, paper III.B): the 2D components of y_t linked across consecutive
 * frames where they overlap, so each 3D region follows one cell through time.
 */
export function linkTrajectories(normalCellMap: Volume<Uint8Array>): Components {
  return connectedComponents(normalCellMap, { connectivity: 'overlap-4' });
}

export interface ArtificialEventOptions {
  /** Probability that a trajectory in the window loses a part. Default 1: every one, the most signal per update. */
  readonly fraction?: number;
  /** Shortest removed part, frames. Default 2. */
  readonly minLength?: number;
  /**
   * Longest removed part, frames. Default 16: longer than most real events, so M2 learns to keep
   * predicting an absent cell until it reappears rather than for a fixed time, and the lengths it
   * measures on real maps follow the data, not this option.
   */
  readonly maxLength?: number;
  /**
   * Only trajectories present in at least this many frames of the window lose a part (default
   * 2: any that has a frame to show before the removal). Specks that flicker in and out of y for
   * a frame or two are not cells whose events M2 could learn.
   */
  readonly minTrajectoryFrames?: number;
}

/**
 * Artificial events (SPEC step 4, paper Fig. 3): random temporal parts of random trajectories are
 * removed from the map; what is removed is the event label e, what remains the context c. The
 * removed part starts after the trajectory's first frame in the window, so the context shows the
 * cell before it vanishes, as in a real event; it may run to the trajectory's end (a cell that dies
 * or leaves). (Keeping it strictly inside, so the cell always returns, gave much shorter predicted
 * events on our synthetic videos: 1-2 frames against simulated 6-8.)
 */
export function makeArtificialEvents(
  map: Volume<Uint8Array>,
  trajectories: Volume<Int32Array>,
  rng: Rng,
  options: ArtificialEventOptions = {},
): { context: Volume<Uint8Array>; events: Volume<Uint8Array> } {
  const fraction = options.fraction ?? 1;
  const minLength = options.minLength ?? 2;
  const maxLength = options.maxLength ?? 16;
  const minTrajectoryFrames = Math.max(2, options.minTrajectoryFrames ?? 2);
  if (minLength < 1 || maxLength < minLength) throw new InvalidInputError(`artificial event lengths ${minLength}..${maxLength} are not a range`);
  const { frames, height, width } = map;
  const plane = height * width;
  // Temporal extent of every trajectory inside this window.
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  for (let t = 0; t < frames; t++) {
    for (let i = t * plane; i < (t + 1) * plane; i++) {
      const label = trajectories.data[i];
      if (label === 0 || map.data[i] === 0) continue;
      if (!first.has(label)) first.set(label, t);
      last.set(label, t);
    }
  }
  const removeFrom = new Map<number, number>();
  const removeTo = new Map<number, number>();
  for (const [label, t0] of [...first.entries()].sort((a, b) => a[0] - b[0])) {
    const t1 = last.get(label) ?? t0;
    if (t1 - t0 + 1 < minTrajectoryFrames || rng.next() >= fraction) continue;
    const start = t0 + 1 + rng.int(t1 - t0);
    const length = minLength + rng.int(maxLength - minLength + 1);
    removeFrom.set(label, start);
    removeTo.set(label, Math.min(t1, start + length - 1));
  }
  const context = new Uint8Array(map.data.length);
  const events = new Uint8Array(map.data.length);
  for (let t = 0; t < frames; t++) {
    for (let i = t * plane; i < (t + 1) * plane; i++) {
      if (map.data[i] === 0) continue;
      const label = trajectories.data[i];
      const from = removeFrom.get(label);
      if (from !== undefined && t >= from && t <= (removeTo.get(label) ?? -1)) events[i] = 1;
      else context[i] = 1;
    }
  }
  return { context: { ...map, data: context }, events: { ...map, data: events } };
}

export interface EventModelTrainingOptions {
  /** RMSProp updates. Default 300. */
  readonly iterations?: number;
  /** Frames per training sequence. Default 16. */
  readonly sequenceLength?: number;
  /** Side of the square spatial crops. Default 64. */
  readonly crop?: number;
  /** Sequences per update. Default 2. */
  readonly batch?: number;
  /**
   * Pixels along each crop edge left out of M2's loss (default 0, as the paper, which trains on
   * whole frames). Cells that move out of a crop vanish from it with no event label; on 48-px
   * crops about half the cells sit near an edge, and M2 learnt that a vanished cell is as often
   * no event, its e' falling under 0.5 four frames after a cell left whatever the event lasted.
   */
  readonly lossMargin?: number;
  /**
   * Fraction of the updates after which the learning rate decays linearly to 2% of
   * model.optimizer.learningRate at the last update (annealedRate; default 0.5, as M3; 1 =
   * constant, the paper's). At a constant rate, wherever the last noisy updates left M2 decided
   * the event lengths (figures in docs/method-choices.md).
   */
  readonly annealFrom?: number;
  readonly seed?: number;
  readonly artificialEvents?: ArtificialEventOptions;
  readonly model?: M2Options;
  readonly onProgress?: ProgressSink;
}

/**
 * M2 training (SPEC step 5): each update draws random windows of the normal-cell map, removes
 * random parts of random trajectories, augments, and teaches M2 to predict the removed parts from
 * what remains.
 */
export function trainEventModel(normalCellMap: Volume<Uint8Array>, options: EventModelTrainingOptions = {}): { model: M2Model; losses: number[] } {
  const iterations = options.iterations ?? 300;
  const seed = options.seed ?? 1;
  const batch = options.batch ?? 2;
  const crop = options.crop ?? 64;
  const sequenceLength = Math.min(options.sequenceLength ?? 16, normalCellMap.frames);
  if (normalCellMap.frames < 2) throw new InvalidInputError('M2 needs at least 2 frames of normal-cell map');
  const annealFrom = checkAnnealFrom(options.annealFrom ?? 0.5);
  const progress = options.onProgress ?? silentProgress;
  const rng = createRng(seed);
  const model = createM2({ seed, ...options.model });
  const baseRate = model.config.optimizer.learningRate;
  const trajectories = linkTrajectories(normalCellMap).labels;
  const losses: number[] = [];
  try {
    for (let iteration = 0; iteration < iterations; iteration++) {
      model.setLearningRate(annealedRate(baseRate, iteration, iterations, annealFrom));
      const contexts: Volume<Uint8Array>[] = [];
      const events: Volume<Uint8Array>[] = [];
      const box = { frames: sequenceLength, height: crop, width: crop };
      const square = Math.min(crop, normalCellMap.height) === Math.min(crop, normalCellMap.width);
      const augmentation = randomAugmentation(rng, square);
      for (let b = 0; b < batch; b++) {
        const window = randomCrop(rng, normalCellMap, box);
        const sample = makeArtificialEvents(cropVolume(normalCellMap, window), cropVolume(trajectories, window), rng, options.artificialEvents);
        contexts.push(applyAugmentation(sample.context, augmentation));
        events.push(applyAugmentation(sample.events, augmentation));
      }
      const c = stackSequences(contexts);
      const e = stackSequences(events);
      try {
        losses.push(model.trainStep(c, e, options.lossMargin ?? 0));
      } finally {
        c.dispose();
        e.dispose();
      }
      progress({ step: 'm2.train', done: iteration + 1, total: iterations, detail: `loss ${losses[losses.length - 1]?.toFixed(4)}` });
    }
  } catch (error: unknown) {
    model.dispose();
    throw error;
  }
  return { model, losses };
}

export interface CellEventInferenceOptions {
  /**
   * 'both' (default) runs M2 over the sequence forwards and over the time-reversed sequence, and
   * keeps the larger of the two predictions at each voxel; 'forward' is the paper's single pass.
   * Why: a forward ConvLSTM knows when a cell left the map but not when it will come back, so its
   * e' fades after a few frames whatever the event's real length; read backwards, the same model
   * knows when the cell came back. Artificial events are removed from the middle of trajectories,
   * so the training data look alike in both directions, and the union of the two passes covers
   * the whole absence, which is the length Table I measures.
   */
  readonly directions?: 'both' | 'forward';
  /**
   * Frames per inference window (default 24; 0 = the whole sequence in one pass). M2 trains on
   * short sequences (16 frames by default) and its ConvLSTM state drifts into blobs that persist
   * when run far longer (figures in docs/method-choices.md). So the sequence is read in windows overlapping by half, and each frame
   * takes its prediction from the earliest window holding it, which gives it between window/2 and
   * window-1 frames of history (all there is in the first window).
   */
  readonly window?: number;
  /**
   * How the two passes' e' meet at a voxel (directions 'both'): 'noisy-or' (default),
   * 1 - (1 - forward)(1 - backward), or 'max'. Each pass alone knows one end of an absence (when
   * the cell left, or when it came back) and its belief fades with the distance from that end, so
   * in the middle of a longer event both passes are unsure although together they bracket it;
   * read as two pieces of evidence, noisy-or keeps that middle above 0.5 where max splits the
   * event in two (figures in docs/method-choices.md).
   */
  readonly combine?: 'noisy-or' | 'max';
  readonly onProgress?: ProgressSink;
}

/**
 * Start frames of the inference windows over `frames` frames: every `window / 2`, the last one
 * flush with the end, and for each frame the window it takes its prediction from.
 */
export function inferenceWindows(frames: number, window: number): { starts: number[]; owner: number[] } {
  if (window <= 0 || window >= frames) return { starts: [0], owner: new Array<number>(frames).fill(0) };
  if (window < 2) throw new InvalidInputError(`an M2 inference window of ${window} frame is too short (at least 2)`);
  const stride = Math.floor(window / 2);
  const starts: number[] = [];
  for (let s = 0; s + window < frames; s += stride) starts.push(s);
  starts.push(frames - window);
  const owner = new Array<number>(frames);
  for (let t = 0; t < frames; t++) owner[t] = starts.findIndex((s) => t < s + window);
  return { starts, owner };
}

function reverseFrames<T extends Uint8Array | Float32Array>(volume: Volume<T>): Volume<T> {
  const plane = volume.height * volume.width;
  const data = volume.data.slice() as T;
  for (let t = 0; t < volume.frames; t++) data.set(volume.data.subarray(t * plane, (t + 1) * plane), (volume.frames - 1 - t) * plane);
  return { ...volume, data };
}

function predictWindow(model: M2Model, maps: Volume<Uint8Array>): Float32Array {
  const input = stackSequences([maps]);
  try {
    const output = model.predict(input);
    try {
      return output.dataSync() as Float32Array;
    } finally {
      output.dispose();
    }
  } finally {
    input.dispose();
  }
}

function predictOnce(model: M2Model, normalCellMap: Volume<Uint8Array>, window: number): Volume<Float32Array> {
  const { frames, height, width } = normalCellMap;
  const plane = height * width;
  const { starts, owner } = inferenceWindows(frames, window);
  const data = new Float32Array(normalCellMap.data.length);
  starts.forEach((start, w) => {
    const length = Math.min(frames - start, window > 0 ? window : frames);
    const box = { t0: start, frames: length, y0: 0, height, x0: 0, width };
    const predicted = predictWindow(model, cropVolume(normalCellMap, box));
    for (let t = start; t < start + length; t++) {
      if (owner[t] === w) data.set(predicted.subarray((t - start) * plane, (t - start + 1) * plane), t * plane);
    }
  });
  return { data, frames, height, width };
}

/**
 * M2 inference (SPEC step 5): the real normal-cell map sequence goes in, e' comes out, marking
 * where and when cells vanish from the map.
 */
export function predictCellEvents(model: M2Model, normalCellMap: Volume<Uint8Array>, options: CellEventInferenceOptions = {}): Volume<Float32Array> {
  const progress = options.onProgress ?? silentProgress;
  const passes = options.directions === 'forward' ? 1 : 2;
  progress({ step: 'm2.infer', done: 0, total: passes });
  const window = options.window ?? 24;
  const forward = predictOnce(model, normalCellMap, window);
  progress({ step: 'm2.infer', done: 1, total: passes });
  if (passes === 1) return forward;
  const backward = reverseFrames(predictOnce(model, reverseFrames(normalCellMap), window));
  const noisyOr = (options.combine ?? 'noisy-or') === 'noisy-or';
  for (let i = 0; i < forward.data.length; i++) {
    const f = forward.data[i] ?? 0;
    const b = backward.data[i] ?? 0;
    forward.data[i] = noisyOr ? 1 - (1 - f) * (1 - b) : Math.max(f, b);
  }
  progress({ step: 'm2.infer', done: 2, total: passes });
  return forward;
}
