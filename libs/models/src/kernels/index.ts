import '@tensorflow/tfjs-backend-wasm';
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { castConfig } from './wasm/cast';
import { concatConfig } from './wasm/concat';
import { convLstmCellConfig } from './wasm/conv-lstm-cell';
import { convLstmCellGradConfig } from './wasm/conv-lstm-cell-grad';
import { conv2DBackpropFilterConfig } from './wasm/conv2d-backprop-filter';
import { conv2DBackpropInputConfig } from './wasm/conv2d-backprop-input';
import { depthwiseConv2dBackpropFilterConfig } from './wasm/depthwise-conv2d-backprop-filter';
import { depthwiseConv2dBackpropInputConfig } from './wasm/depthwise-conv2d-backprop-input';
import { identityConfig } from './wasm/identity';
import { sliceConfig } from './wasm/slice';
import { splitVConfig } from './wasm/split-v';
import { sumConfig } from './wasm/sum';
import { tanhConfig } from './wasm/tanh';
import { unpackConfig } from './wasm/unpack';
import { unsortedSegmentSumConfig } from './wasm/unsorted-segment-sum';

/**
 * The project's wasm kernels: gradients @tensorflow/tfjs-backend-wasm 4.22 lacks, and faster
 * replacements for slow built-in ones (each file says what it measured).
 */
export const wasmKernelConfigs: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  unsortedSegmentSumConfig,
  sliceConfig,
  splitVConfig,
  unpackConfig,
  concatConfig,
  tanhConfig,
  identityConfig,
  castConfig,
  depthwiseConv2dBackpropFilterConfig,
  depthwiseConv2dBackpropInputConfig,
  sumConfig,
  convLstmCellGradConfig,
  convLstmCellConfig,
];

/**
 * Registers `wasmKernelConfigs` for the 'wasm' backend, replacing any built-in kernel of the
 * same name. Safe to call any number of times; returns the names it (re)registered this call.
 * Kernels are looked up at each call, so this works before or after the backend is set.
 */
export function registerWasmKernels(): string[] {
  const changed: string[] = [];
  for (const config of wasmKernelConfigs) {
    const current = getKernel(config.kernelName, config.backendName);
    if (current === config) {
      continue;
    }
    if (current !== undefined) {
      unregisterKernel(config.kernelName, config.backendName);
    }
    registerKernel(config);
    changed.push(config.kernelName);
  }
  return changed;
}
