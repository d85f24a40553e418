import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { InvalidInputError } from '@mitosis/core';
import { requireFloat32, requireShape } from './conv-geometry';
import { byteOffset } from './heap-copy';
import { withWasmScope } from './kernel-scope';
import { simdKernels } from './simd/simd-kernels';

/**
 * The element-wise part of the ConvLSTM step's forward pass (nets/conv-lstm.ts) as one kernel:
 * from the gate pre-activations z [b, h, w, 4H] (order i, f, o, g, bias included) and the packed
 * state hc = [h; c] ([2b, h, w, H]) it gives
 *   i, f, o = sig(z_i), sig(z_f), sig(z_o)     g = tanh(z_g)
 *   c' = f c + i g                              h' = o tanh(c')
 * as the packed next state [h'; c'] plus, unless the attribute keepGates is false (inference),
 * the activated gates i, f, o, g and tanh(c') the backward pass keeps (conv-lstm-cell-grad.ts). Through tfjs ops this was a split of z, three
 * sigmoids, two tanh, three products, a sum and a concat per step, half of M3's inference
 * (figures in docs/history.md).
 *
 * Where hidden % 4 == 0 (the paper's 16) it is the SIMD module's cell_forward (simd/wat.ts): the
 * gates, c' and h' in two passes over the heap, several times faster than the loops below.
 *
 * Otherwise the transcendental part stays in XNNPACK: one vectorised Sigmoid over all of z and
 * one over c'. tanh comes from the sigmoid of the same argument by tanh(x) = (2s - 1) / (2s^2 - 2s + 1),
 * s = sig(x), exact algebra (e^-x = (1 - s)/s) evaluated in float64 on the float32 s: the error
 * is that of s, ~1e-7 absolute. (JS's Math.exp costs several times the formula.)
 */
export const ConvLstmCell = 'MitosisConvLstmCell';

/** tanh(x) from s = sigmoid(x). */
function tanhFromSigmoid(s: number): number {
  return (2 * s - 1) / (2 * s * s - 2 * s + 1);
}

function convLstmCell(args: Parameters<KernelFunc>[0]): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { z, hc } = args.inputs as Record<'z' | 'hc', TensorInfo>;
  for (const [name, t] of Object.entries({ z, hc })) {
    if (t === undefined) throw new InvalidInputError(`${ConvLstmCell}: input ${name} is missing`);
    requireFloat32(ConvLstmCell, name, t);
  }
  if (hc.shape.length !== 4 || (hc.shape[0] ?? 0) % 2 !== 0) {
    throw new InvalidInputError(`${ConvLstmCell}: hc must be the packed state [2b, h, w, hidden], got [${hc.shape.join(',')}]`);
  }
  const [b2, height, width, hidden] = hc.shape as [number, number, number, number];
  const b = b2 / 2;
  requireShape(ConvLstmCell, 'z', z, [b, height, width, 4 * hidden]);

  const keepGates = (args.attrs as { keepGates?: boolean }).keepGates ?? true;

  const simd = hidden % 4 === 0 ? simdKernels(backend) : undefined;
  return withWasmScope(backend, (scope) => {
    if (simd !== undefined) {
      const hcNext = scope.alloc([...hc.shape]);
      const kept = keepGates ? [0, 1, 2, 3, 4].map(() => scope.alloc([b, height, width, hidden])) : [];
      const at = (t: TensorInfo | undefined): number => (t === undefined ? 0 : byteOffset(backend, t));
      const stateBytes = b * height * width * hidden * Float32Array.BYTES_PER_ELEMENT;
      const [i, f, o, g, tanhC] = kept;
      simd.cell_forward(at(z), at(hc) + stateBytes, at(hcNext), at(hcNext) + stateBytes, keepGates ? 1 : 0, at(i), at(f), at(o), at(g), at(tanhC), b * height * width, hidden);
      return [hcNext, ...kept];
    }
    const s = scope.run('Sigmoid', { x: z });
    const hcNext = scope.alloc([...hc.shape]);
    const stateShape = [b, height, width, hidden];
    const kept = keepGates ? ([0, 1, 2, 3, 4].map(() => scope.alloc(stateShape)) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo]) : undefined;
    const size = b * height * width * hidden;
    {
      // Views after the allocations above, which may have grown (moved) the heap.
      const heap = scope.heapF32();
      const sAt = scope.offsetOf(s);
      const cAt = scope.offsetOf(hc) + size;
      // hcNext's h part holds o until the second pass turns it into h' = o tanh(c').
      const outAt = scope.offsetOf(hcNext);
      const outCAt = outAt + size;
      if (kept === undefined) {
        for (let p = sAt, e = 0; e < size; p += 4 * hidden) {
          for (let j = 0; j < hidden; j++, e++) {
            const gg = tanhFromSigmoid(heap[p + 3 * hidden + j] as number);
            heap[outCAt + e] = (heap[p + hidden + j] as number) * (heap[cAt + e] as number) + (heap[p + j] as number) * gg;
            heap[outAt + e] = heap[p + 2 * hidden + j] as number;
          }
        }
      } else {
        const [iAt, fAt, oAt, gAt] = kept.map((t) => scope.offsetOf(t)) as [number, number, number, number];
        for (let p = sAt, e = 0; e < size; p += 4 * hidden) {
          for (let j = 0; j < hidden; j++, e++) {
            const si = heap[p + j] as number;
            const sf = heap[p + hidden + j] as number;
            const so = heap[p + 2 * hidden + j] as number;
            const gg = tanhFromSigmoid(heap[p + 3 * hidden + j] as number);
            heap[outCAt + e] = sf * (heap[cAt + e] as number) + si * gg;
            heap[outAt + e] = so;
            heap[iAt + e] = si;
            heap[fAt + e] = sf;
            heap[oAt + e] = so;
            heap[gAt + e] = gg;
          }
        }
      }
    }
    scope.release(s);
    // One Sigmoid over all of hcNext: its c part gives tanh(c'); the h part (o) is not read.
    const sc = scope.run('Sigmoid', { x: hcNext });
    const heap = scope.heapF32();
    const scAt = scope.offsetOf(sc) + size;
    const outAt = scope.offsetOf(hcNext);
    if (kept === undefined) {
      for (let e = 0; e < size; e++) heap[outAt + e] = (heap[outAt + e] as number) * tanhFromSigmoid(heap[scAt + e] as number);
      return [hcNext];
    }
    const tAt = scope.offsetOf(kept[4]);
    for (let e = 0; e < size; e++) {
      const tc = tanhFromSigmoid(heap[scAt + e] as number);
      heap[tAt + e] = tc;
      heap[outAt + e] = (heap[outAt + e] as number) * tc;
    }
    return [hcNext, ...kept];
  });
}

export const convLstmCellConfig: KernelConfig = {
  kernelName: ConvLstmCell,
  backendName: 'wasm',
  kernelFunc: convLstmCell as KernelFunc,
};

export interface ConvLstmCellForward {
  /** [h'; c'] packed on the batch axis, as the state that goes in. */
  hcNext: tf.Tensor4D;
  i: tf.Tensor4D;
  f: tf.Tensor4D;
  o: tf.Tensor4D;
  g: tf.Tensor4D;
  tanhC: tf.Tensor4D;
}

/**
 * The step's element-wise forward from gate pre-activations z and the packed state hc: the
 * kernel above where the current backend has it, otherwise the same formulas as tfjs ops (the
 * reference the kernel is tested against). Not differentiable itself: the packed step's
 * customGrad owns the backward pass.
 */
export function convLstmCellForward(z: tf.Tensor4D, hc: tf.Tensor4D): ConvLstmCellForward {
  if (tf.getKernel(ConvLstmCell, tf.getBackend()) !== undefined) {
    const [hcNext, i, f, o, g, tanhC] = tf.engine().runKernel(ConvLstmCell, { z, hc }, { keepGates: true }) as unknown as tf.Tensor4D[];
    return { hcNext, i, f, o, g, tanhC } as ConvLstmCellForward;
  }
  return convLstmCellOps(z, hc);
}

/**
 * The next packed state alone, for steps no gradient will go through (inference): the kernel
 * then writes neither the gates nor tanh(c'), about a third of its memory traffic.
 */
export function convLstmCellNext(z: tf.Tensor4D, hc: tf.Tensor4D): tf.Tensor4D {
  if (tf.getKernel(ConvLstmCell, tf.getBackend()) !== undefined) {
    const [hcNext] = tf.engine().runKernel(ConvLstmCell, { z, hc }, { keepGates: false }) as unknown as tf.Tensor4D[];
    return hcNext as tf.Tensor4D;
  }
  const { hcNext, ...gates } = convLstmCellOps(z, hc);
  tf.dispose(Object.values(gates));
  return hcNext;
}

export function convLstmCellOps(z: tf.Tensor4D, hc: tf.Tensor4D): ConvLstmCellForward {
  const [, c] = tf.split(hc, 2, 0) as [tf.Tensor4D, tf.Tensor4D];
  const [zi, zf, zo, zg] = tf.split(z, 4, 3) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const [i, f, o, g] = [tf.sigmoid(zi), tf.sigmoid(zf), tf.sigmoid(zo), tf.tanh(zg)];
  const cNext: tf.Tensor4D = tf.add(tf.mul(f, c), tf.mul(i, g));
  const tanhC = tf.tanh(cNext);
  const hcNext = tf.concat([tf.mul(o, tanhC), cNext], 0) as tf.Tensor4D;
  tf.dispose([c, zi, zf, zo, zg, cNext]);
  return { hcNext, i, f, o, g, tanhC };
}
