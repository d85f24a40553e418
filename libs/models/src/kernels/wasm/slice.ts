import '@tensorflow/tfjs-backend-wasm';
import { Slice, getKernel, slice_util, util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, SliceAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { copyBox, elementOffset, heapOf, isHeapDtype } from './heap-copy';

/**
 * Slice in place in the wasm heap. The built-in kernel first copies its whole input out of the
 * heap (`readSync`), so cutting the four gates out of a ConvLSTM pre-activation cost four full
 * copies plus a JS `subarray` per pixel: SplitV was the largest single kernel of an M3-like
 * training step (docs/history.md). Strings keep the
 * built-in kernel.
 */
const builtin = getKernel(Slice, 'wasm');

/** The box `begin`/`size` of x as a new dense tensor of `outShape` (same element count). */
export function sliceInHeap(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[], outShape: number[] = size): TensorInfo {
  const out = backend.makeOutput(outShape, x.dtype);
  if (util.sizeFromShape(size) === 0 || !isHeapDtype(x.dtype)) {
    return out;
  }
  const heap = heapOf(backend, x.dtype);
  copyBox(heap, elementOffset(backend, x), x.shape, begin, size, elementOffset(backend, out));
  return out;
}

function slice(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { begin, size } = args.attrs as unknown as SliceAttrs;
  if (!isHeapDtype(x.dtype) && builtin !== undefined) {
    return builtin.kernelFunc(args);
  }
  const [begin_, size_] = slice_util.parseSliceParams(x, begin, size);
  slice_util.assertParamsValid(x, begin_, size_);
  return sliceInHeap(backend, x, begin_, size_);
}

export const sliceConfig: KernelConfig = {
  kernelName: Slice,
  backendName: 'wasm',
  kernelFunc: slice as KernelFunc,
};
