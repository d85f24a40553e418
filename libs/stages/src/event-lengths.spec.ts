import { measureEventLengths } from './event-lengths';

describe('measureEventLengths', () => {
  it('binarises e at 0.5, joins overlapping areas over time and measures their temporal lengths', () => {
    const frames = 12;
    const size = 16;
    const data = new Float32Array(frames * size * size);
    const put = (t: number, y: number, x: number, v: number): void => {
      data[(t * size + y) * size + x] = v;
    };
    // Event A: 2x2 pixels for frames 1..5 (length 5); event B: frames 6..13 clipped to 11 (length 6), drifting one pixel.
    for (let t = 1; t <= 5; t++)
      for (const [y, x] of [
        [2, 2],
        [2, 3],
        [3, 2],
        [3, 3],
      ])
        put(t, y!, x!, 0.9);
    for (let t = 6; t < 12; t++)
      for (const [y, x] of [
        [10, 8 + (t % 2)],
        [10, 9 + (t % 2)],
      ])
        put(t, y!, x!, 0.7);
    // Below threshold: ignored. A single voxel: dropped as noise.
    put(4, 12, 12, 0.4);
    put(8, 0, 15, 0.95);
    const report = measureEventLengths({ data, frames, height: size, width: size });
    expect(report.lengths.sort((a, b) => a - b)).toEqual([5, 6]);
    expect(report.statistics.count).toBe(2);
    expect(report.statistics.mean).toBeCloseTo(5.5);
    expect(report.recommendedK).toBe(6);
  });
});
