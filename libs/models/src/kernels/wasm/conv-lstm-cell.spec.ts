import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';
import { ConvLstmCell, convLstmCellForward, convLstmCellNext, convLstmCellOps } from './conv-lstm-cell';
import type { ConvLstmCellForward } from './conv-lstm-cell';
import { liveCounts, maxAbsDiff, randomValues, runOn, useBackend, withoutSimd } from '../testing/backends';

/** The fused ConvLSTM forward element-wise kernel against the same formulas as tfjs ops on cpu. */
function inputs(b: number, h: number, w: number, hidden: number, seed: number, spread = 4): { z: tf.Tensor4D; hc: tf.Tensor4D } {
  return {
    // Pre-activations well into both saturations, and the state's h and c.
    z: tf.tensor4d(randomValues(seed, b * h * w * 4 * hidden, -spread, spread), [b, h, w, 4 * hidden]),
    hc: tf.tensor4d(randomValues(seed + 1, 2 * b * h * w * hidden, -2, 2), [2 * b, h, w, hidden]),
  };
}

const order = (r: ConvLstmCellForward): tf.Tensor[] => [r.hcNext, r.i, r.f, r.o, r.g, r.tanhC];

describe('ConvLSTM cell forward kernel on wasm', () => {
  it.each([
    [1, 4, 5, 3, 4],
    [2, 3, 7, 16, 4],
    [1, 6, 6, 16, 30],
    [1, 1, 1, 1, 1],
  ])('matches the tfjs-op formulas on cpu: [%i, %i, %i, %i], |z| < %i', async (b, h, w, hidden, spread) => {
    const body = (kernel: boolean) => (): tf.Tensor[] => {
      const { z, hc } = inputs(b, h, w, hidden, 200 + hidden, spread);
      return order(kernel ? convLstmCellForward(z, hc) : convLstmCellOps(z, hc));
    };
    const expected = await runOn('cpu', body(false));
    // Both wasm paths: the SIMD module (hidden % 4 == 0) and the JS loops it falls back to.
    const [actual, loops] = [await runOn('wasm', body(true)), await withoutSimd(() => runOn('wasm', body(true)))];
    await useBackend('wasm');
    expect(tf.getKernel(ConvLstmCell, 'wasm')).toBeDefined();
    const size = b * h * w * hidden;
    expect(actual.map((a) => a.length)).toEqual([2 * size, size, size, size, size, size]);
    // tanh through the sigmoid: the error of a float32 sigmoid, ~1e-7.
    for (const result of [actual, loops]) result.forEach((a, k) => expect(maxAbsDiff(a, expected[k]!)).toBeLessThan(1e-6));
  });

  it('gives the same next state without the gates (inference), on wasm and on cpu', async () => {
    const body = (next: boolean) => (): tf.Tensor[] => {
      const { z, hc } = inputs(2, 5, 3, 16, 31, 6);
      return next ? [convLstmCellNext(z, hc)] : [convLstmCellOps(z, hc).hcNext];
    };
    const expected = await runOn('cpu', body(false));
    for (const backend of ['wasm', 'cpu'] as const) {
      const [actual] = await runOn(backend, body(true));
      expect(actual).toHaveLength(2 * 2 * 5 * 3 * 16);
      expect(maxAbsDiff(actual!, expected[0]!)).toBeLessThan(1e-6);
    }
    await useBackend('wasm');
    const { z, hc } = inputs(1, 3, 3, 4, 9);
    tf.dispose(convLstmCellNext(z, hc));
    const before = liveCounts();
    tf.dispose(convLstmCellNext(z, hc));
    expect(liveCounts()).toEqual(before);
    tf.dispose([z, hc]);
  });

  it('gives the hand-worked values of one element', async () => {
    await useBackend('wasm');
    // z = [0, ln 3, -ln 3, atanh 0.5]: i = 0.5, f = 0.75, o = 0.25, g = 0.5; c = 2.
    const z = tf.tensor4d([0, Math.log(3), -Math.log(3), Math.atanh(0.5)], [1, 1, 1, 4]);
    const hc = tf.tensor4d([0.3, 2], [2, 1, 1, 1]);
    const r = convLstmCellForward(z, hc);
    const c = 0.75 * 2 + 0.5 * 0.5;
    const close = (v: number): unknown => expect.closeTo(v, 6);
    expect(Array.from(r.hcNext.dataSync())).toEqual([close(0.25 * Math.tanh(c)), close(c)]);
    expect([r.i, r.f, r.o, r.g, r.tanhC].map((t) => t.dataSync()[0])).toEqual([0.5, 0.75, 0.25, 0.5, Math.tanh(c)].map(close));
    tf.dispose([z, hc, ...order(r)]);
  });

  it('rejects gates that do not match the state, naming them', async () => {
    await useBackend('wasm');
    const { hc } = inputs(1, 2, 2, 3, 7);
    const bad = tf.zeros([1, 2, 2, 8]) as tf.Tensor4D;
    expect(() => convLstmCellForward(bad, hc)).toThrow(InvalidInputError);
    expect(() => convLstmCellForward(bad, hc)).toThrow(/z has shape \[1,2,2,8\], expected \[1,2,2,12\]/);
    const odd = tf.zeros([3, 2, 2, 3]) as tf.Tensor4D;
    expect(() => convLstmCellForward(tf.zeros([1, 2, 2, 12]), odd)).toThrow(/hc must be the packed state \[2b, h, w, hidden\], got \[3,2,2,3\]/);
    tf.dispose([bad, hc, odd]);
  });

  it('leaves no tensor and no wasm buffer behind', async () => {
    await useBackend('wasm');
    const { z, hc } = inputs(1, 3, 3, 4, 9);
    tf.dispose(order(convLstmCellForward(z, hc)));
    const before = liveCounts();
    tf.dispose(order(convLstmCellForward(z, hc)));
    expect(liveCounts()).toEqual(before);
    tf.dispose([z, hc]);
  });
});
