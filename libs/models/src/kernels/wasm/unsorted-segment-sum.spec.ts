import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';
import { liveCounts, maxAbsDiff, randomValues, runOn, useBackend } from '../testing/backends';

function segmentSum(x: tf.Tensor, ids: number[], numSegments: number): tf.Tensor {
  return tf.unsortedSegmentSum(x, tf.tensor1d(ids, 'int32'), numSegments);
}

describe('UnsortedSegmentSum on wasm', () => {
  it('adds rows sent to the same segment (hand-worked)', async () => {
    await useBackend('wasm');
    const out = tf.tidy(() =>
      segmentSum(
        tf.tensor2d([
          [1, 2],
          [3, 4],
          [5, 6],
          [7, 8],
        ]),
        [2, 0, 2, 2],
        3,
      ),
    );
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(out.dataSync())).toEqual([3, 4, 0, 0, 13, 16]);
    out.dispose();
  });

  it.each([
    { name: 'rank 1, duplicates', shape: [7], ids: [0, 3, 3, 1, 0, 3, 2], segments: 4 },
    { name: 'rank 3 rows', shape: [5, 3, 2], ids: [1, 1, 0, 4, 1], segments: 6 },
    { name: 'ids out of range are dropped', shape: [6, 2], ids: [-1, 2, 5, 0, 2, 9], segments: 5 },
    { name: 'every id out of range', shape: [2, 2], ids: [-3, 7], segments: 3 },
  ])('matches the cpu backend: $name', async ({ shape, ids, segments }) => {
    const values = randomValues(9, tf.util.sizeFromShape(shape));
    const body = (): tf.Tensor => segmentSum(tf.tensor(values, shape), ids, segments);
    const [expected] = await runOn('cpu', body);
    const [actual] = await runOn('wasm', body);
    expect(maxAbsDiff(actual!, expected!)).toBeLessThanOrEqual(1e-6);
  });

  it('gives tf.gather its gradient on wasm, equal to the cpu one', async () => {
    const values = randomValues(10, 5 * 3);
    const body = (): tf.Tensor => {
      const f = (x: tf.Tensor): tf.Tensor =>
        tf
          .gather(x, tf.tensor1d([4, 0, 4, 2], 'int32'))
          .square()
          .sum();
      return tf.grad(f)(tf.tensor2d(values, [5, 3]));
    };
    const [expected] = await runOn('cpu', body);
    const [actual] = await runOn('wasm', body);
    expect(maxAbsDiff(actual!, expected!)).toBeLessThanOrEqual(1e-6);
  });

  it('leaves no tensor behind and rejects ids that do not match the rows', async () => {
    await useBackend('wasm');
    const x = tf.tensor2d(randomValues(11, 6 * 2), [6, 2]);
    const ids = tf.tensor1d([-1, 2, 5, 0, 2, 9], 'int32');
    tf.unsortedSegmentSum(x, ids, 4).dispose();
    const before = liveCounts();
    tf.unsortedSegmentSum(x, ids, 4).dispose();
    expect(liveCounts()).toEqual(before);
    const short = tf.tensor1d([0, 1], 'int32');
    expect(() => tf.engine().runKernel(tf.UnsortedSegmentSum, { x, segmentIds: short }, { numSegments: 2 })).toThrow(InvalidInputError);
    tf.dispose([x, ids, short]);
  });
});
