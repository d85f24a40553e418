import * as tf from '@tensorflow/tfjs';
import { liveCounts, maxAbsDiff, randomValues, runOn, useBackend } from '../testing/backends';

/** Sum over the leading axes (one pass into float64 sums) and every other case (built-in), against cpu. */
describe('Sum on wasm', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  const cases: Array<{ shape: number[]; axis: number | number[]; keepDims?: boolean }> = [
    { shape: [2, 5, 7, 12], axis: [0, 1, 2] },
    { shape: [2, 5, 7, 12], axis: [2, 0, 1], keepDims: true },
    { shape: [3, 4, 6, 1], axis: [-4, -3, -2] },
    { shape: [17, 64], axis: 0 },
    { shape: [300, 300, 3], axis: [0, 1] },
    // Not the leading axes: the built-in kernel.
    { shape: [2, 5, 7, 12], axis: [1, 2, 3] },
    { shape: [2, 5, 7], axis: -1 },
    { shape: [4, 6], axis: [0, 1] },
  ];

  it.each(cases)('matches the cpu backend: shape $shape, axis $axis', async ({ shape, axis, keepDims }) => {
    const values = randomValues(11, tf.util.sizeFromShape(shape));
    const body = (): tf.Tensor => tf.sum(tf.tensor(values, shape), axis, keepDims);
    const [expected] = await runOn('cpu', body);
    const [actual] = await runOn('wasm', body);
    const shapeOn = async (name: 'cpu' | 'wasm'): Promise<number[]> => {
      await useBackend(name);
      return tf.tidy(() => body().shape);
    };
    expect(await shapeOn('wasm')).toEqual(await shapeOn('cpu'));
    // Float32 sums of many terms differ by their order of addition: allow 1e-6 of the sum of
    // magnitudes (both add in float64 here, the cpu backend in its own order).
    const bound = 1e-6 * values.reduce((a, v) => a + Math.abs(v), 0) + 1e-6;
    expect(maxAbsDiff(actual!, expected!)).toBeLessThan(Math.max(1e-4, bound));
  });

  it('sums int32 exactly through the built-in kernel', async () => {
    await useBackend('wasm');
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2], 'int32');
    const s = tf.sum(x, [0, 1]);
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([16, 20]);
    tf.dispose([x, s]);
  });

  it('leaves no tensor and no wasm buffer behind', async () => {
    await useBackend('wasm');
    const x = tf.ones([3, 4, 5, 6]);
    tf.sum(x, [0, 1, 2]).dispose();
    const before = liveCounts();
    tf.sum(x, [0, 1, 2]).dispose();
    expect(liveCounts()).toEqual(before);
    x.dispose();
  });
});
