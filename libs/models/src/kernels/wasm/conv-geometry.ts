import { backend_util } from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

/** What our stride-1 NHWC gradient kernels need to know about one convolution. */
export interface Stride1Conv {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

/**
 * Resolves the padding of a stride-1, dilation-1 NHWC convolution (or depthwise convolution, whose
 * outChannels is then channels x multiplier) with tfjs's own rules (so
 * 'same' splits odd padding exactly as the forward Conv2D does) and rejects anything else,
 * naming the kernel and the unsupported attribute.
 */
export function stride1Conv(
  kernelName: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: [number, number] | number,
  pad: Pad,
  dataFormat: 'NHWC' | 'NCHW',
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise = false,
  dilations: [number, number] | number = 1,
): Stride1Conv {
  if (dataFormat !== 'NHWC') {
    throw new InvalidInputError(`${kernelName} on wasm: dataFormat ${dataFormat} is not supported (NHWC only)`);
  }
  const [strideHeight, strideWidth] = typeof strides === 'number' ? [strides, strides] : strides;
  if (strideHeight !== 1 || strideWidth !== 1) {
    throw new InvalidInputError(`${kernelName} on wasm: strides ${strideHeight}x${strideWidth} are not supported (stride 1 only)`);
  }
  const [dilationHeight, dilationWidth] = typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (dilationHeight !== 1 || dilationWidth !== 1) {
    throw new InvalidInputError(`${kernelName} on wasm: dilations ${dilationHeight}x${dilationWidth} are not supported (dilation 1 only)`);
  }
  if (xShape.length !== 4 || filterShape.length !== 4) {
    throw new InvalidInputError(`${kernelName} on wasm: expected a rank-4 input and filter, got [${xShape.join(',')}] and [${filterShape.join(',')}]`);
  }
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    1,
    1,
    pad,
    dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    padTop: info.padInfo.top,
    padBottom: info.padInfo.bottom,
    padLeft: info.padInfo.left,
    padRight: info.padInfo.right,
  };
}

export function requireFloat32(kernelName: string, name: string, t: TensorInfo): void {
  if (t.dtype !== 'float32') {
    throw new InvalidInputError(`${kernelName} on wasm: ${name} must be float32, got ${t.dtype}`);
  }
}

export function requireShape(kernelName: string, name: string, t: TensorInfo, expected: readonly number[]): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new InvalidInputError(`${kernelName} on wasm: ${name} has shape [${t.shape.join(',')}], expected [${expected.join(',')}]`);
  }
}
