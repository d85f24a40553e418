import '@tensorflow/tfjs-backend-wasm';
import { Conv2DBackpropInput, getKernel } from '@tensorflow/tfjs';
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { InvalidInputError } from '@mitosis/core';
import { requireFloat32, requireShape, stride1Conv } from './conv-geometry';
import { withWasmScope } from './kernel-scope';

/**
 * dx of a stride-1 NHWC convolution as one forward XNNPACK Conv2D of dy with the filter rotated
 * by 180 degrees and its channel axes swapped ([kh,kw,co,ci]), padded by (kernel - 1 - pad) on
 * each side. The built-in wasm kernel is a scalar C++ loop, about ten times slower (timings in
 * docs/history.md).
 *   B8 128x128 32<-64 3x3: 163   | 1999      B1 259x344  1<-16 5x5:  24 |   30
 * Strides above 1, or explicit padding wider than the kernel, go to the built-in kernel.
 */

/** The backend's own kernel, captured before ours replaces it, for the configurations we pass on. */
const builtin = getKernel(Conv2DBackpropInput, 'wasm');

function conv2DBackpropInput(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const [strideHeight, strideWidth] = typeof strides === 'number' ? [strides, strides] : strides;
  if (strideHeight !== 1 || strideWidth !== 1) {
    return passOn(args, `strides ${strideHeight}x${strideWidth}`);
  }
  requireFloat32(Conv2DBackpropInput, 'dy', dy);
  requireFloat32(Conv2DBackpropInput, 'filter', filter);
  const g = stride1Conv(Conv2DBackpropInput, inputShape, filter.shape, strides, pad, dataFormat, dimRoundingMode);
  requireShape(Conv2DBackpropInput, 'dy', dy, [g.batch, g.outHeight, g.outWidth, g.outChannels]);
  const padTop = g.filterHeight - 1 - g.padTop;
  const padBottom = g.filterHeight - 1 - g.padBottom;
  const padLeft = g.filterWidth - 1 - g.padLeft;
  const padRight = g.filterWidth - 1 - g.padRight;
  if (Math.min(padTop, padBottom, padLeft, padRight) < 0) {
    return passOn(args, 'padding wider than the filter');
  }

  return withWasmScope(backend, (scope) => {
    const rotated = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
    const flipped = scope.run('Transpose', { x: rotated }, { perm: [0, 1, 3, 2] });
    scope.release(rotated);
    return scope.run(
      'Conv2D',
      { x: dy, filter: flipped },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [padTop, padBottom],
          [padLeft, padRight],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
  });
}

function passOn(args: Parameters<KernelFunc>[0], what: string): TensorInfo | TensorInfo[] {
  if (builtin === undefined) {
    throw new InvalidInputError(`${Conv2DBackpropInput} on wasm: ${what} not supported and no built-in kernel to fall back on`);
  }
  return builtin.kernelFunc(args);
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  // The built-in kernel binds its C++ entry point in its setup; keep that working for fallbacks.
  setupFunc: builtin?.setupFunc,
  kernelFunc: conv2DBackpropInput as KernelFunc,
};
