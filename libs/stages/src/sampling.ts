import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@mitosis/core';
import { InvalidInputError } from '@mitosis/core';
import type { AugmentationName, CropBox, Volume } from '@mitosis/volume';
import { augmentations } from '@mitosis/volume';

/**
 * A random window of `frames` x `height` x `width` inside a sequence (clamped to its size).
 * `focus`, when given, is a voxel the crop must contain (used to show M3 its rare positives).
 */
export function randomCrop(
  rng: Rng,
  size: { frames: number; height: number; width: number },
  want: { frames: number; height: number; width: number },
  focus?: { t: number; y: number; x: number },
): CropBox {
  const frames = Math.min(want.frames, size.frames);
  const height = Math.min(want.height, size.height);
  const width = Math.min(want.width, size.width);
  const pick = (extent: number, length: number, at?: number): number => {
    if (at === undefined) return rng.int(extent - length + 1);
    const lo = Math.max(0, at - length + 1);
    const hi = Math.min(extent - length, at);
    return lo + rng.int(hi - lo + 1);
  };
  return {
    t0: pick(size.frames, frames, focus?.t),
    frames,
    y0: pick(size.height, height, focus?.y),
    height,
    x0: pick(size.width, width, focus?.x),
    width,
  };
}

/**
 * A random one of the paper's augmentations (III.H: flips and rotations by 90, 180, 270), using
 * the eight dihedral transforms when the crop is square and the four that keep the shape when not.
 */
export function randomAugmentation(rng: Rng, square: boolean): AugmentationName {
  const usable = augmentations.filter((a) => square || !a.swapsAxes);
  return usable[rng.int(usable.length)]?.name ?? 'identity';
}

/** Same-shape sequences stacked into one float tensor [batch, frames, height, width, 1]. */
export function stackSequences(volumes: readonly Volume<Float32Array | Uint8Array>[]): tf.Tensor5D {
  const first = volumes[0];
  if (!first) throw new InvalidInputError('no sequences to stack');
  const size = first.data.length;
  const data = new Float32Array(size * volumes.length);
  volumes.forEach((v, b) => data.set(v.data, b * size));
  return tf.tensor5d(data, [volumes.length, first.frames, first.height, first.width, 1]);
}

/**
 * The learning rate of update `iteration` (0-based) of `iterations` with the schedule both trained
 * stages use: `baseRate` until the fraction `annealFrom` of the updates, then a linear decay to 2%
 * of it at the last update (annealFrom 1: constant, the paper's). With a few hundred updates of a
 * few small crops each, RMSProp's constant step leaves the last weights wherever its last few
 * noisy steps took them; the decay lets them settle.
 */
export function annealedRate(baseRate: number, iteration: number, iterations: number, annealFrom: number): number {
  const progressed = (iteration + 1) / iterations;
  if (progressed <= annealFrom) return baseRate;
  return baseRate * Math.max(0.02, (1 - progressed) / (1 - annealFrom));
}

/** `annealFrom` checked: a fraction in (0, 1]. */
export function checkAnnealFrom(annealFrom: number): number {
  if (!(annealFrom > 0 && annealFrom <= 1)) throw new InvalidInputError(`annealFrom must be in (0, 1], got ${annealFrom}`);
  return annealFrom;
}
