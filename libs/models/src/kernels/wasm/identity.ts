import { Identity } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * tf.clone without a copy: a second reference to the same buffer, as the cpu and webgl backends
 * do (tensors are immutable and no kernel writes into its inputs). The built-in wasm Identity
 * copies, and the engine clones every tensor a gradient keeps for the backward pass: ~450
 * full-size copies per training step of a bidirectional ConvLSTM over 8 frames.
 */
function identity(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identity as KernelFunc,
};
