import fc from 'fast-check';
import { createRng, InvalidInputError } from '@mitosis/core';
import { applyAugmentation, augmentationNames, augmentations, invertAugmentation, isAugmentationName, paperAugmentationNames } from './augmentations';
import type { AugmentationName } from './augmentations';
import { connectedComponents, connectivities } from './components';
import type { Volume, VoxelArray } from './volume';

/** Frames as nested arrays, for readable expectations. */
function rows(v: Volume<VoxelArray>): number[][][] {
  const out: number[][][] = [];
  for (let t = 0; t < v.frames; t++) {
    const frame: number[][] = [];
    for (let y = 0; y < v.height; y++) {
      const start = (t * v.height + y) * v.width;
      frame.push(Array.from(v.data.subarray(start, start + v.width)));
    }
    out.push(frame);
  }
  return out;
}

describe('augmentations: hand-worked cases', () => {
  // Two frames of 2 x 3; the second is the first plus 10, so every frame must move alike.
  const v: Volume<Int32Array> = { data: Int32Array.from([1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]), frames: 2, height: 2, width: 3 };
  const expected: Record<AugmentationName, number[][]> = {
    identity: [
      [1, 2, 3],
      [4, 5, 6],
    ],
    rot90: [
      [3, 6],
      [2, 5],
      [1, 4],
    ], // numpy.rot90(a)
    rot180: [
      [6, 5, 4],
      [3, 2, 1],
    ],
    rot270: [
      [4, 1],
      [5, 2],
      [6, 3],
    ], // numpy.rot90(a, 3)
    flipH: [
      [3, 2, 1],
      [6, 5, 4],
    ],
    flipV: [
      [4, 5, 6],
      [1, 2, 3],
    ],
    transpose: [
      [1, 4],
      [2, 5],
      [3, 6],
    ],
    antiTranspose: [
      [6, 3],
      [5, 2],
      [4, 1],
    ],
  };

  it.each(augmentationNames)('%s moves every frame as written out', (name) => {
    const out = applyAugmentation(v, name);
    const frame0 = expected[name];
    expect(rows(out)).toEqual([frame0, frame0.map((r) => r.map((x) => x + 10))]);
    expect([out.frames, out.height, out.width]).toEqual([2, frame0.length, frame0[0]!.length]);
    expect(out.data).toBeInstanceOf(Int32Array);
    expect(rows(invertAugmentation(out, name))).toEqual(rows(v));
  });

  it('lists the eight transforms with their inverses, the paper set among them', () => {
    expect(augmentations.map((a) => a.name)).toEqual(augmentationNames);
    expect(new Set(augmentationNames).size).toBe(8);
    expect(augmentations.find((a) => a.name === 'rot90')!.inverse).toBe('rot270');
    expect(augmentations.filter((a) => a.swapsAxes).map((a) => a.name)).toEqual(['rot90', 'rot270', 'transpose', 'antiTranspose']);
    expect(paperAugmentationNames.every((n) => isAugmentationName(n))).toBe(true);
    expect(isAugmentationName('rot45')).toBe(false);
    expect(isAugmentationName('toString')).toBe(false);
  });

  it('composes like the dihedral group: rot90 twice is rot180, rot90 after flipH is transpose', () => {
    expect(rows(applyAugmentation(applyAugmentation(v, 'rot90'), 'rot90'))).toEqual(rows(applyAugmentation(v, 'rot180')));
    expect(rows(applyAugmentation(applyAugmentation(v, 'flipH'), 'rot90'))).toEqual(rows(applyAugmentation(v, 'transpose')));
    expect(rows(applyAugmentation(applyAugmentation(v, 'flipV'), 'rot90'))).toEqual(rows(applyAugmentation(v, 'antiTranspose')));
  });

  it('rejects unknown names and handles empty frames', () => {
    expect(() => applyAugmentation(v, 'rot45' as AugmentationName)).toThrow(/unknown augmentation 'rot45'/);
    expect(() => invertAugmentation(v, 'spin' as AugmentationName)).toThrow(InvalidInputError);
    const empty = { data: new Float32Array(0), frames: 3, height: 0, width: 4 };
    expect(applyAugmentation(empty, 'rot90')).toEqual({ data: new Float32Array(0), frames: 3, height: 4, width: 0 });
  });
});

const arrayTypes = [Float32Array, Uint8Array, Uint16Array, Int32Array] as const;

const volumes = fc
  .record({
    frames: fc.integer({ min: 1, max: 3 }),
    height: fc.integer({ min: 1, max: 8 }),
    width: fc.integer({ min: 1, max: 8 }),
    type: fc.integer({ min: 0, max: arrayTypes.length - 1 }),
    density: fc.integer({ min: 0, max: 100 }).map((percent) => percent / 100),
    seed: fc.integer(),
  })
  .map(({ frames, height, width, type, density, seed }) => {
    const rng = createRng(seed);
    const data = new arrayTypes[type](frames * height * width);
    for (let i = 0; i < data.length; i++) data[i] = rng.next() < density ? 1 + rng.int(200) : 0;
    return { data, frames, height, width } as Volume<VoxelArray>;
  });

describe('augmentations: properties', () => {
  it('apply then invert is the identity, for every transform and array type', () => {
    fc.assert(
      fc.property(volumes, fc.constantFrom(...augmentationNames), (v, name) => {
        const out = applyAugmentation(v, name);
        expect(out.data.constructor).toBe(v.data.constructor);
        expect(invertAugmentation(out, name)).toEqual(v);
      }),
    );
  });

  it('connected components keep their count, sizes and temporal lengths under all eight', () => {
    fc.assert(
      fc.property(volumes, fc.constantFrom(...augmentationNames), fc.constantFrom(...connectivities), (v, name, connectivity) => {
        const summary = (x: Volume<VoxelArray>): string[] =>
          connectedComponents(x, { connectivity })
            .components.map((c) => `${c.size}:${c.temporalLength}:${Array.from(c.areaPerFrame).join(',')}`)
            .sort();
        expect(summary(applyAugmentation(v, name))).toEqual(summary(v));
      }),
    );
  });
});
