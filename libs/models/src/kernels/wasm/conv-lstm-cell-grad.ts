import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { InvalidInputError } from '@mitosis/core';
import { requireFloat32, requireShape } from './conv-geometry';
import { byteOffset, elementOffset, heapOf } from './heap-copy';
import { simdKernels } from './simd/simd-kernels';

/**
 * The element-wise part of the ConvLSTM step's backward pass (nets/conv-lstm.ts), one pass over
 * the heap instead of ~25 tfjs kernels (splits, products, squares, differences, a concat), each
 * a full read and write of [b, h, w, hidden] or [b, h, w, 4 hidden] floats plus the engine's
 * per-kernel overhead, paid 16 steps per M3 update.
 *
 * Inputs: dy = [dh; dc_in] packed on the batch axis ([2b, h, w, H], the gradient of the packed
 * state hc), and the forward's saved c (previous cell state), activated gates i, f, o, g and
 * tanh(c'). With h' = o tanh(c') and c' = f c + i g:
 *   dc     = dc_in + dh o (1 - tanh^2 c')
 *   dz_i   = dc g i (1 - i)           dz_f = dc c f (1 - f)
 *   dz_o   = dh tanh(c') o (1 - o)    dz_g = dc i (1 - g^2)
 *   dc_prev = dc f
 * Outputs: dz [b, h, w, 4H] (gate order i, f, o, g, as the gate convolution's output channels),
 * dc_prev [b, h, w, H] and db [4H], the gate bias gradient: dz summed over b, h, w in float64 as
 * it is written, which in profiles cost less than a second pass over dz (a separate Sum through
 * XNNPACK packed each fresh dz as a product's weights). Products are formed in float64 and stored as
 * float32. Where hidden % 4 == 0 the SIMD module's cell_backward (simd/wat.ts) does the same in
 * float32 lanes, with the bias sums still in float64 (timings in docs/history.md).
 */
export const ConvLstmCellGrad = 'MitosisConvLstmCellGrad';

function convLstmCellGrad(args: Parameters<KernelFunc>[0]): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { dy, c, i, f, o, g, tanhC } = args.inputs as Record<'dy' | 'c' | 'i' | 'f' | 'o' | 'g' | 'tanhC', TensorInfo>;
  const named = { dy, c, i, f, o, g, tanhC };
  for (const [name, t] of Object.entries(named)) {
    if (t === undefined) throw new InvalidInputError(`${ConvLstmCellGrad}: input ${name} is missing`);
    requireFloat32(ConvLstmCellGrad, name, t);
  }
  if (c.shape.length !== 4) throw new InvalidInputError(`${ConvLstmCellGrad}: c must be [b, h, w, hidden], got [${c.shape.join(',')}]`);
  for (const [name, t] of Object.entries({ i, f, o, g, tanhC })) requireShape(ConvLstmCellGrad, name, t, c.shape);
  const [b, height, width, hidden] = c.shape as [number, number, number, number];
  requireShape(ConvLstmCellGrad, 'dy', dy, [2 * b, height, width, hidden]);

  const size = b * height * width * hidden;
  const dz = backend.makeOutput([b, height, width, 4 * hidden], 'float32');
  const dcPrev = backend.makeOutput([b, height, width, hidden], 'float32');
  const db = backend.makeOutput([4 * hidden], 'float32');
  const simd = hidden % 4 === 0 ? simdKernels(backend) : undefined;
  if (simd !== undefined) {
    // The float64 sums live in the heap for the module: 4 hidden doubles in 8 hidden + 1 floats,
    // started on a multiple of 8 bytes (a Float64Array view needs it).
    const sums = backend.makeOutput([8 * hidden + 1], 'float32');
    try {
      const sumsAt = Math.ceil(byteOffset(backend, sums) / 8) * 8;
      const f64 = new Float64Array(heapOf(backend, 'float32').buffer, sumsAt, 4 * hidden);
      f64.fill(0);
      const at = (t: TensorInfo): number => byteOffset(backend, t);
      simd.cell_backward(at(dy), at(dy) + size * 4, at(c), at(i), at(f), at(o), at(g), at(tanhC), at(dz), at(dcPrev), sumsAt, b * height * width, hidden);
      // The module allocates nothing, so the heap has not moved and the view still holds.
      heapOf(backend, 'float32').set(f64, elementOffset(backend, db));
    } finally {
      backend.disposeData(sums.dataId);
    }
    return [dz, dcPrev, db];
  }
  // The view is taken after the allocations, which may have grown (moved) the heap.
  const heap = heapOf(backend, 'float32');
  const [dyAt, cAt, iAt, fAt, oAt, gAt, tAt, dzAt, dcAt, dbAt] = [dy, c, i, f, o, g, tanhC, dz, dcPrev, db].map((t) => elementOffset(backend, t)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const dcInAt = dyAt + size;
  const sums = new Float64Array(4 * hidden);
  for (let p = 0, e = 0; e < size; p += 4 * hidden) {
    for (let j = 0; j < hidden; j++, e++) {
      const dh = heap[dyAt + e];
      const ii = heap[iAt + e];
      const ff = heap[fAt + e];
      const oo = heap[oAt + e];
      const gg = heap[gAt + e];
      const tc = heap[tAt + e];
      const dc = heap[dcInAt + e] + dh * oo * (1 - tc * tc);
      const out = dzAt + p + j;
      // The float32 values stored are the ones summed, so db is the sum of dz as tf.sum sees it.
      const zi = Math.fround(dc * gg * ii * (1 - ii));
      const zf = Math.fround(dc * heap[cAt + e] * ff * (1 - ff));
      const zo = Math.fround(dh * tc * oo * (1 - oo));
      const zg = Math.fround(dc * ii * (1 - gg * gg));
      heap[out] = zi;
      heap[out + hidden] = zf;
      heap[out + 2 * hidden] = zo;
      heap[out + 3 * hidden] = zg;
      sums[j] += zi;
      sums[j + hidden] += zf;
      sums[j + 2 * hidden] += zo;
      sums[j + 3 * hidden] += zg;
      heap[dcAt + e] = dc * ff;
    }
  }
  heap.set(sums, dbAt);
  return [dz, dcPrev, db];
}

export const convLstmCellGradConfig: KernelConfig = {
  kernelName: ConvLstmCellGrad,
  backendName: 'wasm',
  kernelFunc: convLstmCellGrad as KernelFunc,
};

export interface ConvLstmCellSaved {
  c: tf.Tensor4D;
  i: tf.Tensor4D;
  f: tf.Tensor4D;
  o: tf.Tensor4D;
  g: tf.Tensor4D;
  tanhC: tf.Tensor4D;
}

/**
 * [dz, dc_prev, db] from the packed state gradient dy and the forward's saved tensors: the kernel
 * above where the current backend has it, otherwise the same formulas as tfjs ops (the
 * reference the kernel is tested against).
 */
export function convLstmCellGradient(dy: tf.Tensor4D, saved: ConvLstmCellSaved): [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D] {
  if (tf.getKernel(ConvLstmCellGrad, tf.getBackend()) !== undefined) {
    return tf.engine().runKernel(ConvLstmCellGrad, { dy, ...saved }) as unknown as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D];
  }
  return convLstmCellGradOps(dy, saved);
}

export function convLstmCellGradOps(dy: tf.Tensor4D, { c, i, f, o, g, tanhC }: ConvLstmCellSaved): [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D] {
  return tf.tidy(() => {
    const [dh, dcIn] = tf.split(dy, 2, 0) as [tf.Tensor4D, tf.Tensor4D];
    const dc = tf.add(dcIn, tf.mul(tf.mul(dh, o), tf.sub(1, tf.square(tanhC))));
    const sigmoidGrad = (d: tf.Tensor, s: tf.Tensor): tf.Tensor => tf.mul(d, tf.mul(s, tf.sub(1, s)));
    const dz = tf.concat(
      [
        sigmoidGrad(tf.mul(dc, g), i), // i
        sigmoidGrad(tf.mul(dc, c), f), // f
        sigmoidGrad(tf.mul(dh, tanhC), o), // o
        tf.mul(tf.mul(dc, i), tf.sub(1, tf.square(g))), // g
      ],
      3,
    ) as tf.Tensor4D;
    return [dz, tf.mul(dc, f) as tf.Tensor4D, tf.sum(dz, [0, 1, 2]) as tf.Tensor1D];
  });
}
