import { InvalidInputError } from '@mitosis/core';
import { assertVolume } from './shape';
import type { Volume, VoxelArray } from './volume';

export interface BinarizeOptions {
  /** Count `value >= threshold` as foreground instead of `value > threshold`. Default false. */
  readonly inclusive?: boolean;
}

/**
 * Foreground (1) where the voxel is above `threshold`, background (0) elsewhere; NaN is
 * background. SPEC step 2 (paper III.C, "changes all non-zero values into ones") is threshold 0
 * on a non-negative map; steps 6 and 8 (paper III.E, "values above 0.5 set to 1.0") use 0.5.
 */
export function binarize(volume: Volume<VoxelArray>, threshold: number, options: BinarizeOptions = {}): Volume<Uint8Array> {
  assertVolume(volume);
  if (Number.isNaN(threshold)) throw new InvalidInputError('binarize: threshold is NaN');
  const src = volume.data;
  const out = new Uint8Array(src.length);
  if (options.inclusive === true) {
    for (let i = 0; i < src.length; i++) out[i] = src[i] >= threshold ? 1 : 0;
  } else {
    for (let i = 0; i < src.length; i++) out[i] = src[i] > threshold ? 1 : 0;
  }
  return { data: out, frames: volume.frames, height: volume.height, width: volume.width };
}
