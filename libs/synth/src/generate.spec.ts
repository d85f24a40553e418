import { createRng, InvalidInputError } from '@mitosis/core';
import { connectedComponents, createVolume } from '@mitosis/volume';
import { generateSyntheticVideo } from './generate';
import type { SyntheticVideo } from './generate';
import { resolveSynthOptions } from './options';
import { daughterFrames, drawDuration } from './simulate';

/** Pixel value of (1-based frame, x, y). */
function pixel(v: SyntheticVideo, frame: number, x: number, y: number): number {
  const { width, height } = v.volume;
  return v.volume.data[((frame - 1) * height + y) * width + x];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Bright bodies (pixels well above the local background) within `radius` of (x, y) in a frame,
 * as connected groups of at least `minSize` pixels: what an observer would count as bodies.
 */
function brightBodies(v: SyntheticVideo, frame: number, x: number, y: number, radius: number, minSize = 12) {
  const { width: W, height: H } = v.volume;
  const top = v.bitDepth === 8 ? 255 : 65535;
  const x0 = Math.max(0, Math.floor(x - radius));
  const x1 = Math.min(W - 1, Math.ceil(x + radius));
  const y0 = Math.max(0, Math.floor(y - radius));
  const y1 = Math.min(H - 1, Math.ceil(y + radius));
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  // The local background: the median of a window twice as wide, mostly empty dish.
  const pad = Math.round(radius);
  const around: number[] = [];
  for (let yy = Math.max(0, y0 - pad); yy <= Math.min(H - 1, y1 + pad); yy++) {
    for (let xx = Math.max(0, x0 - pad); xx <= Math.min(W - 1, x1 + pad); xx++) around.push(pixel(v, frame, xx, yy));
  }
  const level = median(around) + 0.15 * top;
  const mask = createVolume(Uint8Array, 1, h, w);
  for (let yy = 0; yy < h; yy++) {
    for (let xx = 0; xx < w; xx++) {
      const inDisc = (x0 + xx - x) ** 2 + (y0 + yy - y) ** 2 <= radius * radius;
      mask.data[yy * w + xx] = inDisc && pixel(v, frame, x0 + xx, y0 + yy) > level ? 1 : 0;
    }
  }
  return connectedComponents(mask, { connectivity: 'frame-8' })
    .components.filter((c) => c.size >= minSize)
    .map((c) => ({ x: x0 + c.centroid.x, y: y0 + c.centroid.y, size: c.size }));
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

describe('generateSyntheticVideo', () => {
  let video: SyntheticVideo;
  let cpuMs = 0;

  beforeAll(() => {
    // CPU time, not wall time: other engineers' jobs share this machine's two cores.
    const start = process.cpuUsage();
    video = generateSyntheticVideo({ seed: 1 });
    const used = process.cpuUsage(start);
    cpuMs = (used.user + used.system) / 1000;
  });

  it('makes the documented default video quickly', () => {
    expect(video.volume).toMatchObject({ frames: 120, height: 256, width: 320 });
    expect(video.volume.data).toBeInstanceOf(Uint8Array);
    expect(video.bitDepth).toBe(8);
    expect(video.mitoses.length).toBeGreaterThanOrEqual(8);
    expect(cpuMs).toBeLessThan(2000);
  });

  it('is deterministic for a seed and changes with it', () => {
    const options = { seed: 7, frames: 30, width: 96, height: 80, initialCells: 6, mitosisRate: 0.05 };
    const a = generateSyntheticVideo(options);
    const b = generateSyntheticVideo(options);
    const c = generateSyntheticVideo({ ...options, seed: 8 });
    expect(Buffer.from(a.volume.data).equals(Buffer.from(b.volume.data))).toBe(true);
    expect(b.events).toEqual(a.events);
    expect(b.mitoses).toEqual(a.mitoses);
    expect(Buffer.from(a.volume.data).equals(Buffer.from(c.volume.data))).toBe(false);
  });

  it('keeps the cells and events when only the look changes (one random stream per concern)', () => {
    const options = { seed: 3, frames: 40, width: 96, height: 80, initialCells: 8, mitosisRate: 0.04 };
    const base = generateSyntheticVideo(options);
    const noisier = generateSyntheticVideo({ ...options, noise: 0.05, unevenness: 0.1 });
    const deep = generateSyntheticVideo({ ...options, bitDepth: 16 });
    expect(base.events.length).toBeGreaterThan(0);
    expect(noisier.events).toEqual(base.events);
    expect(noisier.cells).toEqual(base.cells);
    expect(deep.events).toEqual(base.events);
    expect(Buffer.from(noisier.volume.data).equals(Buffer.from(base.volume.data))).toBe(false);
  });

  it('annotates every mitosis inside the video, in its event, once', () => {
    const { frames, width, height } = video.options;
    const mitosisEvents = video.events.filter((e) => e.kind === 'mitosis');
    expect(video.mitoses).toHaveLength(mitosisEvents.length);
    for (const m of video.mitoses) {
      expect(m.frame).toBeGreaterThanOrEqual(1);
      expect(m.frame).toBeLessThanOrEqual(frames);
      expect(m.x).toBeGreaterThanOrEqual(0);
      expect(m.x).toBeLessThan(width);
      expect(m.y).toBeGreaterThanOrEqual(0);
      expect(m.y).toBeLessThan(height);
      const event = mitosisEvents.find((e) => e.x === m.x && e.y === m.y);
      expect(event).toBeDefined();
      // The daughters separate after the rounding and stay abnormal for daughterFrames(D) frames.
      expect(m.frame).toBe(event!.end - daughterFrames(event!.duration) + 1);
    }
  });

  it('annotates the first frame where the daughters show as two bright bodies, at their midpoint', () => {
    const r = video.options.cellRadius;
    let checked = 0;
    let agreeing = 0;
    for (const m of video.mitoses) {
      // Skip an annotation with another rounded cell close by (the daughters sit within 1.3 r of
      // it): that cell would add a third body.
      const crowded = video.cells.some(
        (c) => c.frame === m.frame && c.phase !== 'normal' && Math.hypot(c.x - m.x, c.y - m.y) > 1.3 * r && Math.hypot(c.x - m.x, c.y - m.y) < 3 * r,
      );
      if (crowded) continue;
      checked++;
      const now = brightBodies(video, m.frame, m.x, m.y, 1.6 * r);
      const before = brightBodies(video, m.frame - 1, m.x, m.y, 1.6 * r);
      // Two bodies on either side of the annotation now, one body on it the frame before. A flat
      // cell crawling across a disc may break its ring in the image, hence a rate, not all.
      const two = now.length === 2 && Math.hypot((now[0].x + now[1].x) / 2 - m.x, (now[0].y + now[1].y) / 2 - m.y) < 4 && Math.hypot(now[0].x - now[1].x, now[0].y - now[1].y) > r;
      const one = before.length === 1 && Math.hypot(before[0].x - m.x, before[0].y - m.y) < 4;
      if (two && one) agreeing++;
    }
    expect(checked).toBeGreaterThanOrEqual(video.mitoses.length * 0.7);
    expect(agreeing).toBeGreaterThanOrEqual(checked * 0.85);
  });

  it('reports events whose lengths respect the configured bounds and are bracketed by normal frames', () => {
    const o = video.options;
    const bounds = { mitosis: o.mitosisDuration, death: o.deathDuration, 'transient-rounding': o.transientDuration };
    const kinds = new Set(video.events.map((e) => e.kind));
    expect(kinds).toEqual(new Set(['mitosis', 'death', 'transient-rounding']));
    for (const e of video.events) {
      expect(e.duration).toBe(e.end - e.start + 1);
      expect(e.duration).toBeGreaterThanOrEqual(bounds[e.kind].min);
      expect(e.duration).toBeLessThanOrEqual(bounds[e.kind].max);
      expect(e.start).toBeGreaterThanOrEqual(2);
      expect(e.end).toBeLessThanOrEqual(o.frames - 1);
    }
    // A cell is out of its normal appearance exactly within its events (a mother until her
    // split, her daughters from it); a dying cell is gone after its event.
    for (const [id, frames] of groupBy(video.cells, (c) => c.cellId)) {
      const own = video.events.filter((e) => e.cellId === id);
      // A daughter is born at her mother's annotation, a few pixels from it.
      const born = video.events.find(
        (e) =>
          e.kind === 'mitosis' && e.end - daughterFrames(e.duration) + 1 === frames[0].frame && Math.hypot(e.x - frames[0].x, e.y - frames[0].y) < video.options.cellRadius * 1.5,
      );
      for (const c of frames) {
        const within = [...own, ...(born ? [born] : [])].some((e) => c.frame >= e.start && c.frame <= e.end);
        expect({ id, frame: c.frame, abnormal: c.phase !== 'normal' }).toEqual({ id, frame: c.frame, abnormal: within });
      }
      const death = own.find((e) => e.kind === 'death');
      if (death) expect(frames[frames.length - 1].frame).toBe(death.end);
    }
  });

  it('lets the density rise: more cells at the end than at the start', () => {
    const count = (frame: number) => video.cells.filter((c) => c.frame === frame).length;
    expect(count(1)).toBe(video.options.initialCells);
    expect(count(video.options.frames)).toBeGreaterThan(count(1) * 1.3);
  });

  it('uses the grey range without clipping', () => {
    const data = video.volume.data;
    let clipped = 0;
    let lo = 255;
    let hi = 0;
    for (const v of data) {
      if (v === 0 || v === 255) clipped++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    expect(clipped / data.length).toBeLessThan(0.001);
    expect(hi - lo).toBeGreaterThan(100);
    const deep = generateSyntheticVideo({ seed: 2, frames: 6, bitDepth: 16 });
    expect(deep.volume.data).toBeInstanceOf(Uint16Array);
    let deepest = 0;
    for (const v of deep.volume.data) deepest = Math.max(deepest, v);
    expect(deepest).toBeGreaterThan(20000);
  });

  it('draws a rounding mitotic cell brighter than the normal cells of its frames', () => {
    const mean = (frame: number, x: number, y: number, radius: number): number => {
      let sum = 0;
      let n = 0;
      for (let yy = Math.ceil(y - radius); yy <= Math.floor(y + radius); yy++) {
        for (let xx = Math.ceil(x - radius); xx <= Math.floor(x + radius); xx++) {
          if (xx < 0 || yy < 0 || xx >= video.volume.width || yy >= video.volume.height) continue;
          if ((xx - x) ** 2 + (yy - y) ** 2 > radius * radius) continue;
          sum += pixel(video, frame, xx, yy);
          n++;
        }
      }
      return sum / n;
    };
    const r = video.options.cellRadius;
    const top = 255;
    const rounded = video.cells.filter((c) => c.phase === 'mitosis' && c.roundness === 1);
    expect(rounded.length).toBeGreaterThan(20);
    let brighterThanAll = 0;
    const gaps: number[] = [];
    for (const m of rounded) {
      // Normal cells well inside the frame and away from any rounded cell (whose halo would light them).
      const normals = video.cells.filter(
        (c) =>
          c.frame === m.frame &&
          c.phase === 'normal' &&
          c.x >= r &&
          c.y >= r &&
          c.x < video.volume.width - r &&
          c.y < video.volume.height - r &&
          !video.cells.some((o) => o.frame === m.frame && o.phase !== 'normal' && Math.hypot(o.x - c.x, o.y - c.y) < 2.5 * r),
      );
      const normalMeans = normals.map((c) => mean(c.frame, c.x, c.y, 0.4 * c.radius));
      const mitotic = mean(m.frame, m.x, m.y, 0.6 * m.radius);
      if (mitotic > Math.max(...normalMeans)) brighterThanAll++;
      gaps.push(mitotic - normalMeans.reduce((s, v) => s + v, 0) / normalMeans.length);
    }
    // Every rounded mitotic cell is far brighter than the average normal cell of its frame, and
    // nearly always brighter than the brightest one.
    expect(Math.min(...gaps)).toBeGreaterThan(0.1 * top);
    expect(brighterThanAll).toBeGreaterThanOrEqual(0.95 * rounded.length);
  });

  it('rejects bad options with an error naming them', () => {
    const bad: [object, RegExp][] = [
      [{ frames: 0 }, /frames must be an integer/],
      [{ width: 10.5 }, /width must be an integer/],
      [{ bitDepth: 12 }, /bitDepth must be 8 or 16/],
      [{ mitosisRate: -0.1 }, /mitosisRate must be a number in \[0, 1\]/],
      [{ mitosisRate: 0.6, deathRate: 0.6 }, /mitosisRate \+ deathRate \+ transientRate must be at most 1/],
      [{ mitosisDuration: { min: 8, max: 5 } }, /mitosisDuration\.max must be an integer in \[8, /],
      [{ deathDuration: { sd: -1 } }, /deathDuration\.sd must be a non-negative number/],
      [{ cellRadius: Number.NaN }, /cellRadius must be a number/],
      [{ persistence: 1 }, /persistence must be a number in \[0, 1\)/],
    ];
    for (const [options, message] of bad) {
      expect(() => generateSyntheticVideo(options)).toThrow(InvalidInputError);
      expect(() => generateSyntheticVideo(options)).toThrow(message);
    }
  });

  it('names bad options as the caller calls them', () => {
    const flag = (option: string) => `--${option.replace(/[A-Z.]/g, (c) => (c === '.' ? '-' : `-${c.toLowerCase()}`))}`;
    expect(() => resolveSynthOptions({ mitosisDuration: { min: 1 } }, flag)).toThrow('synthetic video: --mitosis-duration-min must be an integer in [2, 118], got 1');
    expect(() => resolveSynthOptions({ deathRate: 0.7, transientRate: 0.7 }, flag)).toThrow(/--mitosis-rate \+ --death-rate \+ --transient-rate must be at most 1/);
  });

  it('fits the default bounds and cell size to a short or small video', () => {
    const o = resolveSynthOptions({ frames: 8, width: 40, height: 32 });
    expect(o.mitosisDuration).toEqual({ mean: 7, sd: 2, min: 3, max: 6 });
    expect(o.cellRadius).toBe(4);
    expect(o.initialCells).toBe(1);
  });
});

describe('event durations', () => {
  it('follow a rounded normal law truncated to [min, max]', () => {
    const rng = createRng(11);
    const d = { mean: 7, sd: 2, min: 3, max: 16 };
    const draws = Array.from({ length: 4000 }, () => drawDuration(rng, d));
    for (const v of draws) {
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(16);
    }
    const mean = draws.reduce((s, v) => s + v, 0) / draws.length;
    const sd = Math.sqrt(draws.reduce((s, v) => s + (v - mean) ** 2, 0) / draws.length);
    expect(mean).toBeCloseTo(7, 0);
    // Rounding to whole frames adds 1/12 to the variance.
    expect(sd).toBeGreaterThan(1.8);
    expect(sd).toBeLessThan(2.2);
  });

  it('stay inside tight bounds, with no pile-up at a bound far from the mean', () => {
    const rng = createRng(12);
    const draws = Array.from({ length: 1000 }, () => drawDuration(rng, { mean: 10, sd: 1, min: 9, max: 30 }));
    expect(Math.min(...draws)).toBe(9);
    expect(draws.filter((v) => v === 30)).toHaveLength(0);
    expect(drawDuration(rng, { mean: 50, sd: 0, min: 2, max: 4 })).toBe(4);
  });

  it('give the daughters a third of a mitosis, 1 to 3 frames', () => {
    expect([2, 3, 4, 5, 6, 7, 8, 9, 12, 16].map(daughterFrames)).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 3]);
  });

  it('follow the configured distribution in a video', () => {
    const v = generateSyntheticVideo({
      seed: 5,
      frames: 80,
      width: 160,
      height: 128,
      initialCells: 14,
      mitosisRate: 0.04,
      minCycleFrames: 10,
      mitosisDuration: { mean: 9, sd: 1.5, min: 6, max: 12 },
    });
    const durations = v.events.filter((e) => e.kind === 'mitosis').map((e) => e.duration);
    expect(durations.length).toBeGreaterThan(15);
    expect(Math.min(...durations)).toBeGreaterThanOrEqual(6);
    expect(Math.max(...durations)).toBeLessThanOrEqual(12);
    const mean = durations.reduce((s, d) => s + d, 0) / durations.length;
    expect(Math.abs(mean - 9)).toBeLessThan(1);
  });
});
