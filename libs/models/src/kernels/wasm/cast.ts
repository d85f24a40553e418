import '@tensorflow/tfjs-backend-wasm';
import { Cast, getKernel } from '@tensorflow/tfjs';
import type { CastAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { InvalidInputError } from '@mitosis/core';

/**
 * A cast to the dtype a tensor already has shares its buffer (see identity.ts) instead of copying
 * it: tfjs's Multiply gradient casts both of its results to float32 at every multiplication of a
 * backward pass. Real conversions keep the built-in kernel.
 */
const builtin = getKernel(Cast, 'wasm');

function cast(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { dtype } = args.attrs as unknown as CastAttrs;
  if (x.dtype === dtype) {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype };
  }
  if (builtin === undefined) {
    throw new InvalidInputError(`${Cast} on wasm: no built-in kernel for ${x.dtype} -> ${dtype}`);
  }
  return builtin.kernelFunc(args);
}

export const castConfig: KernelConfig = {
  kernelName: Cast,
  backendName: 'wasm',
  kernelFunc: cast as KernelFunc,
};
