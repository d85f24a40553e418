import { createRng } from '@mitosis/core';
import type { Volume } from '@mitosis/volume';
import { chooseNormalCellMap, rankFeatureMaps, scoreFeatureMaps } from './normal-cell-map';

/**
 * Crafted winner volumes (which of M1's maps wins each pixel), one map per kind of structure the
 * choice must tell apart: 0 background, 1 cell interiors, 2 their edges (rings), 3 specks that
 * blink (a new random set each frame), 4 blank.
 */
interface Scene {
  readonly frames: number;
  readonly size: number;
  /** Disc centres at frame 0, and how far each moves per frame. */
  readonly cells: readonly { y: number; x: number; dy: number; dx: number }[];
  readonly radius: number;
  readonly ring: number;
  readonly specksPerFrame: number;
  readonly speckSize: number;
}

function render(scene: Scene, seed = 1): Volume<Uint8Array> {
  const { frames, size } = scene;
  const rng = createRng(seed);
  const data = new Uint8Array(frames * size * size);
  for (let t = 0; t < frames; t++) {
    const plane = data.subarray(t * size * size, (t + 1) * size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let value = 0;
        for (const c of scene.cells) {
          const d = Math.hypot(y - c.y - c.dy * t, x - c.x - c.dx * t);
          if (d <= scene.radius) value = 1;
          else if (d <= scene.radius + scene.ring && value === 0) value = 2;
        }
        plane[y * size + x] = value;
      }
    }
    for (let s = 0; s < scene.specksPerFrame; s++) {
      const y0 = rng.int(size - scene.speckSize);
      const x0 = rng.int(size - scene.speckSize);
      for (let y = y0; y < y0 + scene.speckSize; y++) for (let x = x0; x < x0 + scene.speckSize; x++) if (plane[y * size + x] === 0) plane[y * size + x] = 3;
    }
  }
  return { data, frames, height: size, width: size };
}

/** Cells on a jittered grid `spacing` apart, drifting slowly. */
function grid(size: number, spacing: number, seed: number): Scene['cells'] {
  const rng = createRng(seed);
  const cells: { y: number; x: number; dy: number; dx: number }[] = [];
  for (let y = spacing / 2; y <= size - spacing / 2; y += spacing) {
    for (let x = spacing / 2; x <= size - spacing / 2; x += spacing) {
      cells.push({ y: y + rng.next() - 0.5, x: x + rng.next() - 0.5, dy: (rng.next() - 0.5) * 0.6, dx: (rng.next() - 0.5) * 0.6 });
    }
  }
  return cells;
}

const sparse: Scene = { frames: 10, size: 96, cells: grid(96, 24, 1), radius: 4, ring: 2, specksPerFrame: 60, speckSize: 2 };

describe('scoring M1 feature maps as normal-cell maps', () => {
  it('prefers persistent round interiors to background, edges, blinking specks and blank maps', () => {
    const scores = scoreFeatureMaps(render(sparse), 5);
    const ranking = rankFeatureMaps(scores);
    expect(chooseNormalCellMap(scores)).toBe(1);
    expect(ranking.order[0]).toBe(1);
    expect(ranking.confident).toBe(true);
    expect(scores[1]!.persistence).toBeGreaterThan(0.9);
    expect(scores[1]!.countStability).toBeGreaterThan(0.9);
    // Specks are round and numerous, but a new set each frame: they do not persist.
    expect(scores[3]!.cellLikePerFrame).toBeGreaterThan(scores[1]!.cellLikePerFrame);
    expect(scores[3]!.persistence).toBeLessThan(0.3);
    expect(scores[1]!.score).toBeGreaterThan(3 * scores[3]!.score);
    expect(scores[2]!.score).toBeLessThan(scores[1]!.score / 3);
    expect(scores[0]!.score).toBe(0);
    expect(scores[4]!.score).toBe(0);
  });

  it('still finds the interiors when cells touch, by scoring the map eroded as y_t will be', () => {
    // Discs of radius 5 eleven pixels apart: touching in the raw map, split by one erosion.
    const dense: Scene = { ...sparse, cells: grid(96, 11, 2), radius: 5, ring: 0, specksPerFrame: 200 };
    const scores = scoreFeatureMaps(render(dense), 5);
    expect(chooseNormalCellMap(scores)).toBe(1);
    expect(scores[1]!.cleaning.erosions).toBe(1);
    expect(scores[1]!.cellLikePerFrame).toBeGreaterThan(30);
  });

  it('does not erode cells a few pixels across into nothing', () => {
    const tiny: Scene = { ...sparse, cells: grid(96, 12, 3), radius: 1.6, ring: 1, specksPerFrame: 30 };
    const scores = scoreFeatureMaps(render(tiny), 5);
    expect(chooseNormalCellMap(scores)).toBe(1);
    expect(scores[1]!.cleaning.erosions).toBe(0);
    expect(scores[1]!.cellLikePerFrame).toBeGreaterThan(40);
    // One erosion given by the user is honoured, and leaves next to nothing of such cells.
    const eroded = scoreFeatureMaps(render(tiny), 5, { erosions: 1 });
    expect(eroded[1]!.cleaning.erosions).toBe(1);
    expect(eroded[1]!.cellLikePerFrame).toBeLessThan(scores[1]!.cellLikePerFrame / 4);
  });

  it('reports a small margin when two maps hold equally good cells', () => {
    // Two populations of interiors, one in each half of the frame, as maps 1 and 3.
    const volume = render({ ...sparse, specksPerFrame: 0 });
    const half = sparse.size / 2;
    for (let i = 0; i < volume.data.length; i++) {
      const x = i % sparse.size;
      if (volume.data[i] === 1 && x >= half) volume.data[i] = 3;
    }
    const scores = scoreFeatureMaps(volume, 5);
    const ranking = rankFeatureMaps(scores);
    expect(ranking.confident).toBe(false);
    expect(ranking.margin).toBeLessThan(0.25);
  });

  it('refuses to choose on a blank or background-only volume, naming what to try', () => {
    const blank = { data: new Uint8Array(4 * 32 * 32), frames: 4, height: 32, width: 32 };
    const scores = scoreFeatureMaps(blank, 3);
    expect(rankFeatureMaps(scores).margin).toBe(0);
    expect(() => chooseNormalCellMap(scores)).toThrow(/persist from frame to frame.*--normal-map/);
  });
});
