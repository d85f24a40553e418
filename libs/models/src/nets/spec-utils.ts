import * as tf from '@tensorflow/tfjs';
import { createRng } from '@mitosis/core';

/** Helpers shared by the specs of nets/ and io/ (not exported from the library). */

export type { CompareBackend as SpecBackend } from '../kernels/testing/backends';
export { useBackend } from '../kernels/testing/backends';

/** Largest |a - b| over two tensors of the same shape. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] ?? Number.NaN);
}

/** A [b, t, h, w, 1] tensor of seeded uniform values in [lo, hi). */
export function randomSequence(seed: number, shape: [number, number, number, number, number], lo = 0, hi = 1): tf.Tensor5D {
  const rng = createRng(seed);
  const values = new Float32Array(shape.reduce((a, d) => a * d, 1));
  for (let i = 0; i < values.length; i++) values[i] = rng.uniform(lo, hi);
  return tf.tensor5d(values, shape);
}

/** Every parameter's values, by name, for comparing two models. */
export function weightValues(params: ReadonlyMap<string, tf.Variable>): Record<string, number[]> {
  return Object.fromEntries([...params].map(([name, v]) => [name, Array.from(v.dataSync())]));
}

/**
 * M3's toy problem: dim noisy frames in which a bright 3x3 blob appears at a random place in the
 * middle frames (all but the first and last); the label marks the blob where it is visible.
 */
export function blobWindows(seed: number, batch: number, frames: number, size: number): { windows: tf.Tensor5D; labels: tf.Tensor5D } {
  const rng = createRng(seed);
  const frameSize = size * size;
  const x = new Float32Array(batch * frames * frameSize);
  const y = new Float32Array(batch * frames * frameSize);
  for (let s = 0; s < batch; s++) {
    for (let i = 0; i < frames * frameSize; i++) x[s * frames * frameSize + i] = 0.3 + 0.1 * rng.next();
    const cy = 1 + rng.int(size - 2);
    const cx = 1 + rng.int(size - 2);
    for (let t = 1; t < frames - 1; t++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const i = ((s * frames + t) * size + cy + dy) * size + cx + dx;
          x[i] = 1;
          y[i] = 1;
        }
      }
    }
  }
  const shape: [number, number, number, number, number] = [batch, frames, size, size, 1];
  return { windows: tf.tensor5d(x, shape), labels: tf.tensor5d(y, shape) };
}

/** Mean of `values` where `mask` is 1 and where it is 0. */
export function meanOnOff(values: tf.Tensor, mask: tf.Tensor): { on: number; off: number } {
  const v = values.dataSync();
  const m = mask.dataSync();
  let on = 0;
  let nOn = 0;
  let off = 0;
  let nOff = 0;
  for (let i = 0; i < v.length; i++) {
    if (m[i] === 1) {
      on += v[i] ?? 0;
      nOn++;
    } else {
      off += v[i] ?? 0;
      nOff++;
    }
  }
  return { on: on / nOn, off: off / nOff };
}

/**
 * M1's toy frames [b, size, size, 1]: grey background with a few bright round "cells", each with
 * a dark rim (phase-contrast halo's opposite, enough to give the maps three kinds of pixel).
 */
export function cellFrames(seed: number, batch: number, size: number): tf.Tensor4D {
  const rng = createRng(seed);
  const x = new Float32Array(batch * size * size);
  for (let s = 0; s < batch; s++) {
    const frame = x.subarray(s * size * size, (s + 1) * size * size);
    frame.fill(0.4);
    for (let c = 0; c < 3; c++) {
      const cy = rng.uniform(3, size - 3);
      const cx = rng.uniform(3, size - 3);
      for (let y = 0; y < size; y++) {
        for (let xx = 0; xx < size; xx++) {
          const r = Math.hypot(y - cy, xx - cx);
          if (r < 2.5) frame[y * size + xx] = 0.9;
          else if (r < 3.5) frame[y * size + xx] = 0.05;
        }
      }
    }
    for (let i = 0; i < frame.length; i++) frame[i] = Math.min(1, Math.max(0, (frame[i] ?? 0) + rng.uniform(-0.03, 0.03)));
  }
  return tf.tensor4d(x, [batch, size, size, 1]);
}

/**
 * M2's toy problem, built the way SPEC step 4 builds its training data: a few 3x3 "cells" stay
 * put through t frames; one of them is removed from frame `gapFrom` on (the artificial event).
 * The context is what remains; the events are the removed voxels.
 */
export function eventSequences(seed: number, batch: number, frames: number, size: number, gapFrom: number): { context: tf.Tensor5D; events: tf.Tensor5D } {
  const rng = createRng(seed);
  const frameSize = size * size;
  const context = new Float32Array(batch * frames * frameSize);
  const events = new Float32Array(batch * frames * frameSize);
  for (let s = 0; s < batch; s++) {
    for (let cell = 0; cell < 3; cell++) {
      const cy = 1 + rng.int(size - 2);
      const cx = 1 + rng.int(size - 2);
      for (let t = 0; t < frames; t++) {
        const removed = cell === 0 && t >= gapFrom;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const i = ((s * frames + t) * size + cy + dy) * size + cx + dx;
            if (removed) events[i] = 1;
            else context[i] = 1;
          }
        }
      }
    }
    // Where a staying cell overlaps the removed one, the pixel is context, not event (e and c disjoint).
    for (let i = s * frames * frameSize; i < (s + 1) * frames * frameSize; i++) if (context[i] === 1) events[i] = 0;
  }
  const shape: [number, number, number, number, number] = [batch, frames, size, size, 1];
  return { context: tf.tensor5d(context, shape), events: tf.tensor5d(events, shape) };
}
