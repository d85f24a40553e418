import '@tensorflow/tfjs-backend-wasm';
import { Unpack, getKernel } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo, UnpackAttrs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { isHeapDtype } from './heap-copy';
import { sliceInHeap } from './slice';

/**
 * tf.unstack as slices copied in place in the heap (see slice.ts): splitting a [batch, time, ...]
 * window into frames read the whole window once per frame with the built-in kernel.
 */
const builtin = getKernel(Unpack, 'wasm');

function unpack(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { value } = args.inputs as { value: TensorInfo };
  const { axis } = args.attrs as unknown as UnpackAttrs;
  if (!isHeapDtype(value.dtype) && builtin !== undefined) {
    return builtin.kernelFunc(args);
  }
  const rank = value.shape.length;
  const $axis = axis < 0 ? axis + rank : axis;
  const outShape = value.shape.filter((_, d) => d !== $axis);
  const size = [...value.shape];
  size[$axis] = 1;
  return Array.from({ length: value.shape[$axis] ?? 0 }, (_, i) => {
    const begin = new Array<number>(rank).fill(0);
    begin[$axis] = i;
    return sliceInHeap(backend, value, begin, size, outShape);
  });
}

export const unpackConfig: KernelConfig = {
  kernelName: Unpack,
  backendName: 'wasm',
  kernelFunc: unpack as KernelFunc,
};
