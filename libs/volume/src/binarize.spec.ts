import { InvalidInputError } from '@mitosis/core';
import { binarize } from './binarize';
import { assertVolume, countNonZero } from './shape';

describe('binarize', () => {
  const volume = { data: Float32Array.from([0, 0.2, 0.5, 0.7, -1, NaN, 1, 0.5000001]), frames: 2, height: 2, width: 2 };

  it('sets value > threshold to 1 (0.5: paper III.E)', () => {
    const b = binarize(volume, 0.5);
    expect(Array.from(b.data)).toEqual([0, 0, 0, 1, 0, 0, 1, 1]);
    expect(b.data).toBeInstanceOf(Uint8Array);
    expect([b.frames, b.height, b.width]).toEqual([2, 2, 2]);
  });

  it('threshold 0 is "non-zero -> 1" on a non-negative map (paper III.C)', () => {
    expect(Array.from(binarize(volume, 0).data)).toEqual([0, 1, 1, 1, 0, 0, 1, 1]);
  });

  it('inclusive counts value >= threshold', () => {
    expect(Array.from(binarize(volume, 0.5, { inclusive: true }).data)).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
  });

  it('works on integer arrays and rejects NaN thresholds and malformed volumes', () => {
    const v = { data: Uint16Array.from([0, 3, 300]), frames: 1, height: 1, width: 3 };
    expect(Array.from(binarize(v, 2).data)).toEqual([0, 1, 1]);
    expect(() => binarize(v, NaN)).toThrow(InvalidInputError);
    expect(() => binarize({ ...v, width: 4 }, 0)).toThrow(/data holds 3 voxels but 1x1x4 needs 4/);
    expect(() => assertVolume({ ...v, frames: -1 })).toThrow(/frames must be a non-negative integer/);
    expect(countNonZero(v)).toBe(2);
  });
});
