import * as tf from '@tensorflow/tfjs';
import { liveCounts, maxAbsDiff, randomValues, runOn, useBackend } from '../testing/backends';

describe('Sum on wasm (leading axes as one matrix product)', () => {
  it.each([
    { name: 'bias gradient [b,h,w,c] -> [c]', shape: [3, 7, 5, 6], axis: [0, 1, 2], keepDims: false },
    { name: 'leading axes given out of order, kept', shape: [4, 3, 5], axis: [1, 0], keepDims: true },
    { name: 'first axis only', shape: [9, 2, 3], axis: 0, keepDims: false },
    { name: 'inner axes (built-in kernel)', shape: [4, 3, 5], axis: [1, 2], keepDims: false },
    { name: 'everything (built-in kernel)', shape: [4, 3, 5], axis: [0, 1, 2], keepDims: false },
  ])('matches the cpu backend: $name', async ({ shape, axis, keepDims }) => {
    const values = randomValues(90, tf.util.sizeFromShape(shape));
    const body = (): tf.Tensor[] => {
      const s = tf.sum(tf.tensor(values, shape), axis, keepDims);
      return [s, tf.tensor1d(s.shape, 'float32')];
    };
    const [expected, expectedShape] = await runOn('cpu', body);
    const [actual, actualShape] = await runOn('wasm', body);
    expect(Array.from(actualShape!)).toEqual(Array.from(expectedShape!));
    expect(maxAbsDiff(actual!, expected!)).toBeLessThanOrEqual(1e-5);
  });

  it('sums one tensor over different leading axes in turn', async () => {
    await useBackend('wasm');
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2]);
    expect(Array.from(tf.sum(x, 0).dataSync())).toEqual([8, 10, 12, 14, 16, 18]);
    expect(Array.from(tf.sum(x, [0, 1]).dataSync())).toEqual([36, 42]);
    expect(Array.from(tf.matMul(tf.ones([1, 6]), x.reshape([6, 2])).dataSync())).toEqual([36, 42]);
    expect(Array.from(tf.sum(x, 0).dataSync())).toEqual([8, 10, 12, 14, 16, 18]);
    x.dispose();
  });

  it('sums a hand-worked bias gradient, leaving nothing behind', async () => {
    await useBackend('wasm');
    const dy = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    tf.sum(dy, [0, 1, 2]).dispose();
    const before = liveCounts();
    const grad = tf.sum(dy, [0, 1, 2]);
    expect(Array.from(grad.dataSync())).toEqual([16, 20]);
    grad.dispose();
    expect(liveCounts()).toEqual(before);
    dy.dispose();
  });
});
