import fc from 'fast-check';
import { InvalidInputError } from '@mitosis/core';
import type { Volume } from '@mitosis/volume';
import {
  downscale,
  downscaledSize,
  defaultFlatFieldSigma,
  flattenIllumination,
  floatToUint8,
  normalizeIntensities,
  preprocessVideo,
  toDownscaledPixels,
  toOriginalPixels,
} from './preprocess';
import type { RawVideo } from './read-video';

function volumeOf<T extends Float32Array | Uint8Array | Uint16Array>(data: T, frames: number, height: number, width: number): Volume<T> {
  return { data, frames, height, width };
}

describe('normalizeIntensities', () => {
  it('rescales linearly over the min and max of all frames together', () => {
    // Two 1x2 frames: min 10, max 50 over the whole video, not per frame.
    const out = normalizeIntensities(volumeOf(Uint16Array.of(10, 20, 30, 50), 2, 1, 2));
    expect(Array.from(out.data)).toEqual([0, 0.25, 0.5, 1]);
    expect(out).toMatchObject({ frames: 2, height: 1, width: 2 });
  });

  it('maps a constant video to zeros, never NaN', () => {
    const out = normalizeIntensities(volumeOf(new Uint8Array(6).fill(77), 1, 2, 3));
    expect(Array.from(out.data)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('downscale', () => {
  it('averages factor x factor blocks and drops the remainder rows and columns', () => {
    // One 3x5 frame by 2 -> 1x2: blocks [[1,2],[6,7]] and [[3,4],[8,9]]; column 4 and row 2 dropped.
    const frame = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const out = downscale(volumeOf(frame, 1, 3, 5), 2);
    expect(out).toMatchObject({ frames: 1, height: 1, width: 2 });
    expect(Array.from(out.data)).toEqual([4, 6]);
  });

  it('works frame by frame and keeps factor 1 as the identity', () => {
    const data = Float32Array.of(0, 1, 1, 0, 4, 4, 4, 4);
    expect(Array.from(downscale(volumeOf(data, 2, 2, 2), 2).data)).toEqual([0.5, 4]);
    expect(Array.from(downscale(volumeOf(data, 2, 2, 2), 1).data)).toEqual(Array.from(data));
  });

  it('gives the CeTReS.B size 344x259 from 1376x1038 by 4', () => {
    expect(downscaledSize(1376, 1038, 4)).toEqual({ width: 344, height: 259 });
    expect(downscaledSize(1392, 1040, 4)).toEqual({ width: 348, height: 260 });
  });

  it('refuses factors that are not positive integers or larger than the frame', () => {
    const v = volumeOf(new Float32Array(4), 1, 2, 2);
    expect(() => downscale(v, 0)).toThrow(InvalidInputError);
    expect(() => downscale(v, 1.5)).toThrow(InvalidInputError);
    expect(() => downscale(v, 3)).toThrow(/smaller than one 3x3 block/);
  });
});

describe('preprocessVideo', () => {
  const raw = (data: Uint8Array | Uint16Array, frames: number, height: number, width: number, firstFrame?: number): RawVideo => ({
    volume: volumeOf(data, frames, height, width),
    bitDepth: data instanceof Uint16Array ? 16 : 8,
    source: 'test',
    kind: 'tiff-stack',
    frameNames: Array.from({ length: frames }, (_, t) => `page ${t + 1}`),
    ...(firstFrame === undefined ? {} : { firstFrame }),
  });

  it('rescales over the full-resolution min/max, then averages blocks (factor 4 by default)', () => {
    // 4x5 frame, value 10 * (5y + x): min 0, max 190; the 4x4 block (x, y in 0..3) has mean
    // 10 * (5 * 1.5 + 1.5) = 90, so 90/190; column 4 is dropped.
    const data = Uint16Array.from({ length: 20 }, (_, i) => i * 10);
    const out = preprocessVideo(raw(data, 1, 4, 5, 7), { flatField: false });
    expect(out).toMatchObject({ factor: 4, originalWidth: 5, originalHeight: 4, bitDepth: 16, firstFrame: 7 });
    expect(out.volume).toMatchObject({ frames: 1, height: 1, width: 1 });
    expect(out.volume.data[0]).toBeCloseTo(90 / 190, 6);
  });

  it('equals normalizeIntensities followed by downscale, within float rounding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 1, max: 2 }),
        (frames, height, width, factor) => {
          const data = Uint8Array.from({ length: frames * height * width }, (_, i) => (i * 73) % 256);
          const expected = downscale(normalizeIntensities(volumeOf(data, frames, height, width)), factor);
          const actual = preprocessVideo(raw(data, frames, height, width), { factor, flatField: false });
          expect(actual.firstFrame).toBe(1);
          expect(actual.volume.data.length).toBe(expected.data.length);
          actual.volume.data.forEach((v, i) => expect(v).toBeCloseTo(expected.data[i]!, 5));
          actual.volume.data.forEach((v) => expect(v >= 0 && v <= 1).toBe(true));
        },
      ),
      { numRuns: 40, seed: 3 },
    );
  });
});

describe('pixel coordinates', () => {
  it('maps a downscaled pixel to the centre of its block', () => {
    expect(toOriginalPixels({ x: 0, y: 0 }, 4)).toEqual({ x: 1.5, y: 1.5 });
    expect(toOriginalPixels({ x: 343, y: 258 }, 4)).toEqual({ x: 1373.5, y: 1033.5 });
    expect(toOriginalPixels({ x: 2, y: 5 }, 1)).toEqual({ x: 2, y: 5 });
  });

  it('round-trips, and the rounded downscaled pixel is the block that holds an original pixel', () => {
    fc.assert(
      fc.property(fc.double({ min: -10, max: 2000, noNaN: true }), fc.double({ min: -10, max: 2000, noNaN: true }), fc.integer({ min: 1, max: 8 }), (x, y, factor) => {
        const back = toDownscaledPixels(toOriginalPixels({ x, y }, factor), factor);
        expect(back.x).toBeCloseTo(x, 9);
        expect(back.y).toBeCloseTo(y, 9);
      }),
      { seed: 5 },
    );
    for (let x = 0; x < 16; x++) expect(Math.round(toDownscaledPixels({ x, y: 0 }, 4).x) === Math.floor(x / 4)).toBe(true);
  });
});

describe('floatToUint8', () => {
  it('clamps to [0,1] and scales to 0..255; NaN becomes 0', () => {
    expect(Array.from(floatToUint8(Float32Array.of(-1, 0, 0.5, 1, 2, NaN, 1 / 255)))).toEqual([0, 0, 128, 255, 255, 0, 1]);
  });
});

describe('preprocessVideo intensity clipping', () => {
  // 1000 grey levels 100..109 plus two saturated outliers, as a 1-frame 1002x1 video.
  const data = new Uint8Array(1002);
  for (let i = 0; i < 1000; i++) data[i] = 100 + (i % 10);
  data[1000] = 0;
  data[1001] = 255;
  const raw = { volume: { data, frames: 1, height: 1, width: 1002 }, bitDepth: 8 as const, source: 'mem', kind: 'tiff-stack' as const, frameNames: ['mem'] };

  it('rescales between the 0.5th and 99.5th percentiles by default, clipping the outliers', () => {
    const { volume } = preprocessVideo(raw, { factor: 1, flatField: false });
    expect(volume.data[0]).toBeCloseTo(0, 6);
    expect(volume.data[9]).toBeCloseTo(1, 6);
    expect(volume.data[5]).toBeCloseTo(5 / 9, 5);
    expect(volume.data[1000]).toBe(0);
    expect(volume.data[1001]).toBe(1);
  });

  it('uses the plain minimum and maximum with clipPercent 0, and refuses a clip of 50% or more', () => {
    const { volume } = preprocessVideo(raw, { factor: 1, clipPercent: 0, flatField: false });
    expect(volume.data[0]).toBeCloseTo(100 / 255, 6);
    expect(() => preprocessVideo(raw, { clipPercent: 50 })).toThrow(/clip percent/);
  });
});

describe('flattenIllumination (flat-field correction)', () => {
  // 40x60 frames of a uniform dish under a smooth shading (+-20% left to right), with a small dark
  // "cell" that moves, so the temporal mean is the shading plus a faint smear.
  const frames = 6;
  const height = 40;
  const width = 60;
  const shading = (x: number): number => 1 + 0.2 * Math.sin((Math.PI * (x - width / 2)) / width);
  const video = (): Volume<Float32Array> => {
    const data = new Float32Array(frames * height * width);
    for (let t = 0; t < frames; t++) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const cell = Math.hypot(x - 10 - 8 * t, y - 20) < 3 ? 0.5 : 1;
          data[(t * height + y) * width + x] = 100 * cell * shading(x);
        }
      }
    }
    return { data, frames, height, width };
  };

  it('divides out the shading: the background becomes level, a cell keeps its contrast', () => {
    const v = video();
    flattenIllumination(v, defaultFlatFieldSigma(width, height));
    const at = (t: number, y: number, x: number): number => v.data[(t * height + y) * width + x] ?? Number.NaN;
    const left = at(0, 5, 3);
    const right = at(0, 5, 56);
    // Before: 100 * 0.81 against 100 * 1.19 (47% apart); after: within 5%.
    expect(Math.abs(left - right) / right).toBeLessThan(0.05);
    // The dark cell at (t 0, x 10, y 20) is still half its surroundings.
    expect(at(0, 20, 10) / at(0, 30, 10)).toBeGreaterThan(0.45);
    expect(at(0, 20, 10) / at(0, 30, 10)).toBeLessThan(0.56);
  });

  it('leaves an evenly lit video as it was, and refuses a non-positive scale', () => {
    const flat: Volume<Float32Array> = { data: new Float32Array(2 * 8 * 8).fill(42), frames: 2, height: 8, width: 8 };
    flattenIllumination(flat, 3);
    flat.data.forEach((v) => expect(v).toBeCloseTo(42, 4));
    expect(() => flattenIllumination(flat, 0)).toThrow(InvalidInputError);
  });

  it('is on by default in preprocessVideo and off with flatField: false', () => {
    const data = new Uint8Array(frames * height * width);
    for (let i = 0; i < data.length; i++) data[i] = Math.round(100 * shading(i % width));
    const rawVideo: RawVideo = { volume: volumeOf(data, frames, height, width), bitDepth: 8, source: 'mem', kind: 'tiff-stack', frameNames: [] };
    const spread = (values: Float32Array): number => Math.max(...values) - Math.min(...values);
    const flattened = preprocessVideo(rawVideo, { factor: 1 }).volume.data;
    const plain = preprocessVideo(rawVideo, { factor: 1, flatField: false }).volume.data;
    expect(spread(plain)).toBeGreaterThan(0.9);
    expect(spread(flattened)).toBeLessThan(0.15);
  });
});
