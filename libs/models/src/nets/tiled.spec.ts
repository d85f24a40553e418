import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';
import { createM1 } from './m1';
import { createM2 } from './m2';
import { createM3 } from './m3';
import { maxAbsDiff, randomSequence, useBackend } from './spec-utils';
import type { SpecBackend } from './spec-utils';
import { predictTiled } from './tiled';

describe('receptive radius', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('follows the layer stacks: M3 = t + 1, M2 = t + 3, M1 = 8 (3x3 / 5x5 kernels)', () => {
    const m1 = createM1();
    const m2 = createM2();
    const m3 = createM3();
    // M3: ConvLSTM 3x3 over t steps (t), conv 3x3 (1), conv 1x1 (0).
    expect(m3.receptiveRadius(8)).toBe(9);
    expect(m3.receptiveRadius(1)).toBe(2);
    // M2: conv 3x3, conv 3x3 (2), ConvLSTM (t), conv 3x3 (1), conv 1x1.
    expect(m2.receptiveRadius(8)).toBe(11);
    // M1: encoder 5x5, 5x5, 1x1 and decoder 5x5, 5x5, 1x1.
    expect(m1.receptiveRadius(1)).toBe(8);
    expect(createM3({ kernel: 5 }).receptiveRadius(4)).toBe(10);
    for (const m of [m1, m2, m3]) m.dispose();
  });
});

describe.each<SpecBackend>(['cpu', 'wasm'])('predictTiled on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(['m2', 'm3'] as const)('stitches %s tiles into the whole-frame output when the margin covers the receptive field', (kind) => {
    // The paper's widths on wasm; narrow ones on the much slower cpu backend.
    const narrow = backend === 'cpu';
    const model =
      kind === 'm2'
        ? createM2(narrow ? { seed: 3, hidden: 4, encoderWidths: [4, 4], decoderWidth: 4 } : { seed: 3 })
        : createM3(narrow ? { seed: 3, hidden: 4, decoderWidth: 4 } : { seed: 3 });
    const steps = narrow ? 2 : 4;
    const x = randomSequence(9, [1, steps, 17, 19, 1]);
    const whole = model.predict(x);
    const margin = model.receptiveRadius(steps);
    const before = tf.memory().numTensors;
    const tiled = predictTiled((tile) => model.predict(tile), x, { tile: 6, margin });
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(tiled.shape).toEqual(whole.shape);
    expect(maxAbsDiff(tiled, whole)).toBeLessThan(1e-5);
    // Two pixels short of the field, the seams show.
    const short = predictTiled((tile) => model.predict(tile), x, { tile: 6, margin: margin - 2 });
    expect(maxAbsDiff(short, whole)).toBeGreaterThan(1e-5);
    tf.dispose([x, whole, tiled, short]);
    model.dispose();
  });

  it('lets the prediction change the channel count, and passes small inputs straight through', () => {
    const x = randomSequence(2, [2, 2, 6, 5, 1]);
    const twice = predictTiled((tile) => tf.concat([tile, tf.mul(tile, 2)], 4) as tf.Tensor5D, x, { tile: 4, margin: 0 });
    expect(twice.shape).toEqual([2, 2, 6, 5, 2]);
    const expected = tf.concat([x, tf.mul(x, 2)], 4);
    expect(maxAbsDiff(twice, expected)).toBe(0);
    const calls: number[][] = [];
    const single = predictTiled(
      (tile) => {
        calls.push(tile.shape);
        return tf.clone(tile);
      },
      x,
      { tile: 6, margin: 3 },
    );
    expect(calls).toEqual([[2, 2, 6, 5, 1]]);
    tf.dispose([x, twice, expected, single]);
  });

  it('names bad options and bad predictions', () => {
    const x = randomSequence(3, [1, 2, 6, 6, 1]);
    expect(() => predictTiled((t) => t, x, { tile: 0, margin: 1 })).toThrow(/tile must be a positive integer/);
    expect(() => predictTiled((t) => t, x, { tile: 3, margin: -1 })).toThrow(InvalidInputError);
    expect(() => predictTiled((t) => tf.slice(t, [0, 0, 0, 0, 0], [1, 2, 2, 2, 1]), x, { tile: 3, margin: 1 })).toThrow(
      /tiled prediction must keep \[batch, time, height, width\] of its tile/,
    );
    expect(() => predictTiled((t) => t, tf.zeros([2, 6, 6, 1]) as unknown as tf.Tensor5D, { tile: 3, margin: 1 })).toThrow(/\[batch, time, height, width, channels\]/);
    x.dispose();
  });
});
