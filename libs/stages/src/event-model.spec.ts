import { createRng } from '@mitosis/core';
import type { Volume } from '@mitosis/volume';
import { linkTrajectories, makeArtificialEvents } from './event-model';

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
