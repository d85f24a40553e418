import * as tf from '@tensorflow/tfjs';
import type {} from './webassembly';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { instantiateSimdKernels, simdKernels, simdKernelsStatus } from './simd-kernels';
import type { SimdKernels } from './simd-kernels';
import { useBackend } from '../../testing/backends';

/**
 * The SIMD module on memories of its own (both kinds the backend may have), against float64
 * references: the activations' accuracy over their whole range, their special values, and the
 * row copy. The kernels built on it are specified against the cpu backend in their own files.
 */
const kinds = [
  ['unshared', (): WebAssembly.Memory => new WebAssembly.Memory({ initial: 64 })],
  ['shared', (): WebAssembly.Memory => new WebAssembly.Memory({ initial: 64, maximum: 1024, shared: true })],
] as const;

/** Runs one of the n-floats probes over `xs` and returns what it wrote. */
function probe(memory: WebAssembly.Memory, kernels: SimdKernels, name: 'exp_f32' | 'sigmoid_f32' | 'tanh_f32', xs: readonly number[]): Float32Array {
  const n = Math.ceil(xs.length / 16) * 16;
  const heap = new Float32Array(memory.buffer);
  heap.fill(0, 0, 2 * n);
  heap.set(xs, 0);
  kernels[name](0, 4 * n, n);
  return new Float32Array(memory.buffer).slice(n, n + xs.length);
}

function grid(lo: number, hi: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.fround(lo + ((hi - lo) * i) / (count - 1)));
}

describe.each(kinds)('SIMD module on %s memory', (_kind, makeMemory) => {
  const memory = makeMemory();
  const kernels = instantiateSimdKernels(memory);

  it('computes exp within 3e-7 relative over [-87, 88]', () => {
    const xs = grid(-87, 88, 40000);
    const ys = probe(memory, kernels, 'exp_f32', xs);
    let worst = 0;
    xs.forEach((x, i) => (worst = Math.max(worst, Math.abs((ys[i] as number) - Math.exp(x)) / Math.exp(x))));
    expect(worst).toBeLessThan(3e-7);
    expect(worst).toBeGreaterThan(0); // the float32 rounding shows: the probe really ran
  });

  it('computes the sigmoid within 2e-7 absolute and 3e-7 relative over [-80, 80]', () => {
    const xs = [...grid(-80, 80, 40000), ...grid(-1e-3, 1e-3, 1000)];
    const ys = probe(memory, kernels, 'sigmoid_f32', xs);
    let [abs, rel] = [0, 0];
    xs.forEach((x, i) => {
      const want = 1 / (1 + Math.exp(-x));
      const error = Math.abs((ys[i] as number) - want);
      abs = Math.max(abs, error);
      rel = Math.max(rel, error / want);
    });
    expect(abs).toBeLessThan(2e-7);
    expect(rel).toBeLessThan(3e-7);
  });

  it('computes tanh within 2e-7 absolute over [-20, 20], and to 1e-6 relative near 0', () => {
    const xs = grid(-20, 20, 40000);
    const ys = probe(memory, kernels, 'tanh_f32', xs);
    expect(Math.max(...xs.map((x, i) => Math.abs((ys[i] as number) - Math.tanh(x))))).toBeLessThan(2e-7);
    // Where |x| < 0.125 the odd polynomial keeps the relative error small, down to tiny x.
    const small = [...grid(-0.2, 0.2, 4001), 1e-6, -1e-6, 1e-20].filter((x) => x !== 0);
    const ts = probe(memory, kernels, 'tanh_f32', small);
    expect(Math.max(...small.map((x, i) => Math.abs((ts[i] as number) / Math.tanh(x) - 1)))).toBeLessThan(1e-6);
  });

  it('saturates at the ends and lets NaN through', () => {
    const xs = [Infinity, -Infinity, NaN, 1000, -1000, 0];
    const sig = probe(memory, kernels, 'sigmoid_f32', xs);
    expect(Array.from(sig.slice(0, 2))).toEqual([1, expect.closeTo(0, 30)]);
    expect(sig[2]).toBeNaN();
    expect(Array.from(sig.slice(3))).toEqual([1, expect.closeTo(0, 30), 0.5]);
    const th = probe(memory, kernels, 'tanh_f32', xs);
    expect(Array.from(th.slice(0, 2))).toEqual([1, -1]);
    expect(th[2]).toBeNaN();
    expect(Array.from(th.slice(3))).toEqual([1, -1, 0]);
    const ex = probe(memory, kernels, 'exp_f32', [0, 1, -1]);
    expect(Array.from(ex)).toEqual([1, expect.closeTo(Math.E, 6), expect.closeTo(1 / Math.E, 6)]);
  });

  it.each([
    [5, 1, 17, 3],
    [7, 16, 17, 0],
    [3, 6, 6, 2],
    [4, 31, 40, 9],
  ])('copies %i rows of %i elements into rows %i apart at column %i', (rows, run, stride, column) => {
    const heap = new Int32Array(memory.buffer);
    const src = 1000;
    const dst = 5000;
    for (let i = 0; i < rows * run; i++) heap[src + i] = i * 7 + 1;
    heap.fill(-1, dst, dst + rows * stride);
    kernels.copy_rows32(4 * (dst + column), stride, 4 * src, run, rows, run);
    const want = new Int32Array(rows * stride).fill(-1);
    for (let r = 0; r < rows; r++) for (let e = 0; e < run; e++) want[r * stride + column + e] = (r * run + e) * 7 + 1;
    expect(Array.from(heap.subarray(dst, dst + rows * stride))).toEqual(Array.from(want));
  });
});

describe('SIMD module on the wasm backend', () => {
  it('links to the backend heap', async () => {
    await useBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    expect(simdKernelsStatus(backend)).toBe('on');
    expect(simdKernels(backend)).toBe(simdKernels(backend));
  });
});
