import { createRng } from '@mitosis/core';
import type { Volume } from '@mitosis/volume';
import { chooseDownscaleFactor, estimateCellSize } from './cell-size';

/** Dark discs of `radius` px with a bright halo on a noisy grey background, randomly placed. */
function discs(radius: number, size = 192, frames = 2, seed = 1): Volume<Uint8Array> {
  const rng = createRng(seed);
  const data = new Uint8Array(frames * size * size);
  for (let t = 0; t < frames; t++) {
    const plane = data.subarray(t * size * size, (t + 1) * size * size);
    for (let i = 0; i < plane.length; i++) plane[i] = 120 + Math.round((rng.next() - 0.5) * 10);
    const count = Math.round((0.15 * size * size) / (Math.PI * radius * radius));
    for (let c = 0; c < count; c++) {
      const cy = rng.next() * size;
      const cx = rng.next() * size;
      for (let y = Math.max(0, Math.floor(cy - radius - 2)); y < Math.min(size, cy + radius + 2); y++) {
        for (let x = Math.max(0, Math.floor(cx - radius - 2)); x < Math.min(size, cx + radius + 2); x++) {
          const d = Math.hypot(y - cy, x - cx);
          if (d <= radius) plane[y * size + x] = 60;
          else if (d <= radius + 1.5) plane[y * size + x] = 160;
        }
      }
    }
  }
  return { data, frames, height: size, width: size };
}

describe('measuring the cell size before the downscale', () => {
  it('follows the radius of the cells: twice the radius, twice the estimate', () => {
    const estimates = [4, 8, 16].map((r) => estimateCellSize(discs(r)).radius);
    for (const [i, r] of [4, 8, 16].entries()) {
      expect(estimates[i]).toBeGreaterThan(0.6 * r);
      expect(estimates[i]).toBeLessThan(1.6 * r);
    }
    expect(estimates[1]! / estimates[0]!).toBeGreaterThan(1.6);
    expect(estimates[2]! / estimates[1]!).toBeGreaterThan(1.6);
  });

  it('reports the energy profile over the radii it tried and the frames it sampled', () => {
    const estimate = estimateCellSize(discs(6, 128, 7), { sampleFrames: 3 });
    expect(estimate.frames).toEqual([1, 3, 5]);
    expect(estimate.profile.length).toBeGreaterThan(8);
    expect(estimate.profile.every((p, i, all) => i === 0 || p.radius > all[i - 1]!.radius)).toBe(true);
  });

  it('refuses frames too small to measure', () => {
    expect(() => estimateCellSize({ data: new Uint8Array(16), frames: 1, height: 4, width: 4 })).toThrow(/cannot measure cell size/);
  });

  it("keeps the paper's 4 for cells big enough, less for small ones, never below 1", () => {
    expect(chooseDownscaleFactor(6.2)).toBe(4);
    expect(chooseDownscaleFactor(30)).toBe(4);
    expect(chooseDownscaleFactor(3.4)).toBe(2);
    // CeTReS.B measured on frames 1-110 (5.76) and on all 200 (6.3): the paper's factor either way.
    expect(chooseDownscaleFactor(5.76)).toBe(4);
    expect(chooseDownscaleFactor(5.1)).toBe(3);
    expect(chooseDownscaleFactor(3.8)).toBe(3);
    expect(chooseDownscaleFactor(2)).toBe(1);
    expect(chooseDownscaleFactor(1)).toBe(1);
    expect(() => chooseDownscaleFactor(0)).toThrow(/not a positive number/);
  });
});
