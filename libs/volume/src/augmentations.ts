import { InvalidInputError } from '@mitosis/core';
import { allocLike, assertVolume } from './shape';
import type { Volume, VoxelArray } from './volume';

/** The eight symmetries of a rectangle (the dihedral group), applied to every frame alike. */
export type AugmentationName = 'identity' | 'rot90' | 'rot180' | 'rot270' | 'flipH' | 'flipV' | 'transpose' | 'antiTranspose';

export interface Augmentation {
  readonly name: AugmentationName;
  /** The transform that undoes this one. */
  readonly inverse: AugmentationName;
  /** Whether the output frames are width x height (rotations by 90/270 and the transposes). */
  readonly swapsAxes: boolean;
  readonly description: string;
}

/**
 * Output pixel (i, j) of a frame reads input pixel `c0 + i * a + j * b` (c0, a, b in terms of the
 * input height H and width W), so every transform is one strided copy with no branches.
 */
interface Mapping {
  readonly c0: (h: number, w: number) => number;
  readonly a: (w: number) => number;
  readonly b: (w: number) => number;
}

const table: Record<AugmentationName, Augmentation & Mapping> = {
  identity: {
    name: 'identity',
    inverse: 'identity',
    swapsAxes: false,
    description: 'unchanged',
    c0: () => 0,
    a: (w) => w,
    b: () => 1,
  },
  rot90: {
    name: 'rot90',
    inverse: 'rot270',
    swapsAxes: true,
    description: 'rotate 90 degrees counter-clockwise as displayed (numpy rot90, k=1): out[i][j] = in[j][W-1-i]',
    c0: (_h, w) => w - 1,
    a: () => -1,
    b: (w) => w,
  },
  rot180: {
    name: 'rot180',
    inverse: 'rot180',
    swapsAxes: false,
    description: 'rotate 180 degrees: out[i][j] = in[H-1-i][W-1-j]',
    c0: (h, w) => h * w - 1,
    a: (w) => -w,
    b: () => -1,
  },
  rot270: {
    name: 'rot270',
    inverse: 'rot90',
    swapsAxes: true,
    description: 'rotate 90 degrees clockwise as displayed (numpy rot90, k=3): out[i][j] = in[H-1-j][i]',
    c0: (h, w) => (h - 1) * w,
    a: () => 1,
    b: (w) => -w,
  },
  flipH: {
    name: 'flipH',
    inverse: 'flipH',
    swapsAxes: false,
    description: 'mirror left-right: out[i][j] = in[i][W-1-j]',
    c0: (_h, w) => w - 1,
    a: (w) => w,
    b: () => -1,
  },
  flipV: {
    name: 'flipV',
    inverse: 'flipV',
    swapsAxes: false,
    description: 'mirror top-bottom: out[i][j] = in[H-1-i][j]',
    c0: (h, w) => (h - 1) * w,
    a: (w) => -w,
    b: () => 1,
  },
  transpose: {
    name: 'transpose',
    inverse: 'transpose',
    swapsAxes: true,
    description: 'mirror about the main diagonal: out[i][j] = in[j][i]',
    c0: () => 0,
    a: () => 1,
    b: (w) => w,
  },
  antiTranspose: {
    name: 'antiTranspose',
    inverse: 'antiTranspose',
    swapsAxes: true,
    description: 'mirror about the anti-diagonal: out[i][j] = in[H-1-j][W-1-i]',
    c0: (h, w) => h * w - 1,
    a: () => -1,
    b: (w) => -w,
  },
};

/** All eight names, identity first. */
export const augmentationNames: readonly AugmentationName[] = ['identity', 'rot90', 'rot180', 'rot270', 'flipH', 'flipV', 'transpose', 'antiTranspose'];

/**
 * The set the paper trains with (section III.H: flips horizontal and vertical, rotations by 90,
 * 180 and 270 degrees), plus the identity.
 */
export const paperAugmentationNames: readonly AugmentationName[] = ['identity', 'flipH', 'flipV', 'rot90', 'rot180', 'rot270'];

/** The eight transforms with their inverses, in the order of {@link augmentationNames}. */
export const augmentations: readonly Augmentation[] = augmentationNames.map((name) => {
  const { inverse, swapsAxes, description } = table[name];
  return { name, inverse, swapsAxes, description };
});

export function isAugmentationName(value: string): value is AugmentationName {
  return Object.prototype.hasOwnProperty.call(table, value);
}

function lookup(name: string, what: string): Augmentation & Mapping {
  if (!isAugmentationName(name)) {
    throw new InvalidInputError(`${what}: unknown augmentation '${name}' (one of ${augmentationNames.join(', ')})`);
  }
  return table[name];
}

function transform<T extends VoxelArray>(volume: Volume<T>, m: Augmentation & Mapping): Volume<T> {
  const { frames, height, width } = volume;
  const outH = m.swapsAxes ? width : height;
  const outW = m.swapsAxes ? height : width;
  const src = volume.data;
  const out = allocLike(src, src.length);
  const plane = height * width;
  const c0 = plane === 0 ? 0 : m.c0(height, width);
  const a = m.a(width);
  const b = m.b(width);
  let o = 0;
  for (let t = 0; t < frames; t++) {
    const base = t * plane + c0;
    for (let i = 0; i < outH; i++) {
      let s = base + i * a;
      for (let j = 0; j < outW; j++, s += b) out[o++] = src[s];
    }
  }
  return { data: out, frames, height: outH, width: outW };
}

/**
 * Applies one of the eight transforms to every frame of a sequence (a new volume of the same
 * array type; height and width swap for rot90, rot270, transpose and antiTranspose). Used to
 * augment M3's training windows (paper III.H) and, with {@link invertAugmentation}, to map outputs
 * on a transformed input back. Throws InvalidInputError for an unknown name.
 */
export function applyAugmentation<T extends VoxelArray>(volume: Volume<T>, name: AugmentationName): Volume<T> {
  assertVolume(volume, 'applyAugmentation');
  return transform(volume, lookup(name, 'applyAugmentation'));
}

/** Undoes {@link applyAugmentation}: invertAugmentation(applyAugmentation(v, n), n) equals v. */
export function invertAugmentation<T extends VoxelArray>(volume: Volume<T>, name: AugmentationName): Volume<T> {
  assertVolume(volume, 'invertAugmentation');
  return transform(volume, table[lookup(name, 'invertAugmentation').inverse]);
}
