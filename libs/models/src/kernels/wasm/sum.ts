import '@tensorflow/tfjs-backend-wasm';
import { Sum, getKernel, util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, SumAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { elementOffset, heapOf } from './heap-copy';

/**
 * Sum over every axis but the last (a bias gradient: [b, h, w, c] -> [c]) as one pass over the
 * heap into float64 accumulators. The built-in kernel first transposes x to put the reduced axes
 * last (unblocked, a full copy) and then sums rows. An XNNPACK product ones[1, n] x x[n, c], used
 * here before, is fast only for an input it has seen: it packs x as the product's weights, and a
 * bias gradient is a fresh tensor every time. Measured on the shared 2-core AMD EPYC (2 threads,
 * fresh inputs, ms): [1,128,128,64] 13.2 -> 2.0, [8,128,128,16] 18.7 -> 8.7, [1,259,344,64] 119 ->
 * 22.5. Other axes, and non-float32 input, keep the built-in kernel.
 */
const builtin = getKernel(Sum, 'wasm');

function sum(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as SumAttrs;
  const rank = x.shape.length;
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
  const size = util.sizeFromShape(x.shape);
  if (!leading || x.dtype !== 'float32' || size === 0 || builtin === undefined) {
    if (builtin === undefined) throw new Error('the wasm backend has no built-in Sum kernel');
    return builtin.kernelFunc(args);
  }
  const channels = x.shape[rank - 1] ?? 1;
  const rows = size / channels;
  const out = backend.makeOutput(keepDims ? [...x.shape.slice(0, -1).map(() => 1), channels] : [channels], 'float32');
  // The view is taken after the allocation, which may have grown (moved) the heap.
  const heap = heapOf(backend, 'float32') as Float32Array;
  heap.set(sumRows(heap, elementOffset(backend, x), rows, channels), elementOffset(backend, out));
  return out;
}

/** Column sums of the row-major [rows, channels] matrix starting at heap index `at`. */
export function sumRows(heap: Float32Array, at: number, rows: number, channels: number): Float64Array {
  const sums = new Float64Array(channels);
  for (let r = 0, p = at; r < rows; r++) {
    for (let c = 0; c < channels; c++, p++) sums[c] += heap[p] as number;
  }
  return sums;
}

export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'wasm',
  // The built-in kernel binds its C++ entry point in its setup; keep that for the other cases.
  setupFunc: builtin?.setupFunc,
  kernelFunc: sum as KernelFunc,
};
