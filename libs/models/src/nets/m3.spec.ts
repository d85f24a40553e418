import * as tf from '@tensorflow/tfjs';
import { InvalidInputError, createRng } from '@mitosis/core';
import { createM3 } from './m3';
import { blobWindows, maxAbsDiff, meanOnOff, randomSequence, useBackend, weightValues } from './spec-utils';
import type { SpecBackend } from './spec-utils';

// Narrow layers where the cpu backend trains: its convolution filter gradient is ~100x slower than wasm's.
const small = { hidden: 2, decoderWidth: 2 } as const;
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.each<SpecBackend>(['cpu', 'wasm'])('M3 (III.F) on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('has the paper layout by default and predicts probabilities of the input shape', () => {
    const m3 = createM3();
    expect(m3.kind).toBe('m3');
    expect(m3.config).toMatchObject({ hidden: 16, kernel: 3, dropout: 0.3, positiveWeight: 1, optimizer: { learningRate: 1e-3, decay: 0.9 } });
    expect(Object.fromEntries([...m3.params].map(([name, v]) => [name, v.shape]))).toEqual({
      'forward/kernel': [3, 3, 17, 64],
      'forward/bias': [64],
      'backward/kernel': [3, 3, 17, 64],
      'backward/bias': [64],
      'decode/kernel': [3, 3, 32, 16],
      'decode/bias': [16],
      'output/kernel': [1, 1, 16, 1],
      'output/bias': [1],
    });
    const x = randomSequence(1, [2, 3, 7, 9, 1]);
    const p = m3.predict(x);
    expect(p.shape).toEqual([2, 3, 7, 9, 1]);
    expect(Array.from(p.dataSync()).every((v) => v > 0 && v < 1)).toBe(true);
    tf.dispose([x, p]);
    m3.dispose();
  });

  it('corrects its probabilities for the positive weight: the same weights give sigmoid(logit - log w)', () => {
    const plain = createM3({ ...small, seed: 4 });
    const weighted = createM3({ ...small, seed: 4, positiveWeight: 20 });
    const x = randomSequence(2, [1, 3, 6, 5, 1]);
    const read = (t: tf.Tensor): number[] => {
      const values = Array.from(t.dataSync());
      t.dispose();
      return values;
    };
    const p1 = read(plain.predict(x));
    const p20 = read(weighted.predict(x));
    const expected = p1.map((p) => 1 / (1 + Math.exp(-(Math.log(p / (1 - p)) - Math.log(20)))));
    expect(Math.max(...p20.map((p, i) => Math.abs(p - (expected[i] ?? Number.NaN))))).toBeLessThan(1e-5);
    tf.dispose(x);
    plain.dispose();
    weighted.dispose();
  });

  it('repeats weights and losses for a seed, and differs for another', () => {
    const run = (seed: number): { losses: number[]; weights: Record<string, number[]> } => {
      const m3 = createM3({ ...small, seed });
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { windows, labels } = blobWindows(i, 1, 3, 5);
        losses.push(m3.trainStep(windows, labels));
        tf.dispose([windows, labels]);
      }
      const weights = weightValues(m3.params);
      m3.dispose();
      return { losses, weights };
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(run(8).weights['forward/kernel']).not.toEqual(a.weights['forward/kernel']);
  });

  it('keeps the tensor count stable across 20 training steps and frees everything on dispose', () => {
    const { windows, labels } = blobWindows(3, 1, 2, 5);
    const start = tf.memory().numTensors;
    const m3 = createM3({ hidden: 1, decoderWidth: 1 });
    m3.trainStep(windows, labels); // the optimiser makes its slots on the first step
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) m3.trainStep(windows, labels);
    tf.dispose(m3.predict(windows));
    expect(tf.memory().numTensors).toBe(before);
    m3.dispose();
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([windows, labels]);
  });

  it('drops out in training only, with masks from the given generator', () => {
    const { windows, labels } = blobWindows(4, 1, 3, 5);
    const firstLoss = (dropout: number, rngSeed: number): number => {
      const m3 = createM3({ ...small, dropout, seed: 3 });
      const loss = m3.trainStep(windows, labels, createRng(rngSeed));
      m3.dispose();
      return loss;
    };
    expect(firstLoss(0.3, 1)).toBe(firstLoss(0.3, 1));
    expect(firstLoss(0.3, 1)).not.toBe(firstLoss(0.3, 2));
    expect(firstLoss(0, 1)).toBe(firstLoss(0, 2));
    const m3 = createM3({ ...small, dropout: 0.5 });
    const a = m3.predict(windows);
    const b = m3.predict(windows);
    expect(maxAbsDiff(a, b)).toBe(0);
    tf.dispose([a, b, windows, labels]);
    m3.dispose();
  });

  it('weighs positive voxels by positiveWeight (a deviation from eq. 13, 1 by default)', () => {
    const { windows, labels } = blobWindows(5, 1, 3, 6);
    const loss = (positiveWeight: number): number => {
      const m3 = createM3({ ...small, dropout: 0, positiveWeight });
      const value = m3.trainStep(windows, labels);
      m3.dispose();
      return value;
    };
    expect(loss(5)).toBeGreaterThan(loss(1));
    tf.dispose([windows, labels]);
  });
});

describe('M3 training', () => {
  it('learns on wasm to mark a bright blob that appears in the middle frames', async () => {
    await useBackend('wasm');
    const m3 = createM3({ seed: 1, optimizer: { learningRate: 1e-2 } });
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const { windows, labels } = blobWindows(i, 1, 4, 10);
      losses.push(m3.trainStep(windows, labels));
      tf.dispose([windows, labels]);
    }
    expect(mean(losses.slice(-5))).toBeLessThan(0.5 * mean(losses.slice(0, 5)));
    const { windows, labels } = blobWindows(1000, 2, 4, 10);
    const p = m3.predict(windows);
    const { on, off } = meanOnOff(p, labels);
    expect(on).toBeGreaterThan(4 * off);
    tf.dispose([windows, labels, p]);
    m3.dispose();
  });

  it('trains the same on wasm (project kernels) as on the cpu reference', async () => {
    const run = async (backend: SpecBackend): Promise<{ losses: number[]; p: Float32Array }> => {
      await useBackend(backend);
      const m3 = createM3({ ...small, seed: 11 });
      const losses: number[] = [];
      for (let i = 0; i < 2; i++) {
        const { windows, labels } = blobWindows(20 + i, 2, 3, 6);
        losses.push(m3.trainStep(windows, labels));
        tf.dispose([windows, labels]);
      }
      const { windows, labels } = blobWindows(30, 1, 3, 6);
      const out = m3.predict(windows);
      const p = Float32Array.from(out.dataSync());
      tf.dispose([windows, labels, out]);
      m3.dispose();
      return { losses, p };
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    wasm.losses.forEach((loss, i) => expect(loss).toBeCloseTo(cpu.losses[i]!, 4));
    expect(Math.max(...wasm.p.map((v, i) => Math.abs(v - cpu.p[i]!)))).toBeLessThan(1e-4);
  });

  it('rejects bad configs and inputs with a named problem', () => {
    expect(() => createM3({ hidden: 0 })).toThrow(/hidden must be a positive integer/);
    expect(() => createM3({ dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    expect(() => createM3({ kernel: 4 })).toThrow(/kernel must be odd/);
    expect(() => createM3({ positiveWeight: -1 })).toThrow(InvalidInputError);
    const m3 = createM3(small);
    const x = tf.zeros([1, 3, 4, 4, 1]) as tf.Tensor5D;
    const y = tf.zeros([1, 2, 4, 4, 1]) as tf.Tensor5D;
    expect(() => m3.trainStep(x, y)).toThrow(/M3 labels shape \[1, 2, 4, 4, 1\] differs from M3 training windows shape \[1, 3, 4, 4, 1\]/);
    expect(() => m3.predict(tf.zeros([3, 4, 4, 1]) as unknown as tf.Tensor5D)).toThrow(InvalidInputError);
    tf.dispose([x, y]);
    m3.dispose();
  });
});
