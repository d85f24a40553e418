import * as tf from '@tensorflow/tfjs';
import { createRng } from '@mitosis/core';
import { initBackend } from '../../backend/init-backend';
import { setSimdKernelsEnabled } from '../wasm/simd/simd-kernels';

/**
 * Spec helpers: run the same tfjs code on the cpu backend (the reference) and on wasm with the
 * project's kernels, and compare. Not exported from the library.
 */
export type CompareBackend = 'cpu' | 'wasm';

/**
 * Switches tfjs to a backend for a spec: wasm through the project's `initBackend` (which
 * registers the gradient kernels training needs there), cpu directly, without its console advert.
 *
 * wasm runs single-threaded here. Each spec file starts a wasm module of its own in a jest worker
 * process that lives for many files, and a threaded module's pool of 8 pthread workers is never
 * torn down; twice in CI the start of one more pool, in a file that had run on cpu first, never
 * finished. The threaded build is specified where it is used, in fresh processes
 * (wasm-threads.spec) and by init-backend.spec's default start; XNNPACK's split of the work over
 * threads changes sums by under 1e-5 there.
 */
export async function useBackend(name: CompareBackend): Promise<void> {
  if (name === 'wasm') {
    await initBackend({ preferred: 'wasm', threads: 1, log: () => undefined });
    return;
  }
  await tf.setBackend('cpu');
  // tfjs-backend-cpu greets its first write in Node with an advert for tfjs-node; silence it here.
  (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
}

/** Runs `body` on one backend and returns every tensor it yields as plain arrays. */
export async function runOn(name: CompareBackend, body: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(name);
  const out = tf.tidy(body);
  const tensors = Array.isArray(out) ? out : [out];
  const values = tensors.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(tensors);
  return values;
}

/** Seeded uniform values in [lo, hi), so a failing case reproduces. */
export function randomValues(seed: number, size: number, lo = -1, hi = 1): Float32Array {
  const rng = createRng(seed);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    values[i] = rng.uniform(lo, hi);
  }
  return values;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new Error(`length ${a.length} vs ${b.length}`);
  }
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return worst;
}

/** Tensors the engine tracks and buffers the wasm heap holds: both must not grow per call. */
export function liveCounts(): { tensors: number; dataIds: number } {
  return { tensors: tf.memory().numTensors, dataIds: tf.engine().backend.numDataIds() };
}

/** Runs `body` with the project's SIMD module off, so kernels take their JS loops. */
export async function withoutSimd<T>(body: () => Promise<T>): Promise<T> {
  const was = setSimdKernelsEnabled(false);
  try {
    return await body();
  } finally {
    setSimdKernelsEnabled(was);
  }
}
