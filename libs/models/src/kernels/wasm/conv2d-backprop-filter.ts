import { Conv2DBackpropFilter, util } from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { requireFloat32, requireShape, stride1Conv } from './conv-geometry';
import type { Stride1Conv } from './conv-geometry';
import { byteOffset, copyHeapRows, elementOffset, heapOf } from './heap-copy';
import { withWasmScope } from './kernel-scope';
import { simdHelper, simdKernels } from './simd/simd-kernels';
import type { SimdKernels } from './simd/simd-kernels';
import type { WasmKernelScope } from './kernel-scope';

/**
 * dW[kh,kw,ci,co] = sum over b,y,x of xPadded[b, y+kh, x+kw, ci] * dy[b, y, x, co], the filter
 * gradient of a stride-1 NHWC convolution, which @tensorflow/tfjs-backend-wasm 4.22 lacks.
 *
 * Where the output channels are a multiple of 4 (most layers of M1, M2 and M3; not the 1-map
 * read-outs) and the SIMD module links, it is the module's filter_grad (simd/wat.ts): x and dy
 * read where they lie, 2 input channels x 16 output channels accumulated in registers along each
 * output row, no im2col and no packing: faster than the im2col path below at every layer timed,
 * and its sums of row sums round less (timings in docs/history.md). On the threaded backend the
 * SIMD module's helper thread (simd/simd-helper.ts) takes half the input channels (4 or more).
 *
 * Otherwise: im2col + one XNNPACK matrix product per band of output pixels:
 *   colsT[(kh,kw,ci), p] (built by row copies from a channel-major padded x) times dy[p, co].
 * The backend's BatchMatMul only reaches XNNPACK for untransposed operands, and its Transpose
 * and Slice are unblocked / copy their whole input, so the layout work is done here by row
 * copies over the heap and one blocked transpose of x. The rows of one tap and image go in one
 * copyHeapRows (the SIMD module's row copy; a `copyWithin` per row where it is off). Bands of ~8k
 * pixels keep the product near the XNNPACK peak (a much longer inner dimension slows it) and
 * bound the im2col buffer whatever the image size. Most of its gap to the forward
 * convolution is XNNPACK packing each band's dy before the product; a forward
 * Conv2D over transposed tensors (x as [ci,h,w,b] images, dy as the [h,w,b,co] filter) was
 * slower still, XNNPACK then running an inner loop of only `batch` channels per filter tap.
 */

/**
 * Output pixels per matrix product: the inner length at which XNNPACK's product ran best here for
 * 25 to 400 taps (docs/history.md). Packing dy costs the same per element at any band length.
 */
export const bandPixels = 8192;

function conv2DBackpropFilter(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  requireFloat32(Conv2DBackpropFilter, 'x', x);
  requireFloat32(Conv2DBackpropFilter, 'dy', dy);
  const g = stride1Conv(Conv2DBackpropFilter, x.shape, filterShape, strides, pad, dataFormat, dimRoundingMode);
  requireShape(Conv2DBackpropFilter, 'dy', dy, [g.batch, g.outHeight, g.outWidth, g.outChannels]);

  const simd = simdKernels(backend);
  if (simd !== undefined && g.outChannels % 4 === 0) {
    return directFilterGradient(backend, simd, x, dy, g, filterShape);
  }
  return withWasmScope(backend, (scope) => {
    const padded = paddedChannelMajor(scope, x, g);
    const paddedHeight = g.inHeight + g.padTop + g.padBottom;
    const paddedWidth = g.inWidth + g.padLeft + g.padRight;
    const taps = g.filterHeight * g.filterWidth * g.inChannels;
    const imagePixels = g.outHeight * g.outWidth;
    // A band is either whole images (small frames) or a run of rows of one image (large ones).
    const imagesPerBand = Math.max(1, Math.floor(bandPixels / imagePixels));
    const rowsPerBand = imagesPerBand > 1 ? g.outHeight : Math.max(1, Math.min(g.outHeight, Math.floor(bandPixels / g.outWidth)));

    let sum: TensorInfo | undefined;
    for (let b0 = 0; b0 < g.batch; b0 += imagesPerBand) {
      const images = Math.min(imagesPerBand, g.batch - b0);
      for (let r0 = 0; r0 < g.outHeight; r0 += rowsPerBand) {
        const rows = Math.min(rowsPerBand, g.outHeight - r0);
        const pixels = images * rows * g.outWidth;
        const cols = scope.alloc([1, taps, pixels]);
        const dyBand = scope.alloc([1, pixels, g.outChannels]);
        // Views are taken after the allocations above, which may have grown the heap.
        const heap = scope.heapF32();
        const dyStart = scope.offsetOf(dy) + (b0 * g.outHeight + r0) * g.outWidth * g.outChannels;
        heap.copyWithin(scope.offsetOf(dyBand), dyStart, dyStart + pixels * g.outChannels);
        const xp = scope.offsetOf(padded);
        let dst = scope.offsetOf(cols);
        for (let kh = 0; kh < g.filterHeight; kh++) {
          for (let kw = 0; kw < g.filterWidth; kw++) {
            for (let ci = 0; ci < g.inChannels; ci++) {
              for (let b = b0; b < b0 + images; b++) {
                const src = xp + ((ci * g.batch + b) * paddedHeight + r0 + kh) * paddedWidth + kw;
                copyHeapRows(backend, 'float32', dst, g.outWidth, src, paddedWidth, rows, g.outWidth);
                dst += rows * g.outWidth;
              }
            }
          }
        }
        const part = scope.run('BatchMatMul', { a: cols, b: dyBand }, { transposeA: false, transposeB: false });
        scope.release(cols);
        scope.release(dyBand);
        sum = sum === undefined ? part : accumulate(scope, sum, part);
      }
    }
    if (sum === undefined) {
      // An empty batch: no pixel contributes.
      return scope.run('Fill', {}, { shape: [...filterShape], value: 0, dtype: 'float32' });
    }
    return scope.run('Reshape', { x: sum }, { shape: [...filterShape] });
  });
}

/**
 * The SIMD module's filter_grad, its input channels shared with the helper thread where there
 * is one (simd-helper.ts): the worker takes the channels from `split` on, in pairs.
 */
function directFilterGradient(backend: BackendWasm, simd: SimdKernels, x: TensorInfo, dy: TensorInfo, g: Stride1Conv, filterShape: readonly number[]): TensorInfo {
  const dw = backend.makeOutput([...filterShape], 'float32');
  const at = byteOffset(backend, dw);
  const first = elementOffset(backend, dw);
  heapOf(backend, 'float32').fill(0, first, first + util.sizeFromShape([...filterShape]));
  const { batch, inHeight, inWidth, inChannels, outChannels, filterHeight, filterWidth, padTop, padLeft, outHeight, outWidth } = g;
  const args = [
    byteOffset(backend, x),
    byteOffset(backend, dy),
    at,
    batch,
    inHeight,
    inWidth,
    inChannels,
    outChannels,
    filterHeight,
    filterWidth,
    padTop,
    padLeft,
    outHeight,
    outWidth,
  ];
  const helper = inChannels >= 4 ? simdHelper(backend) : undefined;
  const split = helper === undefined ? inChannels : 2 * Math.floor(inChannels / 4);
  helper?.start([...args, split, inChannels]);
  let failed: unknown;
  try {
    simd.filter_grad(...(args as FilterGradArgs), 0, split);
  } catch (error) {
    failed = error;
  }
  try {
    helper?.join();
  } catch (error) {
    // The worker may still be writing into dw: it stays allocated (see simd-helper.ts).
    throw new Error(`${Conv2DBackpropFilter}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (failed !== undefined) {
    backend.disposeData(dw.dataId);
    throw failed;
  }
  return dw;
}

type FilterGradArgs = [number, number, number, number, number, number, number, number, number, number, number, number, number, number];

function accumulate(scope: WasmKernelScope, sum: TensorInfo, part: TensorInfo): TensorInfo {
  const next = scope.run('Add', { a: sum, b: part });
  scope.release(sum);
  scope.release(part);
  return next;
}

/**
 * t viewed as [rows, width, channels] rearranged as [channels, rows, width]. Through
 * [rows, channels, width] so that each of the backend's (unblocked) transpose passes stays
 * within cache-sized blocks; one channel is a free reshape.
 */
function channelMajor(scope: WasmKernelScope, t: TensorInfo, rows: number, width: number, channels: number): TensorInfo {
  if (channels === 1) {
    return scope.run('Reshape', { x: t }, { shape: [1, rows, width] });
  }
  const rowsFirst = scope.run('Reshape', { x: t }, { shape: [rows, width, channels] });
  const perRow = scope.run('Transpose', { x: rowsFirst }, { perm: [0, 2, 1] });
  scope.release(rowsFirst);
  const channelsFirst = scope.run('Transpose', { x: perRow }, { perm: [1, 0, 2] });
  scope.release(perRow);
  return channelsFirst;
}

/**
 * x [b,h,w,c] as [c, b, h+pads, w+pads]: each (channel, image, row) becomes one contiguous run,
 * so the im2col rows are plain copies.
 */
function paddedChannelMajor(scope: WasmKernelScope, x: TensorInfo, g: Stride1Conv): TensorInfo {
  const { batch, inHeight, inWidth, inChannels } = g;
  const flat = channelMajor(scope, x, batch * inHeight, inWidth, inChannels);
  const planar = scope.run('Reshape', { x: flat }, { shape: [inChannels, batch, inHeight, inWidth] });
  scope.release(flat);
  if (g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 && g.padRight === 0) {
    return planar;
  }
  const padded = scope.run(
    'PadV2',
    { x: planar },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [g.padTop, g.padBottom],
        [g.padLeft, g.padRight],
      ],
      constantValue: 0,
    },
  );
  scope.release(planar);
  return padded;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as KernelFunc,
};
