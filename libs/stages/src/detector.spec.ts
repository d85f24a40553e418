import * as tf from '@tensorflow/tfjs';
import type { M3Model } from '@mitosis/models';
import type { Volume } from '@mitosis/volume';
import { InvalidInputError, PreconditionError } from '@mitosis/core';
import { chooseDetectionThreshold, detectionsFrom, mergeNearbyGroups, trainDetector, trainDetectorOn, windowStarts, windowedProbability } from './detector';

describe('windowStarts', () => {
  it('slides windows of k frames with a step of 2 and ends flush with the sequence', () => {
    expect(windowStarts(12, 8, 2)).toEqual([0, 2, 4]);
    expect(windowStarts(13, 8, 2)).toEqual([0, 2, 4, 5]);
    expect(windowStarts(8, 8, 2)).toEqual([0]);
    expect(windowStarts(7, 8, 2)).toEqual([]);
  });
});

/**
 * A stand-in for a trained M3 (logic only): it outputs, at every frame of a window, the frame's
 * own pixel values as probabilities, so a test writes the probabilities it wants into the frames.
 */
function echoModel(): M3Model {
  return {
    kind: 'm3',
    predict: (windows: tf.Tensor5D) => tf.clone(windows),
    receptiveRadius: () => 0,
  } as unknown as M3Model;
}

describe('detection from stored probabilities', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // 10 frames of 12x12 at factor 4 (pixel x is original 4x + 1.5): a strong blob (0.42) at frame 4 around (3, 3), a weak one
  // (0.18) at frame 6 around (8, 8), as if a mitosis and a look-alike.
  const frames = 10;
  const size = 12;
  const video = (): Volume<Float32Array> => {
    const data = new Float32Array(frames * size * size);
    const blob = (t: number, cx: number, cy: number, p: number): void => {
      for (let y = cy - 1; y <= cy + 1; y++) for (let x = cx - 1; x <= cx + 1; x++) data[(t * size + y) * size + x] = p;
    };
    blob(4, 3, 3, 0.42);
    blob(6, 8, 8, 0.18);
    return { data, frames, height: size, width: size };
  };
  const grid = { firstFrame: 21, frames, height: size, width: size, factor: 4 };
  const original = (x: number): number => 4 * x + 1.5;

  it('combines windows by mean and max, and thresholds either way afterwards', () => {
    const probability = windowedProbability(echoModel(), video(), 4, { step: 2 });
    // Every window echoes the frame, so mean and max are the frame itself.
    expect(probability.max.data[(4 * size + 3) * size + 3]).toBeCloseTo(0.42, 6);
    expect(probability.mean.data[(6 * size + 8) * size + 8]).toBeCloseTo(0.18, 6);
    const both = detectionsFrom(probability, grid, { threshold: 0.1 }).detections;
    expect(both.map((d) => [d.frame, d.x, d.y])).toEqual([
      [25, original(3), original(3)],
      [27, original(8), original(8)],
    ]);
    expect(detectionsFrom(probability, grid, { threshold: 0.3 }).detections).toHaveLength(1);
    expect(detectionsFrom(probability, grid, { threshold: 0.5 }).detections).toHaveLength(0);
  });

  it('chooses the threshold with the best F1 on the annotated frames, the one nearest 0.5 among equals', () => {
    const annotations = [
      { frame: 25, x: original(3), y: original(3) },
      { frame: 29, x: original(10), y: original(1) },
      { frame: 22, x: original(1), y: original(10) },
    ];
    // Only the first is found by any threshold; 0.20 to 0.40 drop the look-alike and tie, 0.40
    // is nearest 0.5; from 0.45 nothing is found.
    const choice = chooseDetectionThreshold(echoModel(), video(), grid, 4, annotations, { step: 2 });
    expect(choice.chosenBy).toBe('annotated-frames');
    expect(choice.threshold).toBe(0.4);
    // Every window echoes the frame, so both vote rules score alike and the paper's 'any' is kept.
    expect(choice.vote).toBe('any');
    expect(choice.candidates).toHaveLength(38);
    const any = choice.candidates.filter((c) => c.vote === 'any');
    expect(any.find((c) => c.threshold === 0.15)?.f1Th3).toBeCloseTo(0.4, 6);
    expect(any.find((c) => c.threshold === 0.35)?.f1Th3).toBeCloseTo(0.5, 6);
    expect(any.find((c) => c.threshold === 0.45)?.f1Th3).toBe(0);
    const fixed = chooseDetectionThreshold(echoModel(), video(), grid, 4, annotations, { step: 2, vote: 'mean' });
    expect(fixed).toMatchObject({ vote: 'mean', threshold: 0.4 });
    expect(fixed.candidates.every((c) => c.vote === 'mean')).toBe(true);
  });

  it('merges groups closer than the merge distance into one detection at their voxel-weighted centre', () => {
    const groups = [
      { t: 5, y: 10, x: 10, size: 3, scoreSum: 0.9 },
      { t: 6, y: 10, x: 14, size: 1, scoreSum: 0.5 },
      { t: 5, y: 10, x: 30, size: 2, scoreSum: 0.4 },
      { t: 12, y: 10, x: 10, size: 2, scoreSum: 0.2 },
    ];
    const merged = mergeNearbyGroups(groups, 6, 3);
    expect(merged).toHaveLength(3);
    expect(merged[0]).toEqual({ t: 5.25, y: 10, x: 11, size: 4, scoreSum: 1.4 });
    expect(mergeNearbyGroups(groups, 0, 3)).toEqual(groups);
    // Chains merge: single linkage.
    const bridge = [20, 25].map((x) => ({ t: 5, y: 10, x, size: 1, scoreSum: 0.1 }));
    expect(mergeNearbyGroups([...groups, ...bridge], 6, 3)).toHaveLength(2);
  });

  it("keeps the paper's 0.5 with fewer than 3 annotated mitoses, or when no threshold finds one", () => {
    expect(chooseDetectionThreshold(echoModel(), video(), grid, 4, [{ frame: 25, x: original(3), y: original(3) }])).toMatchObject({ threshold: 0.5, chosenBy: 'paper' });
    const elsewhere = [1, 2, 3].map((i) => ({ frame: 21 + i, x: original(11), y: original(i) }));
    expect(chooseDetectionThreshold(echoModel(), video(), grid, 4, elsewhere)).toMatchObject({ threshold: 0.5, chosenBy: 'paper' });
  });
});

describe('trainDetectorOn: M3 on the annotated frames of several videos', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const segment = (frames: number, height: number, width: number, seed: number) => {
    const data = new Float32Array(frames * height * width).map((_, i) => (Math.sin(i * 0.37 + seed) + 1) / 2);
    const labels = new Uint8Array(frames * height * width);
    for (let i = seed; i < labels.length; i += 97) labels[i] = 1;
    return { frames: { data, frames, height, width }, labels: { data: labels, frames, height, width } };
  };
  const options = { k: 3, iterations: 2, crop: 16, batch: 2, seed: 3, model: { hidden: 2, decoderWidth: 2 } };

  it('trains one segment exactly as trainDetector, and videos of other sizes together', () => {
    const one = segment(6, 20, 24, 1);
    const alone = trainDetector(one.frames, one.labels, options);
    const asSegment = trainDetectorOn([one], options);
    expect(asSegment.losses).toEqual(alone.losses);
    const two = trainDetectorOn([one, segment(4, 16, 18, 2)], options);
    expect(two.losses).toHaveLength(2);
    expect(two.losses.every(Number.isFinite)).toBe(true);
    expect(two.losses).not.toEqual(alone.losses);
    for (const r of [alone, asSegment, two]) r.model.dispose();
  });

  it('names the video whose frames are fewer than k or whose labels differ in shape', () => {
    const one = segment(6, 20, 24, 1);
    const short = segment(2, 16, 16, 2);
    expect(() => trainDetectorOn([one, short], options)).toThrow(PreconditionError);
    expect(() => trainDetectorOn([one, short], options)).toThrow('k = 3 is larger than the 2 training frames of video 2');
    expect(() => trainDetectorOn([one, { frames: one.frames, labels: short.labels }], options)).toThrow('labels and training frames of video 2 differ in shape');
    expect(() => trainDetectorOn([], options)).toThrow(InvalidInputError);
  });
});
