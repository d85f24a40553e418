import { createHash } from 'node:crypto';
import { createRng, InvalidInputError } from '@mitosis/core';
import { createVolume } from '@mitosis/volume';
import { durationPmf, eventLengthScale, mixtureP75, scaledDuration } from './durations';
import { generateSyntheticVideo } from './generate';
import type { SyntheticVideo } from './generate';
import { resolveSynthOptions } from './options';
import type { SynthOptions } from './options';
import { syntheticPanel } from './panel';
import type { CellDrawing } from './simulate';
import { simulateCells } from './simulate';
import { summarizeTruth } from './truth';

const sha256 = (data: Uint8Array | Uint16Array): string =>
  createHash('sha256')
    .update(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');

/** Mean grey level of a 1-based frame, optionally over a window [x0, x1) x [y0, y1). */
function frameMean(v: SyntheticVideo, frame: number, x0 = 0, y0 = 0, x1 = v.volume.width, y1 = v.volume.height): number {
  const { width: W, height: H } = v.volume;
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += v.volume.data[((frame - 1) * H + y) * W + x];
  return sum / ((x1 - x0) * (y1 - y0));
}

/** The simulation alone (what generateSyntheticVideo draws), for checks on the cells' outlines. */
function simulate(options: SynthOptions): { drawings: CellDrawing[][]; width: number; height: number } {
  const o = resolveSynthOptions(options);
  // The same stream as generateSyntheticVideo's population.
  const sim = simulateCells(o, createRng(o.seed).fork());
  return { drawings: sim.drawings, width: o.width, height: o.height };
}

/** Of the frame's pixels inside any cell body (the drawn ellipses), the share inside two or more. */
function doubledShare(cells: readonly CellDrawing[], W: number, H: number): { covered: number; doubled: number } {
  const cover = new Uint8Array(W * H);
  for (const c of cells) {
    const ext = Math.ceil(c.semiMajor) + 1;
    const cosT = Math.cos(c.theta);
    const sinT = Math.sin(c.theta);
    for (let y = Math.max(0, Math.floor(c.y - ext)); y <= Math.min(H - 1, c.y + ext); y++) {
      for (let x = Math.max(0, Math.floor(c.x - ext)); x <= Math.min(W - 1, c.x + ext); x++) {
        const u = (x - c.x) * cosT + (y - c.y) * sinT;
        const v = -(x - c.x) * sinT + (y - c.y) * cosT;
        if ((u / c.semiMajor) ** 2 + (v / c.semiMinor) ** 2 <= 1) cover[y * W + x]++;
      }
    }
  }
  let any = 0;
  let two = 0;
  for (const n of cover) {
    if (n > 0) any++;
    if (n > 1) two++;
  }
  return { covered: any / (W * H), doubled: two / any };
}

describe('synthetic videos without the new options', () => {
  it('keep their bytes (hashes of videos made before drift, density and the rest existed)', () => {
    const plain = generateSyntheticVideo({ seed: 1, frames: 20 });
    expect(sha256(plain.volume.data)).toBe('4d6220e2e8f65095421bbc524c51043f75550885d35ab9127e2023abc21096a4');
    const deep = generateSyntheticVideo({ seed: 4, frames: 16, width: 96, height: 80, initialCells: 8, mitosisRate: 0.05, bitDepth: 16 });
    expect(sha256(deep.volume.data)).toBe('98dfffe437fa99dc9b572c12933c01cb585657c20881fe97ce876eec414f981f');
    expect(
      createHash('sha256')
        .update(JSON.stringify([deep.events, deep.cells]))
        .digest('hex'),
    ).toBe('b32a00c5ad42fa5b7877dd8420a4e172251dbae5311cf96f5161a1171fd7df30');
  });

  it('resolve the new options to their neutral values, written into truth.json', () => {
    const o = resolveSynthOptions({});
    expect(o).toMatchObject({
      coverage: null,
      contactInhibition: 0,
      eventLengthP75: null,
      eventLengthScale: 1,
      contrast: 1,
      drift: { x: 0, y: 0 },
      flicker: 0.002,
      illuminationRamp: 0,
      illuminationGradient: 0,
    });
    const truth = summarizeTruth(generateSyntheticVideo({ frames: 6, width: 48, height: 40 }));
    expect(JSON.parse(JSON.stringify(truth)).options).toMatchObject({ coverage: null, eventLengthP75: null, drift: { x: 0, y: 0 } });
    expect(truth.durationLaws.mitosis).toEqual(truth.options.mitosisDuration);
  });
});

describe('every new option', () => {
  const all: SynthOptions = {
    seed: 6,
    frames: 24,
    width: 128,
    height: 96,
    cellRadius: 8,
    coverage: 0.4,
    eventLengthP75: 6,
    contrast: 1.4,
    drift: { x: 0.7, y: -0.4 },
    flicker: 0.01,
    illuminationRamp: 0.2,
    illuminationGradient: 0.1,
    mitosisRate: 0.04,
  };

  it('is deterministic, and the resolved options (truth.json) make the same video again', () => {
    const a = generateSyntheticVideo(all);
    const b = generateSyntheticVideo(all);
    const again = generateSyntheticVideo(JSON.parse(JSON.stringify(a.options)) as SynthOptions);
    expect(sha256(b.volume.data)).toBe(sha256(a.volume.data));
    expect(sha256(again.volume.data)).toBe(sha256(a.volume.data));
    expect(again.events).toEqual(a.events);
    expect(b.cells).toEqual(a.cells);
    expect(sha256(generateSyntheticVideo({ ...all, seed: 7 }).volume.data)).not.toBe(sha256(a.volume.data));
  });

  it('is refused when out of range, with the option named', () => {
    const bad: [SynthOptions, string][] = [
      [{ coverage: 0.95 }, 'coverage must be a number in [0.01, 0.8], got 0.95'],
      [{ coverage: 0.3, initialCells: 3 }, 'give initialCells or coverage, not both'],
      [{ contactInhibition: 1.5 }, 'contactInhibition must be a number in [0, 1], got 1.5'],
      [{ eventLengthP75: 1 }, 'eventLengthP75 must be a number in [2, 40], got 1'],
      [{ eventLengthP75: 30, frames: 20 }, 'eventLengthP75 30 cannot be reached by scaling the event durations within 20 frames'],
      [{ contrast: 0 }, 'contrast must be a number in [0.1, 3], got 0'],
      [{ drift: { x: 5 } }, 'drift.x must be a number in [-4, 4], got 5'],
      [{ drift: { x: 0, y: Number.NaN } }, 'drift.y must be a number in [-4, 4], got NaN'],
      [{ drift: { x: 4 }, frames: 300 }, 'carry the view 1196x0 px over 300 frames, more than 3 frame sizes'],
      [{ flicker: -0.1 }, 'flicker must be a number in [0, 0.05], got -0.1'],
      [{ illuminationRamp: -1 }, 'illuminationRamp must be a number in [-0.9, 2], got -1'],
      [{ illuminationGradient: 1 }, 'illuminationGradient must be a number in [0, 0.9], got 1'],
    ];
    for (const [options, message] of bad) {
      expect(() => resolveSynthOptions(options)).toThrow(InvalidInputError);
      expect(() => resolveSynthOptions(options)).toThrow(message);
    }
  });
});

describe('event lengths of a chosen p75', () => {
  it('scale the three laws by one factor, the bounds outwards, and not at all by 1', () => {
    const d = { mean: 7, sd: 2, min: 3, max: 16 };
    expect(scaledDuration(d, 1, 2, 100)).toBe(d);
    expect(scaledDuration(d, 0.5, 2, 100)).toEqual({ mean: 3.5, sd: 1, min: 2, max: 8 });
    expect(scaledDuration(d, 1.5, 2, 20)).toEqual({ mean: 10.5, sd: 3, min: 4, max: 20 });
    const pmf = durationPmf(d);
    expect(pmf.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
    expect(pmf.indexOf(Math.max(...pmf)) + d.min).toBe(7);
    // A point mass at 5: its mass spans [4.5, 5.5), so the 75th percentile is 5.25.
    expect(mixtureP75([{ mean: 5, sd: 0, min: 2, max: 9 }], [1])).toBeCloseTo(5.25, 12);
    // The p75 a law already has needs no scaling; twice a law's own p75 is out of its bounds' reach only if clipped.
    const own = mixtureP75([d], [1]);
    expect(eventLengthScale([{ law: d, weight: 1, lowest: 2 }], own, 100)).toBeCloseTo(1, 6);
    expect(eventLengthScale([{ law: d, weight: 1, lowest: 2 }], 2 * own, 10)).toBeUndefined();
  });

  it.each([4, 8, 12])('put p75 of all event lengths of a long video within a frame of %i', (target) => {
    // The simulation of a long video, without drawing its frames: its events are the video's.
    const o = resolveSynthOptions({
      seed: 21,
      frames: 300,
      width: 160,
      height: 128,
      cellRadius: 6,
      initialCells: 50,
      // Distractors as common as mitoses, so the three laws weigh alike in the mixture.
      mitosisRate: 0.02,
      deathRate: 0.01,
      transientRate: 0.01,
      minCycleFrames: 10,
      eventLengthP75: target,
    });
    const { events, cells } = simulateCells(o, createRng(o.seed).fork());
    const truth = summarizeTruth({ events, cells, options: o, mitoses: [], bitDepth: 8, volume: createVolume(Uint8Array, 1, 1, 1) });
    expect(truth.durations.all.count).toBeGreaterThan(400);
    expect(Math.abs(truth.durations.all.p75 - target)).toBeLessThanOrEqual(1);
    // One factor for the three kinds: their means keep their ratios.
    const laws = truth.durationLaws;
    expect(laws.death.mean / laws.mitosis.mean).toBeCloseTo(5 / 7, 10);
    expect(laws['transient-rounding'].mean / laws.mitosis.mean).toBeCloseTo(4 / 7, 10);
    expect(truth.options.eventLengthP75).toBe(target);
  });
});

describe('dense videos', () => {
  it('hold several hundred touching cells per frame at 512x512 that barely overlap', () => {
    const options: SynthOptions = { seed: 2, frames: 16, width: 512, height: 512, cellRadius: 10, coverage: 0.5, mitosisRate: 0.02 };
    const { drawings, width, height } = simulate(options);
    for (const frame of drawings) expect(frame.length).toBeGreaterThan(400);
    const pressed = doubledShare(drawings[15], width, height);
    expect(pressed.covered).toBeGreaterThan(0.4);
    expect(pressed.doubled).toBeLessThan(0.05);
    // The circular repulsion of sparse videos lets the same crowd overlap several times as much.
    const soft = simulate({ ...options, contactInhibition: 0 });
    expect(doubledShare(soft.drawings[15], width, height).doubled).toBeGreaterThan(2 * pressed.doubled);
  });

  it('look like phase contrast: dark interiors, brighter where neighbours touch', () => {
    const video = generateSyntheticVideo({ seed: 3, frames: 4, width: 256, height: 256, cellRadius: 8, coverage: 0.5, noise: 0.005 });
    const { width: W, height: H } = video.volume;
    const at = (x: number, y: number): number => video.volume.data[(3 * H + Math.round(y)) * W + Math.round(x)];
    const cells = video.cells.filter((c) => c.frame === 4 && c.phase === 'normal' && c.x > 8 && c.y > 8 && c.x < W - 8 && c.y < H - 8);
    expect(cells.length).toBeGreaterThan(100);
    const interiors: number[] = [];
    const borders: number[] = [];
    for (const a of cells) {
      // The nearest neighbour: the point between them is where the two outlines meet.
      let nearest = cells[0] === a ? cells[1] : cells[0];
      for (const b of cells) if (b !== a && Math.hypot(b.x - a.x, b.y - a.y) < Math.hypot(nearest.x - a.x, nearest.y - a.y)) nearest = b;
      interiors.push(at(a.x, a.y));
      borders.push(at((a.x + nearest.x) / 2, (a.y + nearest.y) / 2));
    }
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const dish = 0.26 * 255;
    expect(mean(interiors)).toBeLessThan(dish - 8);
    expect(mean(borders)).toBeGreaterThan(mean(interiors) + 8);
  });
});

describe('cell sizes and contrast', () => {
  it.each([6, 24])('draw radius-%i cells darker than the dish and rounded ones brighter', (radius) => {
    // Room for a dozen cells of either size, none pressed by another.
    const side = 20 * radius;
    const video = generateSyntheticVideo({
      seed: 8,
      frames: 40,
      width: side,
      height: Math.round(0.8 * side),
      cellRadius: radius,
      initialCells: 16,
      mitosisRate: 0.05,
      minCycleFrames: 10,
      noise: 0.004,
    });
    const { width: W, height: H } = video.volume;
    const disc = (frame: number, x: number, y: number, r: number): number => {
      let sum = 0;
      let n = 0;
      for (let yy = Math.ceil(y - r); yy <= y + r; yy++) {
        for (let xx = Math.ceil(x - r); xx <= x + r; xx++) {
          if (xx < 0 || yy < 0 || xx >= W || yy >= H || (xx - x) ** 2 + (yy - y) ** 2 > r * r) continue;
          sum += video.volume.data[((frame - 1) * H + yy) * W + xx];
          n++;
        }
      }
      return sum / n;
    };
    const dish = 0.26 * 255;
    const alone = (c: (typeof video.cells)[number]) => !video.cells.some((o) => o.frame === c.frame && o.cellId !== c.cellId && Math.hypot(o.x - c.x, o.y - c.y) < 2.5 * radius);
    const normal = video.cells.filter((c) => c.phase === 'normal' && alone(c));
    const rounded = video.cells.filter((c) => c.phase === 'mitosis' && c.roundness === 1 && alone(c));
    expect(normal.length).toBeGreaterThan(10);
    expect(rounded.length).toBeGreaterThan(3);
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    expect(mean(normal.map((c) => disc(c.frame, c.x, c.y, 0.3 * c.radius)))).toBeLessThan(dish - 0.04 * 255);
    expect(mean(rounded.map((c) => disc(c.frame, c.x, c.y, 0.6 * c.radius)))).toBeGreaterThan(dish + 0.1 * 255);
  });

  it('scales the cells’ signal against the dish by the contrast', () => {
    const base: SynthOptions = { seed: 5, frames: 3, width: 96, height: 80, noise: 0, flicker: 0, unevenness: 0, bitDepth: 16 };
    const one = generateSyntheticVideo(base);
    const half = generateSyntheticVideo({ ...base, contrast: 0.5 });
    const dish = generateSyntheticVideo({ ...base, initialCells: 0, entryRate: 0 });
    let num = 0;
    let den = 0;
    for (let i = 0; i < one.volume.data.length; i++) {
      const signal = one.volume.data[i] - dish.volume.data[i];
      num += signal * (half.volume.data[i] - dish.volume.data[i]);
      den += signal * signal;
    }
    expect(den).toBeGreaterThan(0);
    expect(num / den).toBeCloseTo(0.5, 2);
  });
});

describe('stage drift', () => {
  const still: SynthOptions = {
    seed: 4,
    frames: 21,
    width: 160,
    height: 128,
    initialCells: 10,
    cellRadius: 6,
    speed: 0,
    growth: 0,
    mitosisRate: 0,
    deathRate: 0,
    transientRate: 0,
    entryRate: 0,
    drift: { x: 1, y: -0.5 },
  };

  it('moves every cell by the asked px per frame in the frame’s coordinates', () => {
    const video = generateSyntheticVideo(still);
    const byId = new Map<number, { frame: number; x: number; y: number }[]>();
    for (const c of video.cells) byId.set(c.cellId, [...(byId.get(c.cellId) ?? []), c]);
    const steps: { frame: number; dx: number; dy: number }[] = [];
    for (const track of byId.values()) {
      // Inside the frame (off it, a cell may bounce off the dish's border).
      for (let i = 1; i < track.length; i++) {
        const [p, q] = [track[i - 1], track[i]];
        if ([p, q].some((c) => c.x < 0 || c.y < 0 || c.x >= 160 || c.y >= 128)) continue;
        steps.push({ frame: q.frame, dx: q.x - p.x, dy: q.y - p.y });
      }
    }
    expect(steps.length).toBeGreaterThan(120);
    // Still cells move by the drift exactly; the few that overlapped in the first frame push
    // apart by a halving amount each frame on top of it.
    const exact = steps.filter((s) => Math.abs(s.dx - 1) < 1e-9 && Math.abs(s.dy + 0.5) < 1e-9);
    expect(exact.length).toBeGreaterThan(0.8 * steps.length);
    for (const s of steps.filter((x) => x.frame > 10)) expect(Math.hypot(s.dx - 1, s.dy + 0.5)).toBeLessThan(0.05);
  });

  it('moves the image content with it (the best shift from one frame to the next is the drift)', () => {
    // Whole pixels per frame, and a flat light: the next frame is this one shifted, up to the
    // noise and the cells' slow changes of shape.
    const video = generateSyntheticVideo({ ...still, initialCells: 14, unevenness: 0, drift: { x: 3, y: -2 } });
    const { width: W, height: H } = video.volume;
    const a = (x: number, y: number) => video.volume.data[(19 * H + y) * W + x];
    const b = (x: number, y: number) => video.volume.data[(20 * H + y) * W + x];
    let best = { dx: 0, dy: 0, ssd: Infinity };
    for (let dy = -8; dy <= 8; dy++) {
      for (let dx = -8; dx <= 8; dx++) {
        let ssd = 0;
        for (let y = 20; y < H - 20; y++) for (let x = 20; x < W - 20; x++) ssd += (b(x + dx, y + dy) - a(x, y)) ** 2;
        if (ssd < best.ssd) best = { dx, dy, ssd };
      }
    }
    expect({ dx: best.dx, dy: best.dy }).toEqual({ dx: 3, dy: -2 });
    // What is left is about the pixel noise of two frames (sd 0.012 x 255 each).
    expect(best.ssd / ((W - 40) * (H - 40))).toBeLessThan(2 * (0.012 * 255) ** 2 * 1.8);
  });

  it('keeps every reported event and annotation inside the frame', () => {
    const video = generateSyntheticVideo({ seed: 9, frames: 60, width: 160, height: 128, initialCells: 12, mitosisRate: 0.05, drift: { x: -1.2, y: 0.6 } });
    expect(video.mitoses.length).toBeGreaterThan(3);
    for (const e of video.events) {
      expect(e.x).toBeGreaterThanOrEqual(0);
      expect(e.x).toBeLessThan(160);
      expect(e.y).toBeGreaterThanOrEqual(0);
      expect(e.y).toBeLessThan(128);
    }
    // Each event's cell is observed in its frames, where the event says it is.
    for (const e of video.events.filter((x) => x.kind !== 'mitosis')) {
      const seen = video.cells.find((c) => c.cellId === e.cellId && c.frame === e.start);
      expect(Math.hypot(seen!.x - e.x, seen!.y - e.y)).toBeLessThan(0.01);
    }
  });
});

describe('illumination over time', () => {
  const base: SynthOptions = { seed: 12, frames: 21, width: 128, height: 96, noise: 0.004 };

  it('ramps the mean frame brightness by the asked factor', () => {
    const flat = generateSyntheticVideo(base);
    const ramp = generateSyntheticVideo({ ...base, illuminationRamp: 0.5 });
    expect(frameMean(ramp, 1) / frameMean(flat, 1)).toBeCloseTo(1, 2);
    expect(frameMean(ramp, 11) / frameMean(flat, 11)).toBeCloseTo(1.25, 1);
    expect(Math.abs(frameMean(ramp, 21) / frameMean(flat, 21) - 1.5)).toBeLessThan(0.02);
  });

  it('flickers the frame means as much as asked', () => {
    const sdOfMeans = (v: SyntheticVideo): number => {
      const m = Array.from({ length: v.volume.frames - 1 }, (_, t) => frameMean(v, t + 2) - frameMean(v, t + 1));
      return Math.sqrt(m.reduce((s, x) => s + x * x, 0) / m.length) / 255;
    };
    const calm = sdOfMeans(generateSyntheticVideo({ ...base, flicker: 0 }));
    const flickering = sdOfMeans(generateSyntheticVideo({ ...base, flicker: 0.02 }));
    expect(calm).toBeLessThan(0.004);
    // Frame-to-frame changes of an AR(1) of factor 0.8: sd = innovation x sqrt(2 / 1.8).
    expect(flickering).toBeGreaterThan(0.01);
    expect(flickering).toBeLessThan(0.04);
  });

  it('tilts the light by the asked amplitude, the tilt turning half a turn over the video', () => {
    const flat = generateSyntheticVideo({ ...base, flicker: 0 });
    const tilted = generateSyntheticVideo({ ...base, flicker: 0, illuminationGradient: 0.3 });
    const { width: W, height: H } = flat.volume;
    const half = Math.hypot(W - 1, H - 1) / 2;
    /** Least squares of the gain (tilted / flat) on the centred coordinates over half the diagonal. */
    const tilt = (frame: number): { gx: number; gy: number } => {
      let sxx = 0;
      let syy = 0;
      let sxg = 0;
      let syg = 0;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const i = ((frame - 1) * H + y) * W + x;
          const g = tilted.volume.data[i] / flat.volume.data[i] - 1;
          const u = (x - (W - 1) / 2) / half;
          const v = (y - (H - 1) / 2) / half;
          sxx += u * u;
          syy += v * v;
          sxg += u * g;
          syg += v * g;
        }
      }
      return { gx: sxg / sxx, gy: syg / syy };
    };
    const first = tilt(1);
    const last = tilt(21);
    expect(Math.hypot(first.gx, first.gy)).toBeCloseTo(0.3, 1);
    expect(Math.hypot(last.gx, last.gy)).toBeCloseTo(0.3, 1);
    // Opposite directions: cos of the angle between them near -1.
    expect((first.gx * last.gx + first.gy * last.gy) / (Math.hypot(first.gx, first.gy) * Math.hypot(last.gx, last.gy))).toBeLessThan(-0.95);
  });
});

describe('the synthetic panel', () => {
  it('names distinct, valid cases of modest size with an unsupervised part and a part to detect on', () => {
    const names = syntheticPanel.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['sparse-p8', 'dense-p8', 'p4', 'p12', 'small-cells', 'large-cells', 'drift-illumination']));
    for (const c of syntheticPanel) {
      const o = resolveSynthOptions(c.options);
      expect(o.frames * o.width * o.height).toBeLessThanOrEqual(100 * 480 * 384);
      expect(c.unsupervisedFrames).toBeGreaterThan(0);
      expect(c.unsupervisedFrames).toBeLessThan(o.frames);
    }
    const sparse = syntheticPanel.find((c) => c.name === 'sparse-p8');
    // Today's demo video (`mitosis demo` defaults).
    expect(sparse?.options).toEqual({ frames: 100, width: 480, height: 384, mitosisRate: 0.03 });
    expect(resolveSynthOptions(syntheticPanel.find((c) => c.name === 'dense-p8')!.options).initialCells).toBeGreaterThan(250);
  });

  it('makes a video of every case (their first frames)', () => {
    for (const c of syntheticPanel) {
      // p12's long events need more than a few frames; a short video of each case with its own target p75 off.
      const video = generateSyntheticVideo({ ...c.options, frames: 8, seed: 2, eventLengthP75: null });
      expect(video.volume).toMatchObject({ frames: 8, width: c.options.width, height: c.options.height });
    }
  });
});
