import { DepthwiseConv2dNativeBackpropFilter } from '@tensorflow/tfjs';
import type { DepthwiseConv2dNativeBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { requireFloat32, requireShape, stride1Conv } from './conv-geometry';
import { copyRun, elementOffset, heapOf } from './heap-copy';
import { withWasmScope } from './kernel-scope';
import { sliceInHeap } from './slice';

/**
 * dW[kh,kw,c,m] = sum over b,y,x of xPadded[b, y+kh, x+kw, c] * dy[b, y, x, c*M + m], the filter
 * gradient of a stride-1 depthwise convolution, missing from the wasm backend. One pass per
 * filter tap: the shifted x (copied in the heap), times dy broadcast over the multiplier
 * (XNNPACK Multiply), summed over the pixels by the backend's Sum.
 */
function depthwiseBackpropFilter(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const name = DepthwiseConv2dNativeBackpropFilter;
  requireFloat32(name, 'x', x);
  requireFloat32(name, 'dy', dy);
  const g = stride1Conv(name, x.shape, filterShape, strides, pad, 'NHWC', dimRoundingMode, true, dilations);
  requireShape(name, 'dy', dy, [g.batch, g.outHeight, g.outWidth, g.outChannels]);
  const multiplier = g.outChannels / g.inChannels;
  const tapSize = g.inChannels * multiplier;

  return withWasmScope(backend, (scope) => {
    const padded = scope.run(
      'PadV2',
      { x },
      {
        paddings: [
          [0, 0],
          [g.padTop, g.padBottom],
          [g.padLeft, g.padRight],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    const dyGrouped = scope.run('Reshape', { x: dy }, { shape: [g.batch, g.outHeight, g.outWidth, g.inChannels, multiplier] });
    const sums: TensorInfo[] = [];
    for (let kh = 0; kh < g.filterHeight; kh++) {
      for (let kw = 0; kw < g.filterWidth; kw++) {
        const box = [g.batch, g.outHeight, g.outWidth, g.inChannels];
        const shifted = scope.track(sliceInHeap(backend, padded, [0, kh, kw, 0], box, [...box, 1]));
        const product = scope.run('Multiply', { a: shifted, b: dyGrouped });
        scope.release(shifted);
        sums.push(scope.run('Sum', { x: product }, { axis: [0, 1, 2], keepDims: false }));
        scope.release(product);
      }
    }
    const out = scope.alloc([...filterShape]);
    const heap = heapOf(backend, 'float32');
    const to = elementOffset(backend, out);
    sums.forEach((tap, i) => copyRun(heap, to + i * tapSize, elementOffset(backend, tap), tapSize));
    return out;
  });
}

export const depthwiseConv2dBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as KernelFunc,
};
