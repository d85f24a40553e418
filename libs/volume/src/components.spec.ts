import fc from 'fast-check';
import { createRng, InvalidInputError } from '@mitosis/core';
import { connectedComponents, connectivities } from './components';
import type { Connectivity } from './components';
import { countNonZero } from './shape';
import { grid, picture } from './test-grid';
import type { Volume } from './volume';

const sizes = (v: Volume<Uint8Array>, connectivity: Connectivity): number[] => connectedComponents(v, { connectivity }).components.map((c) => c.size);

describe('connectedComponents: hand-worked cases', () => {
  const frame = grid([['##..#', '#..#.', '..#..', '.##.#']]);

  it('2D: 4- and 8-connectivity, labels in raster order of first voxel', () => {
    const four = connectedComponents(frame, { connectivity: 'frame-4' });
    expect(picture(four.labels, true)).toEqual([['11..2', '1..3.', '..4..', '.44.5']]);
    expect(four.components.map((c) => c.size)).toEqual([3, 1, 1, 3, 1]);
    const eight = connectedComponents(frame, { connectivity: 'frame-8' });
    expect(picture(eight.labels, true)).toEqual([['11..2', '1..2.', '..2..', '.22.3']]);
    expect(eight.components.map((c) => c.size)).toEqual([3, 5, 1]);
  });

  it('merges provisional labels that meet late (U and spiral shapes)', () => {
    expect(picture(connectedComponents(grid([['#.#', '#.#', '###']]), { connectivity: 'frame-4' }).labels, true)).toEqual([['1.1', '1.1', '111']]);
    // Row 0 opens labels 1, 2, 3; (2, 3) joins 2 and 3, then row 4 joins 1 and 2.
    const comb = grid([['#.#.#', '#.#.#', '#.###', '#.#..', '###..']]);
    const { labels, components } = connectedComponents(comb, { connectivity: 'frame-4' });
    expect(picture(labels, true)).toEqual([['1.1.1', '1.1.1', '1.111', '1.1..', '111..']]);
    expect(components).toHaveLength(1);
    expect(components[0]!.size).toBe(15);
  });

  const cells = grid([
    ['#..', '...', '..#'],
    ['#..', '.#.', '...'],
    ['...', '.#.', '..#'],
  ]);

  it('3D: 6 and 26 connectivity, per-frame, and overlap in consecutive frames', () => {
    expect(picture(connectedComponents(cells, { connectivity: '3d-6' }).labels, true)).toEqual([
      ['1..', '...', '..2'],
      ['1..', '.3.', '...'],
      ['...', '.3.', '..4'],
    ]);
    expect(picture(connectedComponents(cells, { connectivity: '3d-26' }).labels, true)).toEqual([
      ['1..', '...', '..1'],
      ['1..', '.1.', '...'],
      ['...', '.1.', '..1'],
    ]);
    expect(picture(connectedComponents(cells, { connectivity: 'overlap-8' }).labels, true)).toEqual([
      ['1..', '...', '..2'],
      ['1..', '.1.', '...'],
      ['...', '.1.', '..1'],
    ]);
    expect(picture(connectedComponents(cells, { connectivity: 'overlap-4' }).labels, true)).toEqual(picture(connectedComponents(cells, { connectivity: '3d-6' }).labels, true));
    expect(picture(connectedComponents(cells, { connectivity: 'frame-4' }).labels, true)).toEqual([
      ['1..', '...', '..2'],
      ['3..', '.4.', '...'],
      ['...', '.5.', '..6'],
    ]);
  });

  it('measures size, bbox, frames, temporal length, centroid and area per frame', () => {
    const { components } = connectedComponents(cells, { connectivity: 'overlap-8' });
    expect(components).toHaveLength(2);
    const [a, b] = components;
    expect(a!.label).toBe(1);
    expect(a!.size).toBe(5);
    expect(a!.bbox).toEqual({ t0: 0, t1: 2, y0: 0, y1: 2, x0: 0, x1: 2 });
    expect([a!.firstFrame, a!.lastFrame, a!.temporalLength]).toEqual([0, 2, 3]);
    expect(a!.centroid.t).toBeCloseTo(6 / 5, 12);
    expect(a!.centroid.y).toBeCloseTo(4 / 5, 12);
    expect(a!.centroid.x).toBeCloseTo(4 / 5, 12);
    expect(Array.from(a!.areaPerFrame)).toEqual([1, 2, 2]);
    expect(b).toEqual({
      label: 2,
      size: 1,
      bbox: { t0: 0, t1: 0, y0: 2, y1: 2, x0: 2, x1: 2 },
      firstFrame: 0,
      lastFrame: 0,
      temporalLength: 1,
      centroid: { t: 0, y: 2, x: 2 },
      areaPerFrame: Int32Array.from([1]),
    });
  });

  it('weights the centroid by a float volume, falling back to the plain centre for zero weights', () => {
    const weights = { data: new Float32Array(27).fill(1), frames: 3, height: 3, width: 3 };
    weights.data[26] = 3; // voxel (2, 2, 2)
    weights.data[8] = 0; // voxel (0, 2, 2), alone in component 2
    const [a, b] = connectedComponents(cells, { connectivity: 'overlap-8', weights }).components;
    // Weights 1, 1, 1, 1, 3 at t = 0, 1, 1, 2, 2: t = (0 + 1 + 1 + 2 + 6) / 7.
    expect(a!.centroid.t).toBeCloseTo(10 / 7, 12);
    expect(a!.centroid.y).toBeCloseTo(8 / 7, 12);
    expect(a!.centroid.x).toBeCloseTo(8 / 7, 12);
    expect(b!.centroid).toEqual({ t: 0, y: 2, x: 2 });
  });

  it('links a cell trajectory where it overlaps, and splits it where the cell vanishes (SPEC step 3)', () => {
    // A cell drifting right one pixel a frame keeps overlapping; a frame without it splits the region.
    const moving = grid([['##...'], ['.##..'], ['..##.'], ['.....'], ['...##']]);
    const { components } = connectedComponents(moving, { connectivity: 'overlap-8' });
    expect(components.map((c) => [c.firstFrame, c.lastFrame, c.temporalLength, c.size])).toEqual([
      [0, 2, 3, 6],
      [4, 4, 1, 2],
    ]);
    // Diagonal neighbours in consecutive frames do not overlap: not linked in 'overlap' modes, linked in 3d-26.
    const diagonal = grid([['#..'], ['.#.']]);
    expect(sizes(diagonal, 'overlap-8')).toEqual([1, 1]);
    expect(sizes(diagonal, '3d-26')).toEqual([2]);
  });

  it('handles empty and all-foreground volumes', () => {
    const empty = grid([['...', '...']]);
    expect(connectedComponents(empty, { connectivity: '3d-26' }).components).toEqual([]);
    const full = { data: new Uint8Array(2 * 3 * 4).fill(1), frames: 2, height: 3, width: 4 };
    for (const connectivity of connectivities) {
      expect(sizes(full, connectivity)).toEqual(connectivity.startsWith('frame') ? [12, 12] : [24]);
    }
  });

  it('rejects an unknown connectivity and mismatched weights', () => {
    expect(() => connectedComponents(cells, { connectivity: '3d-18' as Connectivity })).toThrow(/unknown connectivity '3d-18'/);
    const weights = { data: new Float32Array(9), frames: 1, height: 3, width: 3 };
    expect(() => connectedComponents(cells, { connectivity: '3d-6', weights })).toThrow(InvalidInputError);
  });
});

/** Breadth-first flood fill, labelling in raster order: the definition to check the fast pass against. */
function floodFill(v: Volume<Uint8Array>, connectivity: Connectivity): Int32Array {
  const { frames: T, height: H, width: W } = v;
  const neighbours: [number, number, number][] = [];
  for (let dt = -1; dt <= 1; dt++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const n = Math.abs(dt) + Math.abs(dy) + Math.abs(dx);
        if (n === 0) continue;
        const inPlane = dt === 0;
        const ok =
          connectivity === 'frame-4'
            ? inPlane && n === 1
            : connectivity === 'frame-8'
              ? inPlane
              : connectivity === '3d-6' || connectivity === 'overlap-4'
                ? n === 1
                : connectivity === 'overlap-8'
                  ? inPlane || (dy === 0 && dx === 0)
                  : true;
        if (ok) neighbours.push([dt, dy, dx]);
      }
    }
  }
  const labels = new Int32Array(v.data.length);
  let next = 0;
  for (let start = 0; start < labels.length; start++) {
    if (v.data[start] === 0 || labels[start] !== 0) continue;
    labels[start] = ++next;
    const queue = [start];
    while (queue.length > 0) {
      const i = queue.pop()!;
      const t = Math.floor(i / (H * W));
      const y = Math.floor(i / W) % H;
      const x = i % W;
      for (const [dt, dy, dx] of neighbours) {
        const [tt, yy, xx] = [t + dt, y + dy, x + dx];
        if (tt < 0 || tt >= T || yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
        const j = (tt * H + yy) * W + xx;
        if (v.data[j] !== 0 && labels[j] === 0) {
          labels[j] = next;
          queue.push(j);
        }
      }
    }
  }
  return labels;
}

const volumes = fc
  .record({
    frames: fc.integer({ min: 1, max: 5 }),
    height: fc.integer({ min: 1, max: 10 }),
    width: fc.integer({ min: 1, max: 10 }),
    density: fc.integer({ min: 0, max: 100 }).map((percent) => percent / 100),
    seed: fc.integer(),
  })
  .map(({ frames, height, width, density, seed }) => {
    const rng = createRng(seed);
    const data = Uint8Array.from({ length: frames * height * width }, () => (rng.next() < density ? 1 : 0));
    return { data, frames, height, width } as Volume<Uint8Array>;
  });

describe('connectedComponents: properties', () => {
  it('equals a flood fill, and the measures agree with the labels', () => {
    fc.assert(
      fc.property(volumes, fc.constantFrom(...connectivities), (v, connectivity) => {
        const { labels, components } = connectedComponents(v, { connectivity });
        expect(labels.data).toEqual(floodFill(v, connectivity));
        expect(components.reduce((s, c) => s + c.size, 0)).toBe(countNonZero(v));
        const { height: H, width: W } = v;
        for (const c of components) {
          expect(c.areaPerFrame.reduce((s, a) => s + a, 0)).toBe(c.size);
          expect(c.areaPerFrame).toHaveLength(c.temporalLength);
          expect(c.areaPerFrame[0]).toBeGreaterThan(0);
          expect(c.areaPerFrame[c.temporalLength - 1]).toBeGreaterThan(0);
        }
        const sum = components.map(() => ({ t: 0, y: 0, x: 0 }));
        for (let i = 0; i < labels.data.length; i++) {
          const l = labels.data[i];
          if (l === 0) continue;
          const [t, y, x] = [Math.floor(i / (H * W)), Math.floor(i / W) % H, i % W];
          const { bbox } = components[l - 1]!;
          expect(t >= bbox.t0 && t <= bbox.t1 && y >= bbox.y0 && y <= bbox.y1 && x >= bbox.x0 && x <= bbox.x1).toBe(true);
          sum[l - 1]!.t += t;
          sum[l - 1]!.y += y;
          sum[l - 1]!.x += x;
        }
        components.forEach((c, k) => {
          expect(c.centroid.t).toBeCloseTo(sum[k]!.t / c.size, 9);
          expect(c.centroid.y).toBeCloseTo(sum[k]!.y / c.size, 9);
          expect(c.centroid.x).toBeCloseTo(sum[k]!.x / c.size, 9);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('2D and 3D agree on a one-frame volume', () => {
    fc.assert(
      fc.property(volumes, (v) => {
        const one = { ...v, frames: 1, data: v.data.subarray(0, v.height * v.width) };
        const labelsOf = (connectivity: Connectivity): Int32Array => connectedComponents(one, { connectivity }).labels.data;
        expect(labelsOf('3d-6')).toEqual(labelsOf('frame-4'));
        expect(labelsOf('overlap-4')).toEqual(labelsOf('frame-4'));
        expect(labelsOf('3d-26')).toEqual(labelsOf('frame-8'));
        expect(labelsOf('overlap-8')).toEqual(labelsOf('frame-8'));
      }),
    );
  });
});

describe('connectedComponents: size sanity', () => {
  it('labels a sparse random 110 x 259 x 344 volume (10M voxels) in 3D', () => {
    const [frames, height, width] = [110, 259, 344];
    // About 5 % foreground at random places (drawing once per set voxel keeps the set-up cheap).
    const data = new Uint8Array(frames * height * width);
    const rng = createRng(7);
    for (let k = 0; k < data.length / 20; k++) data[rng.int(data.length)] = 1;
    const volume = { data, frames, height, width };
    const { labels, components } = connectedComponents(volume, { connectivity: '3d-26' });
    expect(labels.data.length).toBe(data.length);
    expect(components.reduce((s, c) => s + c.size, 0)).toBe(countNonZero(volume));
    expect(components.length).toBeGreaterThan(1000);
  });
});
