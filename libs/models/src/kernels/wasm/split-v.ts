import '@tensorflow/tfjs-backend-wasm';
import { SplitV, backend_util, getKernel, util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, SplitVAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { copyRun, elementOffset, heapOf, isHeapDtype } from './heap-copy';
import { withWasmScope } from './kernel-scope';
import { sliceInHeap } from './slice';

/**
 * tf.split without the built-in kernel's whole-input copy per output (see slice.ts). The
 * ConvLSTM cuts its gate pre-activations [.., 4h] into i, f, o, g at every step: equal parts with
 * short runs (h = 16 floats) go through one C++ Transpose [rows, parts, run] -> [parts, rows, run]
 * after which each output is one block, several times faster (docs/history.md). Other splits
 * are copied box by box in the heap.
 */
const builtin = getKernel(SplitV, 'wasm');

/** Runs shorter than this (elements) are faster to regroup with Transpose than to copy one by one. */
export const transposeBelow = 32;

function splitV(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { numOrSizeSplits, axis } = args.attrs as unknown as SplitVAttrs;
  if (!isHeapDtype(x.dtype) && builtin !== undefined) {
    return builtin.kernelFunc(args);
  }
  const $axis = util.parseAxisParam(axis, x.shape)[0];
  // prepareSplitSize fills a -1 entry in place: give it a copy, not the op's attribute.
  const sizes = backend_util.prepareSplitSize(x, Array.isArray(numOrSizeSplits) ? [...numOrSizeSplits] : numOrSizeSplits, $axis);
  const rows = util.sizeFromShape(x.shape.slice(0, $axis));
  const run = (sizes[0] ?? 0) * util.sizeFromShape(x.shape.slice($axis + 1));
  if (sizes.length > 1 && sizes.every((s) => s === sizes[0]) && rows > 1 && run > 0 && run < transposeBelow) {
    const partShape = [...x.shape];
    partShape[$axis] = sizes[0] ?? 0;
    return splitByTranspose(backend, x, sizes.length, rows, run, partShape);
  }
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((part) => {
    const size = [...x.shape];
    size[$axis] = part;
    const out = sliceInHeap(backend, x, [...begin], size);
    begin[$axis] += part;
    return out;
  });
}

function splitByTranspose(backend: BackendWasm, x: TensorInfo, parts: number, rows: number, run: number, partShape: number[]): TensorInfo[] {
  return withWasmScope(backend, (scope) => {
    const grouped = scope.run('Reshape', { x }, { shape: [rows, parts, run] });
    const moved = scope.run('Transpose', { x: grouped }, { perm: [1, 0, 2] });
    const outs = Array.from({ length: parts }, () => scope.alloc(partShape, x.dtype));
    const heap = heapOf(backend, x.dtype as 'float32' | 'int32' | 'bool');
    const block = rows * run;
    const from = elementOffset(backend, moved);
    outs.forEach((out, p) => copyRun(heap, elementOffset(backend, out), from + p * block, block));
    return outs;
  });
}

export const splitVConfig: KernelConfig = {
  kernelName: SplitV,
  backendName: 'wasm',
  kernelFunc: splitV as KernelFunc,
};
