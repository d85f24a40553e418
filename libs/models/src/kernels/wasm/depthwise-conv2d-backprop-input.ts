import { DepthwiseConv2dNativeBackpropInput } from '@tensorflow/tfjs';
import type { DepthwiseConv2dNativeBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { InvalidInputError } from '@mitosis/core';
import { requireFloat32, requireShape, stride1Conv } from './conv-geometry';
import { withWasmScope } from './kernel-scope';

/**
 * dx of a stride-1 depthwise convolution, missing from the wasm backend: the backend's own
 * (XNNPACK) DepthwiseConv2dNative of dy with the filter rotated by 180 degrees and padded by
 * (kernel - 1 - pad), every one of the channels x multiplier planes on its own; with a channel
 * multiplier m > 1 the m planes of each input channel are then summed.
 */
function depthwiseBackpropInput(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const name = DepthwiseConv2dNativeBackpropInput;
  requireFloat32(name, 'dy', dy);
  requireFloat32(name, 'filter', filter);
  const g = stride1Conv(name, inputShape, filter.shape, strides, pad, 'NHWC', dimRoundingMode, true, dilations);
  requireShape(name, 'dy', dy, [g.batch, g.outHeight, g.outWidth, g.outChannels]);
  const pads = [g.filterHeight - 1 - g.padTop, g.filterHeight - 1 - g.padBottom, g.filterWidth - 1 - g.padLeft, g.filterWidth - 1 - g.padRight];
  if (Math.min(...pads) < 0) {
    throw new InvalidInputError(`${name} on wasm: padding wider than the ${g.filterHeight}x${g.filterWidth} filter is not supported`);
  }
  const multiplier = g.outChannels / g.inChannels;
  return withWasmScope(backend, (scope) => {
    const rotated = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
    const planes = scope.run('Reshape', { x: rotated }, { shape: [g.filterHeight, g.filterWidth, g.outChannels, 1] });
    const perPlane = scope.run(
      'DepthwiseConv2dNative',
      { x: dy, filter: planes },
      {
        strides: [1, 1],
        dilations: [1, 1],
        pad: [
          [0, 0],
          [pads[0], pads[1]],
          [pads[2], pads[3]],
          [0, 0],
        ],
        dataFormat: 'NHWC',
      },
    );
    if (multiplier === 1) {
      return perPlane;
    }
    const grouped = scope.run('Reshape', { x: perPlane }, { shape: [g.batch, g.inHeight, g.inWidth, g.inChannels, multiplier] });
    return scope.run('Sum', { x: grouped }, { axis: [4], keepDims: false });
  });
}

export const depthwiseConv2dBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as KernelFunc,
};
