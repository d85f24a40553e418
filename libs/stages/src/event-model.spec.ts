import * as tf from '@tensorflow/tfjs';
import { InvalidInputError, createRng } from '@mitosis/core';
import type { M2Model } from '@mitosis/models';
import type { Volume } from '@mitosis/volume';
import { inferenceWindows, linkTrajectories, makeArtificialEvents, predictCellEvents, trainEventModel } from './event-model';

/** Two cells as 3x3 squares moving one pixel per frame over 10 frames. */
function twoCells(): Volume<Uint8Array> {
  const frames = 10;
  const size = 24;
  const data = new Uint8Array(frames * size * size);
  for (let t = 0; t < frames; t++) {
    for (const [y0, x0] of [
      [3, 2 + t],
      [15, 2 + t],
    ]) {
      for (let y = y0!; y < y0! + 3; y++) for (let x = x0!; x < x0! + 3; x++) data[(t * size + y) * size + x] = 1;
    }
  }
  return { data, frames, height: size, width: size };
}

describe('trajectories and artificial events', () => {
  it('links overlapping cells of consecutive frames into one trajectory each', () => {
    const { components } = linkTrajectories(twoCells());
    expect(components).toHaveLength(2);
    expect(components.map((c) => c.temporalLength)).toEqual([10, 10]);
  });

  it('splits the map into context and events that add up to it, removing a temporal part of a trajectory', () => {
    const map = twoCells();
    const { labels } = linkTrajectories(map);
    const { context, events } = makeArtificialEvents(map, labels, createRng(3), { fraction: 1, minLength: 3, maxLength: 3 });
    const plane = map.height * map.width;
    for (let i = 0; i < map.data.length; i++) {
      expect(context.data[i]! + events.data[i]!).toBe(map.data[i]);
    }
    // Every trajectory lost exactly 3 frames (or fewer at its end), never its first frame.
    for (const label of [1, 2]) {
      const removedFrames = new Set<number>();
      for (let i = 0; i < map.data.length; i++) if (events.data[i] && labels.data[i] === label) removedFrames.add(Math.floor(i / plane));
      expect(removedFrames.size).toBeGreaterThanOrEqual(1);
      expect(removedFrames.size).toBeLessThanOrEqual(3);
      expect(removedFrames.has(0)).toBe(false);
      const sorted = [...removedFrames].sort((a, b) => a - b);
      expect(sorted[sorted.length - 1]! - sorted[0]! + 1).toBe(sorted.length);
    }
  });

  it('removes nothing with fraction 0 and is reproducible for a seed', () => {
    const map = twoCells();
    const { labels } = linkTrajectories(map);
    expect(makeArtificialEvents(map, labels, createRng(1), { fraction: 0 }).events.data.some((v) => v > 0)).toBe(false);
    const a = makeArtificialEvents(map, labels, createRng(9));
    const b = makeArtificialEvents(map, labels, createRng(9));
    expect(a.events.data).toEqual(b.events.data);
  });
});

describe('M2 inference windows', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    // No console advert for tfjs-node in the test output.
    (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
  });

  it('covers every frame once, from the earliest window holding it, with at least half a window of history', () => {
    for (const [frames, window] of [
      [110, 24],
      [60, 24],
      [25, 24],
      [49, 32],
    ] as const) {
      const { starts, owner } = inferenceWindows(frames, window);
      expect(starts[0]).toBe(0);
      expect(starts[starts.length - 1]).toBe(frames - window);
      for (let t = 0; t < frames; t++) {
        const start = starts[owner[t]!]!;
        expect(t).toBeGreaterThanOrEqual(start);
        expect(t).toBeLessThan(start + window);
        // The first window's frames have all the history there is; later ones at least window/2.
        if (start > 0) expect(t - start).toBeGreaterThanOrEqual(Math.floor(window / 2));
      }
    }
  });

  it('uses one pass when the sequence fits in a window or the window is 0, and refuses a 1-frame window', () => {
    expect(inferenceWindows(20, 24).starts).toEqual([0]);
    expect(inferenceWindows(20, 0).starts).toEqual([0]);
    expect(() => inferenceWindows(20, 1)).toThrow(/too short/);
  });

  /** A stand-in M2 whose e' at a frame is its position in the sequence it was given / 100. */
  const historyModel = {
    predict: (maps: tf.Tensor5D) => tf.tidy(() => tf.mul(tf.onesLike(maps), tf.reshape(tf.div(tf.range(0, maps.shape[1]), 100), [1, maps.shape[1], 1, 1, 1]))),
  } as unknown as M2Model;

  it('gives each frame the prediction of its window (forward) and combines the two passes by noisy-or or max', () => {
    const map: Volume<Uint8Array> = { data: new Uint8Array(40 * 2 * 2), frames: 40, height: 2, width: 2 };
    const forward = predictCellEvents(historyModel, map, { directions: 'forward', window: 16 });
    const history = Array.from({ length: 40 }, (_, t) => Math.round(forward.data[t * 4]! * 100));
    expect(history.slice(0, 16)).toEqual(Array.from({ length: 16 }, (_, t) => t));
    expect(Math.min(...history.slice(16))).toBeGreaterThanOrEqual(8);
    expect(Math.max(...history)).toBeLessThanOrEqual(15);
    const both = predictCellEvents(historyModel, map, { window: 0 });
    const max = predictCellEvents(historyModel, map, { window: 0, combine: 'max' });
    for (const t of [0, 10, 39]) {
      const f = t / 100;
      const b = (39 - t) / 100;
      expect(both.data[t * 4]).toBeCloseTo(1 - (1 - f) * (1 - b), 5);
      expect(max.data[t * 4]).toBeCloseTo(Math.max(f, b), 5);
    }
  });
});

describe('M2 training', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const train = (annealFrom: number): number[] => {
    const { model, losses } = trainEventModel(twoCells(), {
      iterations: 4,
      crop: 8,
      batch: 1,
      sequenceLength: 3,
      seed: 3,
      annealFrom,
      model: { hidden: 4, encoderWidths: [4, 4], decoderWidth: 4 },
    });
    model.dispose();
    return losses;
  };

  it('decays the learning rate after annealFrom: the same updates up to there, smaller ones after', () => {
    const constant = train(1);
    const annealed = train(0.5);
    // Updates 1 and 2 of 4 at the base rate, update 3 at half of it: the losses before update 4
    // are the first to see a different model.
    expect(annealed.slice(0, 3)).toEqual(constant.slice(0, 3));
    expect(annealed[3]).not.toBe(constant[3]);
  });

  it('refuses annealFrom outside (0, 1] before training', () => {
    expect(() => train(0)).toThrow(InvalidInputError);
    expect(() => train(1.5)).toThrow(/annealFrom/);
  });
});
