import * as tf from '@tensorflow/tfjs';
import { createRng } from '@mitosis/core';
import type { ParamMap } from './common';
import { convLstmRadius, convLstmStep, convLstmStepPacked, createConvLstmCell, runConvLstm, runConvLstmSequence, zeroState } from './conv-lstm';
import type { ConvLstmCell } from './conv-lstm';
import { maxAbsDiff, randomSequence, useBackend } from './spec-utils';
import type { SpecBackend } from './spec-utils';

beforeAll(async () => {
  await useBackend('cpu');
});

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

describe('ConvLSTM cell', () => {
  it('computes the gates (i, f, o, g) from one convolution over [x, h] (1x1 case worked by hand)', () => {
    const params: ParamMap = new Map();
    const cell = createConvLstmCell(params, 'cell', 1, 1, 1, createRng(1));
    expect(cell.gates.kernel.shape).toEqual([1, 1, 2, 4]);
    const w = [0.5, -0.3, 0.8, 1.2]; // input row: i, f, o, g
    const u = [0.1, 0.7, -0.4, 0.6]; // hidden row
    const bias = [0.05, 0.2, -0.1, 0];
    cell.gates.kernel.assign(tf.tensor4d([...w, ...u], [1, 1, 2, 4]));
    cell.gates.bias.assign(tf.tensor1d(bias));

    const xs = [0.9, -0.4];
    let h = 0;
    let c = 0;
    const expected: number[] = [];
    for (const x of xs) {
      const z = [0, 1, 2, 3].map((k) => w[k]! * x + u[k]! * h + bias[k]!);
      c = sigmoid(z[1]!) * c + sigmoid(z[0]!) * Math.tanh(z[3]!);
      h = sigmoid(z[2]!) * Math.tanh(c);
      expected.push(h);
    }

    const frames = xs.map((x) => tf.fill([1, 1, 1, 1], x) as tf.Tensor4D);
    const outputs = runConvLstm(cell, frames);
    expect(outputs.map((o) => o.dataSync()[0])).toEqual(expected.map((e) => expect.closeTo(e, 6)));
    tf.dispose([...frames, ...outputs, ...params.values()]);
  });

  it('reads backward as "reverse the input, run, reverse the outputs"', () => {
    const params: ParamMap = new Map();
    const cell = createConvLstmCell(params, 'cell', 1, 3, 3, createRng(2));
    const x = randomSequence(3, [2, 4, 5, 6, 1]);
    const backward = runConvLstmSequence(cell, x, true);
    const byHand = tf.reverse(runConvLstmSequence(cell, tf.reverse(x, 1)), 1);
    expect(backward.shape).toEqual([2, 4, 5, 6, 3]);
    expect(maxAbsDiff(backward, byHand)).toBeLessThan(1e-6);
    const forward = runConvLstmSequence(cell, x);
    expect(maxAbsDiff(backward, forward)).toBeGreaterThan(1e-3);
    tf.dispose([x, backward, byHand, forward, ...params.values()]);
  });

  it('widens its receptive field by (k-1)/2 per step: a change in x_1 reaches h_T exactly T pixels away', () => {
    const params: ParamMap = new Map();
    const cell = createConvLstmCell(params, 'cell', 1, 2, 3, createRng(4));
    const steps = 3;
    const size = 13;
    const centre = 6;
    const base = randomSequence(5, [1, steps, size, size, 1]);
    const bump = tf.buffer([1, steps, size, size, 1]);
    bump.set(1, 0, 0, centre, centre, 0);
    const moved = tf.add(base, bump.toTensor()) as tf.Tensor5D;
    const last = (x: tf.Tensor5D): tf.Tensor => tf.tidy(() => runConvLstmSequence(cell, x).slice([0, steps - 1], [1, 1]));
    const diff = tf.tidy(() =>
      tf
        .abs(tf.sub(last(base), last(moved)))
        .max(4)
        .reshape([size, size]),
    );
    const d = diff.arraySync() as number[][];
    const radius = convLstmRadius(3, steps);
    expect(radius).toBe(3);
    let ring = 0;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const distance = Math.max(Math.abs(y - centre), Math.abs(x - centre));
        if (distance > radius) expect(d[y]![x]).toBe(0);
        if (distance === radius) ring = Math.max(ring, d[y]![x]!);
      }
    }
    expect(ring).toBeGreaterThan(0);
    tf.dispose([base, moved, diff, ...params.values()]);
  });

  it('starts from a zero state of the hidden width', () => {
    const params: ParamMap = new Map();
    const cell = createConvLstmCell(params, 'cell', 2, 5, 3, createRng(1));
    const state = zeroState(cell, 2, 4, 3);
    expect(state.h.shape).toEqual([2, 4, 3, 5]);
    const next = convLstmStep(cell, tf.zeros([2, 4, 3, 2]), state);
    // Zero input, zero state, zero bias: g = 0 so c stays 0 and h = sig(0) * tanh(0) = 0.
    expect(Array.from(next.h.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose([state.h, state.c, next.h, next.c, ...params.values()]);
  });
});

/** The plain autodiff runner, as the reference for the packed, hand-differentiated one. */
function referenceRun(cell: ConvLstmCell, frames: tf.Tensor4D[]): tf.Tensor4D[] {
  const [b, h, w] = frames[0]!.shape;
  let state = zeroState(cell, b, h, w);
  return frames.map((frame) => {
    state = convLstmStep(cell, frame, state);
    return state.h;
  });
}

describe.each<SpecBackend>(['cpu', 'wasm'])('packed ConvLSTM step with its own backward pass, on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('equals the autodiff step in value and in every gradient (x, h, c, kernel, bias)', () => {
    const params: ParamMap = new Map();
    const cell = createConvLstmCell(params, 'cell', 2, 3, 3, createRng(7));
    cell.gates.bias.assign(tf.tensor1d(Array.from({ length: 12 }, (_, i) => 0.1 * (i - 6))));
    const [x, h, c, rh, rc] = [2, 3, 3, 3, 3].map((ch, k) => tf.squeeze(randomSequence(40 + k, [2, 1, 5, 4, ch], -1, 1), [1]) as tf.Tensor4D) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];
    const reference = (xi: tf.Tensor, hi: tf.Tensor, ci: tf.Tensor): tf.Scalar => {
      const next = convLstmStep(cell, xi as tf.Tensor4D, { h: hi as tf.Tensor4D, c: ci as tf.Tensor4D });
      return tf.add(tf.sum(tf.mul(next.h, rh)), tf.sum(tf.mul(next.c, rc)));
    };
    const packed = (xi: tf.Tensor, hi: tf.Tensor, ci: tf.Tensor): tf.Scalar => {
      const [hn, cn] = tf.split(convLstmStepPacked(cell, xi as tf.Tensor4D, tf.concat([hi, ci], 0) as tf.Tensor4D), 2, 0);
      return tf.add(tf.sum(tf.mul(hn!, rh)), tf.sum(tf.mul(cn!, rc)));
    };
    const inputGrads = (f: typeof reference): tf.Tensor[] => tf.grads(f)([x, h, c]);
    const weightGrads = (f: typeof reference): { value: tf.Scalar; grads: tf.NamedTensorMap } => tf.variableGrads(() => f(x, h, c), [cell.gates.kernel, cell.gates.bias]);
    const [a, b] = [weightGrads(reference), weightGrads(packed)];
    expect(b.value.dataSync()[0]).toBeCloseTo(a.value.dataSync()[0]!, 5);
    for (const name of Object.keys(a.grads)) expect(maxAbsDiff(a.grads[name]!, b.grads[name]!)).toBeLessThan(1e-5);
    const [ga, gb] = [inputGrads(reference), inputGrads(packed)];
    ga.forEach((g, k) => expect(maxAbsDiff(g, gb[k]!)).toBeLessThan(1e-5));
    tf.dispose([x, h, c, rh, rc, a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads), ...ga, ...gb, ...params.values()]);
  });

  it('without the input gradient: the same value, state and weight gradients, and zeros for x', () => {
    const params: ParamMap = new Map();
    const cell = createConvLstmCell(params, 'cell', 1, 4, 3, createRng(9));
    const x = tf.squeeze(randomSequence(70, [2, 1, 5, 6, 1]), [1]) as tf.Tensor4D;
    const hc = tf.squeeze(randomSequence(71, [4, 1, 5, 6, 4], -1, 1), [1]) as tf.Tensor4D;
    const r = tf.squeeze(randomSequence(72, [4, 1, 5, 6, 4], -1, 1), [1]);
    const loss =
      (inputGradient: boolean) =>
      (xi: tf.Tensor, hci: tf.Tensor): tf.Scalar =>
        tf.sum(tf.mul(convLstmStepPacked(cell, xi as tf.Tensor4D, hci as tf.Tensor4D, { inputGradient }), r));
    const [withX, without] = [true, false].map((flag) => tf.grads(loss(flag))([x, hc]));
    const [wWith, wWithout] = [true, false].map((flag) => tf.variableGrads(() => loss(flag)(x, hc), [cell.gates.kernel, cell.gates.bias]));
    expect(maxAbsDiff(withX![1]!, without![1]!)).toBeLessThan(1e-6);
    expect(Array.from(without![0]!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(maxAbsDiff(withX![0]!, without![0]!)).toBeGreaterThan(1e-3);
    for (const name of Object.keys(wWith!.grads)) expect(maxAbsDiff(wWith!.grads[name]!, wWithout!.grads[name]!)).toBeLessThan(1e-6);
    tf.dispose([x, hc, r, ...withX!, ...without!, wWith!.value, wWithout!.value, ...Object.values(wWith!.grads), ...Object.values(wWithout!.grads), ...params.values()]);
  });

  it('trains a sequence exactly as autodiff would: same outputs and weight gradients over 4 steps', () => {
    const params: ParamMap = new Map();
    const cell = createConvLstmCell(params, 'cell', 1, 4, 3, createRng(8));
    const frames = [0, 1, 2, 3].map((t) => tf.squeeze(randomSequence(50 + t, [1, 1, 6, 6, 1]), [1]) as tf.Tensor4D);
    const weights = tf.squeeze(randomSequence(60, [1, 1, 6, 6, 4], -1, 1), [1]);
    const loss = (run: (c: ConvLstmCell, f: tf.Tensor4D[]) => tf.Tensor4D[]) => (): tf.Scalar =>
      tf.addN(run(cell, frames).map((out, t) => tf.mul(t + 1, tf.sum(tf.mul(out, weights))))) as tf.Scalar;
    const a = tf.variableGrads(loss(referenceRun), [cell.gates.kernel, cell.gates.bias]);
    const b = tf.variableGrads(
      loss((c, f) => runConvLstm(c, f)),
      [cell.gates.kernel, cell.gates.bias],
    );
    expect(b.value.dataSync()[0]).toBeCloseTo(a.value.dataSync()[0]!, 4);
    for (const name of Object.keys(a.grads)) expect(maxAbsDiff(a.grads[name]!, b.grads[name]!)).toBeLessThan(1e-4);
    tf.dispose([...frames, weights, a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads), ...params.values()]);
  });
});
