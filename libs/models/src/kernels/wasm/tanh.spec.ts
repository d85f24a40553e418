import * as tf from '@tensorflow/tfjs';
import { liveCounts, maxAbsDiff, randomValues, runOn, useBackend } from '../testing/backends';

describe('Tanh on wasm (2 sigmoid(2x) - 1)', () => {
  it('matches the cpu backend from tiny to saturating inputs', async () => {
    const values = new Float32Array([...randomValues(80, 500, -1, 1), ...randomValues(81, 500, -12, 12), 0, 1e-8, -1e-8, 1e-4, 30, -30, 88, -88, 1e30, -1e30]);
    const body = (): tf.Tensor => tf.tanh(tf.tensor1d(values));
    const [expected] = await runOn('cpu', body);
    const [actual] = await runOn('wasm', body);
    expect(maxAbsDiff(actual!, expected!)).toBeLessThanOrEqual(1e-6);
    expect(actual!.every((v) => v >= -1 && v <= 1)).toBe(true);
  });

  it('is exact at 0 and at saturation', async () => {
    await useBackend('wasm');
    const y = tf.tidy(() => tf.tanh(tf.tensor1d([0, 50, -50])));
    expect(Array.from(y.dataSync())).toEqual([0, 1, -1]);
    y.dispose();
  });

  it('differentiates like the cpu backend and frees what it makes', async () => {
    const values = randomValues(82, 64, -3, 3);
    const body = (): tf.Tensor =>
      tf.grad((x: tf.Tensor) =>
        tf
          .tanh(x)
          .mul(tf.tanh(x.mul(0.5)))
          .sum(),
      )(tf.tensor1d(values));
    const [expected] = await runOn('cpu', body);
    const [actual] = await runOn('wasm', body);
    expect(maxAbsDiff(actual!, expected!)).toBeLessThanOrEqual(1e-5);

    await useBackend('wasm');
    const x = tf.tensor2d(randomValues(83, 40, -2, 2), [5, 8]);
    tf.tanh(x).dispose();
    const before = liveCounts();
    tf.tanh(x).dispose();
    expect(liveCounts()).toEqual(before);
    x.dispose();
  });
});
