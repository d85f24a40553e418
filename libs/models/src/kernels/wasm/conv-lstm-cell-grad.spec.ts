import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';
import { ConvLstmCellGrad, convLstmCellGradOps, convLstmCellGradient } from './conv-lstm-cell-grad';
import type { ConvLstmCellSaved } from './conv-lstm-cell-grad';
import { liveCounts, maxAbsDiff, randomValues, runOn, useBackend, withoutSimd } from '../testing/backends';

/** The fused ConvLSTM backward element-wise kernel against the same formulas as tfjs ops on cpu. */
function inputs(b: number, h: number, w: number, hidden: number, seed: number): { dy: tf.Tensor4D; saved: ConvLstmCellSaved } {
  const shape: [number, number, number, number] = [b, h, w, hidden];
  const size = b * h * w * hidden;
  const t = (k: number, lo = -1, hi = 1): tf.Tensor4D => tf.tensor4d(randomValues(seed + k, size, lo, hi), shape);
  return {
    dy: tf.tensor4d(randomValues(seed, 2 * size), [2 * b, h, w, hidden]),
    // Gates in (0, 1) like sigmoids, g and tanh(c') in (-1, 1) like tanh.
    saved: { c: t(1, -2, 2), i: t(2, 0, 1), f: t(3, 0, 1), o: t(4, 0, 1), g: t(5), tanhC: t(6) },
  };
}

describe('ConvLSTM cell gradient kernel on wasm', () => {
  it.each([
    [1, 4, 5, 3],
    [2, 3, 7, 16],
    [1, 1, 1, 1],
    [1, 16, 16, 4],
  ])('matches the tfjs-op formulas on cpu: [%i, %i, %i, %i]', async (b, h, w, hidden) => {
    const body = (kernel: boolean) => (): tf.Tensor[] => {
      const { dy, saved } = inputs(b, h, w, hidden, 100 + hidden);
      return kernel ? convLstmCellGradient(dy, saved) : convLstmCellGradOps(dy, saved);
    };
    const expected = await runOn('cpu', body(false));
    // Both wasm paths: the SIMD module (hidden % 4 == 0) and the JS loops it falls back to.
    const [actual, loops] = [await runOn('wasm', body(true)), await withoutSimd(() => runOn('wasm', body(true)))];
    await useBackend('wasm');
    expect(tf.getKernel(ConvLstmCellGrad, 'wasm')).toBeDefined();
    expect(actual.map((a) => a.length)).toEqual([4 * b * h * w * hidden, b * h * w * hidden, 4 * hidden]);
    for (const result of [actual, loops]) result.forEach((a, k) => expect(maxAbsDiff(a, expected[k]!)).toBeLessThan(1e-6));
  });

  it('gives the hand-worked values of one element', async () => {
    await useBackend('wasm');
    const one = (v: number): tf.Tensor4D => tf.tensor4d([v], [1, 1, 1, 1]);
    const [dz, dcPrev, db] = convLstmCellGradient(tf.tensor4d([0.5, 0.25], [2, 1, 1, 1]), {
      c: one(2),
      i: one(0.5),
      f: one(0.25),
      o: one(0.75),
      g: one(0.5),
      tanhC: one(0.5),
    });
    // dc = 0.25 + 0.5 * 0.75 * (1 - 0.25) = 0.53125
    const dc = 0.53125;
    expect(Array.from(dz.dataSync())).toEqual([dc * 0.5 * 0.25, dc * 2 * 0.25 * 0.75, 0.5 * 0.5 * 0.75 * 0.25, dc * 0.5 * 0.75].map((v) => expect.closeTo(v, 6)));
    expect(dcPrev.dataSync()[0]).toBeCloseTo(dc * 0.25, 6);
    // One pixel: the bias gradient is dz itself.
    expect(Array.from(db.dataSync())).toEqual(Array.from(dz.dataSync()));
    tf.dispose([dz, dcPrev, db]);
  });

  it('rejects a state gradient that is not [2b, h, w, hidden], naming it', async () => {
    await useBackend('wasm');
    const { saved } = inputs(1, 2, 2, 3, 7);
    const bad = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    expect(() => convLstmCellGradient(bad, saved)).toThrow(InvalidInputError);
    expect(() => convLstmCellGradient(bad, saved)).toThrow(/dy has shape \[1,2,2,3\], expected \[2,2,2,3\]/);
    tf.dispose([bad, ...Object.values(saved)]);
  });

  it('leaves no tensor and no wasm buffer behind', async () => {
    await useBackend('wasm');
    const { dy, saved } = inputs(1, 3, 3, 4, 9);
    tf.dispose(convLstmCellGradient(dy, saved));
    const before = liveCounts();
    tf.dispose(convLstmCellGradient(dy, saved));
    expect(liveCounts()).toEqual(before);
    tf.dispose([dy, ...Object.values(saved)]);
  });
});
