import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';
import { createM2 } from './m2';
import { eventSequences, maxAbsDiff, meanOnOff, useBackend, weightValues } from './spec-utils';
import type { SpecBackend } from './spec-utils';

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
// Narrow layers where the cpu backend trains (its filter gradient is slow).
const small = { hidden: 2, encoderWidths: [2, 2], decoderWidth: 2 };

describe.each<SpecBackend>(['cpu', 'wasm'])('M2 (III.D) on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it("has the paper layout by default and predicts e' of the input shape", () => {
    const m2 = createM2();
    expect(m2.kind).toBe('m2');
    expect(m2.config).toMatchObject({ hidden: 16, kernel: 3, encoderWidths: [16, 16], decoderWidth: 16 });
    expect(Object.fromEntries([...m2.params].filter(([name]) => name.endsWith('kernel')).map(([name, v]) => [name, v.shape]))).toEqual({
      'encode1/kernel': [3, 3, 1, 16],
      'encode2/kernel': [3, 3, 16, 16],
      'lstm/kernel': [3, 3, 32, 64],
      'decode/kernel': [3, 3, 16, 16],
      'output/kernel': [1, 1, 16, 1],
    });
    const { context, events } = eventSequences(1, 2, 3, 8, 1);
    const e = m2.predict(context);
    expect(e.shape).toEqual([2, 3, 8, 8, 1]);
    expect(Array.from(e.dataSync()).every((v) => v > 0 && v < 1)).toBe(true);
    const again = m2.predict(context);
    expect(maxAbsDiff(e, again)).toBe(0);
    tf.dispose([context, events, e, again]);
    m2.dispose();
  });

  it('predicts frame by frame: causal, equal on a prefix, and leaving no tensor behind', () => {
    const m2 = createM2({ ...small, seed: 4 });
    const { context } = eventSequences(2, 1, 6, 8, 1);
    const before = tf.memory().numTensors;
    const whole = m2.predict(context);
    expect(tf.memory().numTensors).toBe(before + 1);
    const prefixInput = tf.slice(context, [0, 0, 0, 0, 0], [1, 4, 8, 8, 1]);
    const prefix = m2.predict(prefixInput);
    const head = tf.slice(whole, [0, 0, 0, 0, 0], [1, 4, 8, 8, 1]);
    expect(maxAbsDiff(prefix, head)).toBeLessThan(1e-6);
    tf.dispose([whole, prefixInput, prefix, head, context]);
    m2.dispose();
  });

  it("corrects e' for the event weight: the same weights give sigmoid(logit - log w)", () => {
    const read = (t: tf.Tensor): number[] => {
      const values = Array.from(t.dataSync());
      t.dispose();
      return values;
    };
    const plain = createM2({ ...small, seed: 4 });
    const weighted = createM2({ ...small, seed: 4, positiveWeight: 5 });
    const maps = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([1, 3, 6, 5, 1], 0, 1, 'float32', 9), 0.5), 'float32')) as tf.Tensor5D;
    const p1 = read(plain.predict(maps));
    const p5 = read(weighted.predict(maps));
    const expected = p1.map((p) => 1 / (1 + Math.exp(-(Math.log(p / (1 - p)) - Math.log(5)))));
    expect(Math.max(...p5.map((p, i) => Math.abs(p - (expected[i] ?? Number.NaN))))).toBeLessThan(1e-5);
    maps.dispose();
    plain.dispose();
    weighted.dispose();
  });

  it('repeats weights and losses for a seed, and differs for another', () => {
    const { context, events } = eventSequences(2, 1, 3, 5, 1);
    const run = (seed: number): { losses: number[]; weights: Record<string, number[]> } => {
      const m2 = createM2({ ...small, seed });
      const losses = [0, 1, 2].map(() => m2.trainStep(context, events));
      const weights = weightValues(m2.params);
      m2.dispose();
      return { losses, weights };
    };
    const a = run(4);
    expect(run(4)).toEqual(a);
    expect(run(5).weights['lstm/kernel']).not.toEqual(a.weights['lstm/kernel']);
    tf.dispose([context, events]);
  });

  it('keeps the tensor count stable across 20 training steps and frees everything on dispose', () => {
    const { context, events } = eventSequences(3, 1, 2, 5, 1);
    const start = tf.memory().numTensors;
    const m2 = createM2({ hidden: 1, encoderWidths: [1, 1], decoderWidth: 1 });
    m2.trainStep(context, events);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) m2.trainStep(context, events);
    tf.dispose(m2.predict(context));
    expect(tf.memory().numTensors).toBe(before);
    m2.dispose();
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([context, events]);
  });
});

describe('M2 training', () => {
  it('learns on wasm to mark where a cell vanished from the context (the removed event)', async () => {
    await useBackend('wasm');
    const m2 = createM2({ seed: 1, optimizer: { learningRate: 1e-2 } });
    const losses: number[] = [];
    for (let i = 0; i < 80; i++) {
      const { context, events } = eventSequences(i, 1, 4, 10, 2);
      losses.push(m2.trainStep(context, events));
      tf.dispose([context, events]);
    }
    expect(mean(losses.slice(-5))).toBeLessThan(0.5 * mean(losses.slice(0, 5)));
    const { context, events } = eventSequences(1000, 4, 4, 10, 2);
    const e = m2.predict(context);
    const { on, off } = meanOnOff(e, events);
    expect(on).toBeGreaterThan(5 * off);
    tf.dispose([context, events, e]);
    m2.dispose();
  });

  it('rejects bad configs and inputs with a named problem', () => {
    expect(() => createM2({ hidden: 1.5 })).toThrow(/hidden must be a positive integer/);
    expect(() => createM2({ encoderWidths: [4, 0] })).toThrow(/encoderWidths\[1\] must be a positive integer/);
    const m2 = createM2(small);
    const { context, events } = eventSequences(4, 1, 3, 5, 1);
    const shorter = tf.slice(events, [0, 0], [1, 2]) as tf.Tensor5D;
    expect(() => m2.trainStep(context, shorter)).toThrow(/M2 event labels shape \[1, 2, 5, 5, 1\] differs from M2 context sequence shape \[1, 3, 5, 5, 1\]/);
    expect(() => m2.predict(tf.zeros([1, 3, 5, 5, 2]) as tf.Tensor5D)).toThrow(InvalidInputError);
    tf.dispose([context, events, shorter]);
    m2.dispose();
  });
});
