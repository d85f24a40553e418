import * as tf from '@tensorflow/tfjs';
import { getKernel } from '@tensorflow/tfjs';
import { registerWasmKernels, wasmKernelConfigs } from './index';
import { liveCounts, maxAbsDiff, randomValues, runOn, useBackend } from './testing/backends';

/**
 * End-to-end checks that the networks' training step runs on wasm and differentiates exactly as
 * on the cpu backend: a small conv encoder/decoder (M1-like) and a ConvLSTM cell unrolled over a
 * few frames, forwards and backwards (M2/M3-like), with the ops the nets use.
 */

function weights(seed: number, shapes: number[][]): tf.Tensor[] {
  return shapes.map((shape, i) => tf.tensor(randomValues(seed + i, tf.util.sizeFromShape(shape), -0.3, 0.3), shape));
}

const convShapes = [[5, 5, 1, 4], [4], [3, 3, 4, 3], [1, 1, 3, 1]];

function convNetLoss(frame: tf.Tensor4D, [k1, b1, k2, k3]: tf.Tensor[]): tf.Scalar {
  const h1 = tf.fused.conv2d({ x: frame, filter: k1 as tf.Tensor4D, strides: 1, pad: 'same', bias: b1, activation: 'relu' });
  const h2 = tf.tanh(tf.conv2d(h1, k2 as tf.Tensor4D, 1, 'valid'));
  const y = tf.sigmoid(tf.conv2d(h2, k3 as tf.Tensor4D, 1, 'same'));
  const target = tf.slice(frame, [0, 1, 1, 0], y.shape);
  const eps = 1e-6;
  const p = tf.clipByValue(y, eps, 1 - eps);
  return tf.neg(tf.mean(tf.add(tf.mul(target, tf.log(p)), tf.mul(tf.sub(1, target), tf.log(tf.sub(1, p)))))) as tf.Scalar;
}

const hidden = 3;
const lstmShapes = [[3, 3, 1 + hidden, 4 * hidden], [4 * hidden], [3, 3, hidden, 1]];

function convLstmLoss(frames: tf.Tensor4D[], [kernel, bias, readout]: tf.Tensor[]): tf.Scalar {
  const [batch, height, width] = frames[0]!.shape;
  let h: tf.Tensor4D = tf.zeros([batch, height, width, hidden]);
  let c: tf.Tensor4D = tf.zeros([batch, height, width, hidden]);
  const outputs: tf.Tensor4D[] = [];
  for (const frame of frames) {
    const gates = tf.add(tf.conv2d(tf.concat([frame, h], 3), kernel as tf.Tensor4D, 1, 'same'), bias);
    const [i, f, o, g] = tf.split(gates, 4, 3) as tf.Tensor4D[];
    c = tf.add(tf.mul(tf.sigmoid(f!), c), tf.mul(tf.sigmoid(i!), tf.tanh(g!)));
    h = tf.mul(tf.sigmoid(o!), tf.tanh(c));
    outputs.push(tf.conv2d(h, readout as tf.Tensor4D, 1, 'same'));
  }
  return tf.mean(tf.square(tf.sub(tf.stack(outputs), tf.stack(frames))));
}

describe('training on wasm with the project kernels', () => {
  it('registers every kernel once, however often asked', async () => {
    await useBackend('wasm');
    expect(registerWasmKernels()).toEqual([]);
    for (const config of wasmKernelConfigs) {
      expect(getKernel(config.kernelName, 'wasm')).toBe(config);
    }
  });

  it('gives the conv net the cpu backend gradients (weights and input)', async () => {
    const frame = randomValues(20, 2 * 12 * 10, 0, 1);
    const params = convShapes.map((shape, i) => randomValues(30 + i, tf.util.sizeFromShape(shape), -0.3, 0.3));
    const body = (): tf.Tensor[] => {
      const x = tf.tensor4d(frame, [2, 12, 10, 1]);
      const ws = params.map((v, i) => tf.tensor(v, convShapes[i]));
      return tf.grads((xIn: tf.Tensor, ...wIn: tf.Tensor[]) => convNetLoss(xIn as tf.Tensor4D, wIn))([x, ...ws]);
    };
    const expected = await runOn('cpu', body);
    const actual = await runOn('wasm', body);
    expect(actual).toHaveLength(5);
    actual.forEach((grad, i) => {
      expect(maxAbsDiff(grad, expected[i]!)).toBeLessThanOrEqual(1e-4);
      expect(grad.some((v) => v !== 0)).toBe(true);
    });
  });

  it('gives the ConvLSTM cell the cpu backend gradients through time', async () => {
    const seq = randomValues(40, 3 * 2 * 9 * 8, 0, 1);
    const params = lstmShapes.map((shape, i) => randomValues(50 + i, tf.util.sizeFromShape(shape), -0.3, 0.3));
    const body = (): tf.Tensor[] => {
      const frames = tf.unstack(tf.tensor5d(seq, [3, 2, 9, 8, 1])) as tf.Tensor4D[];
      const ws = params.map((v, i) => tf.tensor(v, lstmShapes[i]));
      const backwards = frames.slice().reverse();
      return tf.grads((...wIn: tf.Tensor[]) => tf.add(convLstmLoss(frames, wIn), convLstmLoss(backwards, wIn)))(ws);
    };
    const expected = await runOn('cpu', body);
    const actual = await runOn('wasm', body);
    expect(actual).toHaveLength(3);
    actual.forEach((grad, i) => {
      expect(maxAbsDiff(grad, expected[i]!)).toBeLessThanOrEqual(1e-4);
    });
  });

  it('runs RMSProp steps with a stable tensor count and a falling loss', async () => {
    await useBackend('wasm');
    const frame = tf.tensor4d(randomValues(60, 2 * 12 * 10, 0, 1), [2, 12, 10, 1]);
    const vars = weights(70, convShapes).map((w) => tf.variable(w));
    const optimizer = tf.train.rmsprop(1e-2, 0.9);
    const step = (): number => {
      const loss = optimizer.minimize(() => convNetLoss(frame, vars), true)!;
      const value = loss.dataSync()[0]!;
      loss.dispose();
      return value;
    };
    const first = step();
    const before = liveCounts();
    let last = first;
    for (let i = 0; i < 10; i++) {
      last = step();
      expect(liveCounts()).toEqual(before);
    }
    expect(last).toBeLessThan(first);
    optimizer.dispose();
    tf.dispose([frame, ...vars]);
  });
});
