import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';
import { liveCounts, maxAbsDiff, randomValues, runOn, useBackend } from '../testing/backends';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

const cases: Array<{ name: string; x: [number, number, number, number]; filter: [number, number, number, number]; pad: Pad }> = [
  { name: '3x3 same, multiplier 1', x: [2, 7, 6, 3], filter: [3, 3, 3, 1], pad: 'same' },
  { name: '5x5 same, multiplier 2', x: [1, 8, 9, 2], filter: [5, 5, 2, 2], pad: 'same' },
  { name: '3x2 valid, multiplier 3', x: [2, 6, 7, 2], filter: [3, 2, 2, 3], pad: 'valid' },
  {
    name: 'explicit asymmetric padding',
    x: [1, 6, 6, 2],
    filter: [3, 3, 2, 1],
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  },
];

describe('DepthwiseConv2dNative gradients on wasm', () => {
  it.each(cases)('give the cpu backend gradients for x and the filter: $name', async (c) => {
    const xValues = randomValues(100, tf.util.sizeFromShape(c.x));
    const filterValues = randomValues(101, tf.util.sizeFromShape(c.filter));
    const body = (): tf.Tensor[] => {
      const f = (x: tf.Tensor, w: tf.Tensor): tf.Tensor =>
        tf
          .depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, c.pad)
          .square()
          .sum();
      return tf.grads(f)([tf.tensor4d(xValues, c.x), tf.tensor4d(filterValues, c.filter)]);
    };
    const expected = await runOn('cpu', body);
    const actual = await runOn('wasm', body);
    expect(actual).toHaveLength(2);
    actual.forEach((grad, i) => expect(maxAbsDiff(grad, expected[i]!)).toBeLessThanOrEqual(1e-4));
  });

  it('leaves nothing behind and rejects strides above 1', async () => {
    await useBackend('wasm');
    const x = tf.tensor4d(randomValues(102, 2 * 6 * 6 * 2), [2, 6, 6, 2]);
    const w = tf.tensor4d(randomValues(103, 3 * 3 * 2 * 2), [3, 3, 2, 2]);
    const g = (): tf.Tensor[] => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same').sum())([x, w]);
    tf.dispose(g());
    const before = liveCounts();
    tf.dispose(g());
    expect(liveCounts()).toEqual(before);
    const dy = tf.zeros([2, 3, 3, 4]);
    expect(() => tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { strides: 2, dilations: 1, pad: 'same', filterShape: [3, 3, 2, 2] })).toThrow(
      InvalidInputError,
    );
    tf.dispose([x, w, dy]);
  });
});
