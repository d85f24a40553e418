import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';
import { bandPixels } from './conv2d-backprop-filter';
import { liveCounts, maxAbsDiff, randomValues, runOn, useBackend, withoutSimd } from '../testing/backends';
import type { Conv2DCase, Pad } from '../testing/conv2d-cases';
import { ASYMMETRIC_PADDING, CONV2D_CASES } from '../testing/conv2d-cases';

const cases: Conv2DCase[] = [
  ...CONV2D_CASES,
  // A 1x1 filter reads whole rows, one after another.
  { name: '1x1 to one map', x: [2, 7, 5, 6], filter: [1, 1, 6, 1], pad: 'valid' },
  { name: '3x1 valid (1-wide, unpadded)', x: [2, 7, 6, 2], filter: [3, 1, 2, 3], pad: 'valid' },
  { name: 'numeric padding', x: [1, 5, 6, 2], filter: [3, 3, 2, 3], pad: 1 },
  { name: 'many images per band', x: [12, 10, 10, 2], filter: [3, 3, 2, 3], pad: 'same' },
  // Frames larger than one band: each is cut into bands of rows, the last one partial.
  { name: 'rows split into bands', x: [2, Math.ceil(bandPixels / 90) + 5, 90, 1], filter: [3, 3, 1, 2], pad: 'same', scale: 0.1 },
  // Output channels a multiple of 4: the SIMD module's direct kernel (16 channels at a time,
  // then 4; input channels in pairs, then one), against every kind of padding.
  { name: 'direct: 3x3 same, 17 -> 64 (the ConvLSTM gates)', x: [2, 7, 9, 17], filter: [3, 3, 17, 64], pad: 'same' },
  { name: 'direct: 5x5 same, 1 -> 16', x: [3, 8, 6, 1], filter: [5, 5, 1, 16], pad: 'same' },
  { name: 'direct: 3x3 valid, 3 -> 20 (16 + 4)', x: [2, 6, 7, 3], filter: [3, 3, 3, 20], pad: 'valid' },
  { name: 'direct: 2x4 same, 2 -> 4 (even kernel)', x: [1, 5, 9, 2], filter: [2, 4, 2, 4], pad: 'same' },
  { name: 'direct: asymmetric padding, 5 -> 8', x: [2, 6, 6, 5], filter: [3, 3, 5, 8], pad: ASYMMETRIC_PADDING },
  { name: 'direct: filter wider than the frame', x: [1, 3, 2, 2], filter: [5, 5, 2, 4], pad: 'same' },
  { name: 'direct: 1x1, 6 -> 12', x: [2, 4, 5, 6], filter: [1, 1, 6, 12], pad: 'valid' },
  { name: 'direct: long rows (12800 pixels summed), 2 -> 8', x: [1, 64, 200, 2], filter: [3, 3, 2, 8], pad: 'same', scale: 0.1 },
];

function backpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], pad: Pad, strides: number | [number, number] = 1): tf.Tensor {
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { filterShape, strides, pad, dataFormat: 'NHWC' });
}

function outputShape(c: Conv2DCase): [number, number, number, number] {
  return tf.tidy(() => {
    const y = tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, 1, c.pad);
    return y.shape;
  });
}

describe('Conv2DBackpropFilter on wasm', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it.each(cases)('matches the cpu backend: $name', async (c) => {
    await useBackend('cpu');
    const dyShape = outputShape(c);
    const scale = c.scale ?? 1;
    const xValues = randomValues(1, tf.util.sizeFromShape(c.x), -scale, scale);
    const dyValues = randomValues(2, tf.util.sizeFromShape(dyShape), -scale, scale);
    const body = (): tf.Tensor => backpropFilter(tf.tensor4d(xValues, c.x), tf.tensor4d(dyValues, dyShape), c.filter, c.pad);
    const [expected] = await runOn('cpu', body);
    // im2col rows copied by the SIMD module, and by copyWithin where it is off.
    for (const [actual] of [await runOn('wasm', body), await withoutSimd(() => runOn('wasm', body))]) {
      expect(actual!.length).toBe(tf.util.sizeFromShape(c.filter));
      expect(maxAbsDiff(actual!, expected!)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('gives the hand-worked gradient of a 2x2 valid convolution', async () => {
    await useBackend('wasm');
    // x = [[1,2,3],[4,5,6],[7,8,9]], dy = ones(2x2): dW[i][j] = sum of the 2x2 window at (i,j).
    const dW = tf.tidy(() => backpropFilter(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]), tf.ones([1, 2, 2, 1]) as tf.Tensor4D, [2, 2, 1, 1], 'valid'));
    expect(Array.from(dW.dataSync())).toEqual([12, 16, 24, 28]);
    dW.dispose();
  });

  it('leaves no tensor and no wasm buffer behind', async () => {
    await useBackend('wasm');
    const x = tf.tensor4d(randomValues(3, 2 * 100 * 90 * 2), [2, 100, 90, 2]);
    const dy = tf.tensor4d(randomValues(4, 2 * 100 * 90 * 3), [2, 100, 90, 3]);
    backpropFilter(x, dy, [3, 3, 2, 3], 'same').dispose();
    const before = liveCounts();
    for (let i = 0; i < 3; i++) {
      backpropFilter(x, dy, [3, 3, 2, 3], 'same').dispose();
      expect(liveCounts()).toEqual(before);
    }
    tf.dispose([x, dy]);
  });

  it('rejects strides other than 1 and NCHW, naming the attribute', async () => {
    await useBackend('wasm');
    const x = tf.zeros([1, 8, 8, 2]) as tf.Tensor4D;
    const dy = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const before = liveCounts();
    expect(() => backpropFilter(x, dy, [3, 3, 2, 3], 'same', 2)).toThrow(InvalidInputError);
    expect(() => backpropFilter(x, dy, [3, 3, 2, 3], 'same', 2)).toThrow(/Conv2DBackpropFilter on wasm: strides 2x2/);
    expect(() => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { filterShape: [3, 3, 2, 3], strides: 1, pad: 'same', dataFormat: 'NCHW' })).toThrow(/dataFormat NCHW/);
    expect(liveCounts()).toEqual(before);
    tf.dispose([x, dy]);
  });
});
