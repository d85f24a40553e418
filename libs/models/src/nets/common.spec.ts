import * as tf from '@tensorflow/tfjs';
import { InvalidInputError, createRng } from '@mitosis/core';
import { binaryCrossEntropyWithLogits, checkSequence, conv2d, createConv, glorotUniform, interiorMask, resolveRmsProp } from './common';
import type { ParamMap } from './common';
import { receptiveFieldRadius } from './receptive-field';
import { useBackend } from './spec-utils';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('glorotUniform', () => {
  it('draws within +-sqrt(6/(fanIn+fanOut)), both signs, repeatably for a seed', () => {
    const a = glorotUniform([3, 3, 2, 4], 18, 36, createRng(5));
    const b = glorotUniform([3, 3, 2, 4], 18, 36, createRng(5));
    const c = glorotUniform([3, 3, 2, 4], 18, 36, createRng(6));
    const limit = Math.sqrt(6 / 54);
    const values = Array.from(a.dataSync());
    expect(values).toHaveLength(72);
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...values)).toBeGreaterThan(limit / 2);
    expect(Math.min(...values)).toBeLessThan(-limit / 2);
    expect(Array.from(b.dataSync())).toEqual(values);
    expect(Array.from(c.dataSync())).not.toEqual(values);
    tf.dispose([a, b, c]);
  });

  it('gives zero biases and a named kernel/bias pair per conv', () => {
    const params: ParamMap = new Map();
    const conv = createConv(params, 'enc', 5, 1, 16, createRng(1));
    expect([...params.keys()]).toEqual(['enc/kernel', 'enc/bias']);
    expect(conv.kernel.shape).toEqual([5, 5, 1, 16]);
    expect(Array.from(conv.bias.dataSync())).toEqual(new Array(16).fill(0));
    expect(() => createConv(params, 'enc', 3, 1, 1, createRng(1))).toThrow(/defined twice/);
    tf.dispose([...params.values()]);
  });
});

describe('conv2d', () => {
  it("pads with zeros ('same'): a 3x3 box of ones over a 3x3 frame of ones counts the neighbours inside the frame", () => {
    const params: ParamMap = new Map();
    const conv = createConv(params, 'box', 3, 1, 1, createRng(1));
    conv.kernel.assign(tf.ones([3, 3, 1, 1]));
    conv.bias.assign(tf.tensor1d([0.5]));
    const out = conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, conv);
    expect(out.shape).toEqual([1, 3, 3, 1]);
    expect(Array.from(out.dataSync())).toEqual([4.5, 6.5, 4.5, 6.5, 9.5, 6.5, 4.5, 6.5, 4.5]);
    const relu = conv2d(tf.fill([1, 3, 3, 1], -1) as tf.Tensor4D, conv, 'relu');
    expect(Array.from(relu.dataSync())).toEqual(new Array(9).fill(0));
    tf.dispose([out, relu, ...params.values()]);
  });
});

describe('binaryCrossEntropyWithLogits', () => {
  let logits: tf.Tensor1D;
  let labels: tf.Tensor1D;
  beforeAll(() => {
    logits = tf.tensor1d([0, 2, -1]);
    labels = tf.tensor1d([1, 0, 1]);
  });

  it('is the mean of -[y log s(z) + (1-y) log(1-s(z))] (eqs. 10-13)', () => {
    // log 2, softplus(2), softplus(1): worked by hand.
    const expected = (Math.LN2 + Math.log1p(Math.exp(2)) + Math.log1p(Math.exp(1))) / 3;
    expect(binaryCrossEntropyWithLogits(logits, labels).dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it('weighs positive pixels by positiveWeight', () => {
    const expected = (3 * Math.LN2 + Math.log1p(Math.exp(2)) + 3 * Math.log1p(Math.exp(1))) / 3;
    expect(binaryCrossEntropyWithLogits(logits, labels, 3).dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it('averages over the voxels a mask keeps, the mask broadcast over batch and time', () => {
    // [2, 1, 3, 3, 1] logits 0 except a 5 at each corner, labels 0: the corners cost softplus(5).
    const values = new Float32Array(18);
    for (const b of [0, 9]) for (const corner of [0, 2, 6, 8]) values[b + corner] = 5;
    const z = tf.tensor5d(values, [2, 1, 3, 3, 1]);
    const y = tf.zerosLike(z);
    const mask = interiorMask(3, 3, 1);
    expect(Array.from(mask.dataSync())).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
    // Only the centre is kept: softplus(0) = log 2, whatever the corners hold.
    expect(binaryCrossEntropyWithLogits(z, y, 1, mask).dataSync()[0]).toBeCloseTo(Math.LN2, 5);
    expect(binaryCrossEntropyWithLogits(z, y).dataSync()[0]).toBeGreaterThan(1);
    expect(() => interiorMask(3, 3, 2)).toThrow(InvalidInputError);
    tf.dispose([z, y, mask]);
  });

  it('stays finite where the sigmoid saturates', () => {
    const loss = binaryCrossEntropyWithLogits(tf.tensor1d([-100, 100]), tf.tensor1d([1, 0]));
    expect(loss.dataSync()[0]).toBeCloseTo(100, 3);
  });
});

describe('checks', () => {
  it('names the shape of a wrong input', () => {
    const x = tf.zeros([2, 4, 4, 1]);
    expect(() => checkSequence(x, 'M3 windows', 1)).toThrow(InvalidInputError);
    expect(() => checkSequence(x, 'M3 windows', 1)).toThrow(/M3 windows must be \[batch, time, height, width, 1\], got shape \[2, 4, 4, 1\]/);
    expect(() => checkSequence(tf.zeros([1, 2, 4, 4, 3]), 'maps', 1)).toThrow(/1 channel/);
    x.dispose();
  });

  it('rejects bad optimiser settings and defaults to the paper (III.H)', () => {
    expect(resolveRmsProp(undefined)).toMatchObject({ learningRate: 1e-3, decay: 0.9 });
    expect(() => resolveRmsProp({ decay: 1.5 })).toThrow(/optimizer.decay must be in \[0, 1\)/);
    expect(() => resolveRmsProp({ learningRate: 0 })).toThrow(InvalidInputError);
  });
});

describe('receptiveFieldRadius', () => {
  it('adds (k-1)/2 per conv and steps*(k-1)/2 per ConvLSTM', () => {
    expect(
      receptiveFieldRadius(
        [
          { kind: 'conv', size: 5 },
          { kind: 'conv', size: 1 },
        ],
        1,
      ),
    ).toBe(2);
    expect(
      receptiveFieldRadius(
        [
          { kind: 'convlstm', size: 3 },
          { kind: 'conv', size: 3 },
        ],
        8,
      ),
    ).toBe(9);
    expect(receptiveFieldRadius([{ kind: 'convlstm', size: 5 }], 3)).toBe(6);
    expect(() => receptiveFieldRadius([], 0)).toThrow(InvalidInputError);
  });
});
