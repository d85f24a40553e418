import * as tf from '@tensorflow/tfjs';
import { liveCounts, maxAbsDiff, randomValues, runOn, useBackend } from '../testing/backends';
import type { Conv2DCase, Pad } from '../testing/conv2d-cases';
import { CONV2D_CASES } from '../testing/conv2d-cases';

const cases: Conv2DCase[] = [
  ...CONV2D_CASES,
  {
    name: 'padding wider than the filter (built-in kernel)',
    x: [1, 5, 5, 2],
    filter: [2, 2, 2, 3],
    pad: [
      [0, 0],
      [3, 0],
      [0, 2],
      [0, 0],
    ],
  },
  { name: 'stride 2 (built-in kernel)', x: [2, 8, 7, 2], filter: [3, 3, 2, 3], pad: 'same', strides: 2 },
];

function backpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: number[], pad: Pad, strides = 1): tf.Tensor {
  return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { inputShape, strides, pad, dataFormat: 'NHWC' });
}

describe('Conv2DBackpropInput on wasm (forward convolution with the rotated filter)', () => {
  it.each(cases)('matches the cpu backend: $name', async (c) => {
    await useBackend('cpu');
    const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.strides ?? 1, c.pad).shape);
    const dyValues = randomValues(5, tf.util.sizeFromShape(dyShape));
    const filterValues = randomValues(6, tf.util.sizeFromShape(c.filter));
    const body = (): tf.Tensor => backpropInput(tf.tensor4d(dyValues, dyShape), tf.tensor4d(filterValues, c.filter), c.x, c.pad, c.strides);
    const [expected] = await runOn('cpu', body);
    const [actual] = await runOn('wasm', body);
    expect(actual!.length).toBe(tf.util.sizeFromShape(c.x));
    expect(maxAbsDiff(actual!, expected!)).toBeLessThanOrEqual(1e-4);
  });

  it('sends a gradient at the centre output back through each weight', async () => {
    await useBackend('wasm');
    // dy = 1 only at the centre of a 3x3 'same' output, which read input (y, x) through W[y][x]:
    // so dx = W, unflipped (a flip or pad mistake shows up as a reversed or shifted W).
    const w = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const dx = tf.tidy(() => backpropInput(tf.tensor4d([0, 0, 0, 0, 1, 0, 0, 0, 0], [1, 3, 3, 1]), tf.tensor4d(w, [3, 3, 1, 1]), [1, 3, 3, 1], 'same'));
    expect(Array.from(dx.dataSync())).toEqual(w);
    dx.dispose();
  });

  it('leaves no tensor and no wasm buffer behind', async () => {
    await useBackend('wasm');
    const dy = tf.tensor4d(randomValues(7, 2 * 20 * 20 * 4), [2, 20, 20, 4]);
    const filter = tf.tensor4d(randomValues(8, 5 * 5 * 3 * 4), [5, 5, 3, 4]);
    backpropInput(dy, filter, [2, 20, 20, 3], 'same').dispose();
    const before = liveCounts();
    for (let i = 0; i < 3; i++) {
      backpropInput(dy, filter, [2, 20, 20, 3], 'same').dispose();
      expect(liveCounts()).toEqual(before);
    }
    tf.dispose([dy, filter]);
  });
});
