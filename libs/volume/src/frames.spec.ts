import fc from 'fast-check';
import { InvalidInputError } from '@mitosis/core';
import { cropVolume, maxOverTime, pasteVolume, sliceFrames, stackFrames, sumOverTime } from './frames';
import type { Volume } from './volume';

// 2 frames x 3 rows x 4 columns holding their own index: voxel (t, y, x) = 12 t + 4 y + x.
const ramp = (): Volume<Int32Array> => ({ data: Int32Array.from({ length: 24 }, (_, i) => i), frames: 2, height: 3, width: 4 });

describe('frames: hand-worked cases', () => {
  it('cropVolume copies a box', () => {
    const c = cropVolume(ramp(), { t0: 1, frames: 1, y0: 1, height: 2, x0: 1, width: 2 });
    expect(c).toEqual({ data: Int32Array.from([17, 18, 21, 22]), frames: 1, height: 2, width: 2 });
    const all = cropVolume(ramp(), { t0: 0, frames: 2, y0: 0, height: 3, x0: 0, width: 4 });
    expect(all).toEqual(ramp());
    expect(all.data).not.toBe(ramp().data);
  });

  it('cropVolume rejects boxes outside the volume', () => {
    expect(() => cropVolume(ramp(), { t0: 1, frames: 2, y0: 0, height: 1, x0: 0, width: 1 })).toThrow(/exceeds the volume 2x3x4/);
    expect(() => cropVolume(ramp(), { t0: 0, frames: 1, y0: -1, height: 1, x0: 0, width: 1 })).toThrow(/y0 must be an integer >= 0/);
  });

  it('pasteVolume replaces, adds (sliding windows summed by coordinates) or keeps the max', () => {
    const target = { data: new Int32Array(24), frames: 2, height: 3, width: 4 };
    const patch = cropVolume(ramp(), { t0: 1, frames: 1, y0: 1, height: 2, x0: 1, width: 2 });
    expect(pasteVolume(target, patch, { t0: 1, y0: 1, x0: 1 })).toBe(target);
    const expected = new Int32Array(24);
    for (const i of [17, 18, 21, 22]) expected[i] = i;
    expect(target.data).toEqual(expected);

    const sum = { data: new Float32Array(5), frames: 5, height: 1, width: 1 };
    const window = { data: Float32Array.from([1, 1, 1]), frames: 3, height: 1, width: 1 };
    pasteVolume(sum, window, { t0: 0, y0: 0, x0: 0 }, 'add');
    pasteVolume(sum, window, { t0: 2, y0: 0, x0: 0 }, 'add');
    expect(Array.from(sum.data)).toEqual([1, 1, 2, 1, 1]);

    const max = { data: Float32Array.from([0.5, 0.1, 0.9]), frames: 1, height: 1, width: 3 };
    pasteVolume(max, { data: Float32Array.from([0.2, 0.7, 0.2]), frames: 1, height: 1, width: 3 }, { t0: 0, y0: 0, x0: 0 }, 'max');
    expect(Array.from(max.data)).toEqual([0.5, Math.fround(0.7), Math.fround(0.9)]);
  });

  it('pasteVolume rejects a patch that does not fit', () => {
    const patch = { data: new Int32Array(4), frames: 1, height: 2, width: 2 };
    expect(() => pasteVolume(ramp(), patch, { t0: 0, y0: 2, x0: 0 })).toThrow(/exceeds the target 2x3x4/);
    expect(() => pasteVolume(ramp(), patch, { t0: 0, y0: 0, x0: 0 }, 'mean' as 'add')).toThrow(/unknown mode 'mean'/);
  });

  it('stackFrames builds a frame-major volume and names a frame of the wrong size', () => {
    const v = stackFrames([Uint8Array.from([1, 2, 3, 4]), Uint8Array.from([5, 6, 7, 8])], 2, 2);
    expect(v).toEqual({ data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), frames: 2, height: 2, width: 2 });
    expect(() => stackFrames([new Uint8Array(4), new Uint8Array(3)], 2, 2)).toThrow(/frame 1 holds 3 voxels, 2x2 needs 4/);
    expect(() => stackFrames([], 2, 2)).toThrow(InvalidInputError);
  });

  it('sliceFrames is a view of frames [t0, t1)', () => {
    const v = ramp();
    const s = sliceFrames(v, 1, 2);
    expect([s.frames, s.height, s.width]).toEqual([1, 3, 4]);
    expect(Array.from(s.data)).toEqual(Array.from({ length: 12 }, (_, i) => 12 + i));
    s.data[0] = -1;
    expect(v.data[12]).toBe(-1);
    expect(sliceFrames(v, 2, 2).frames).toBe(0);
    expect(() => sliceFrames(v, 1, 3)).toThrow(/\[1, 3\) is not a frame range of a 2-frame volume/);
  });

  it('maxOverTime and sumOverTime project along time', () => {
    const v = { data: Uint8Array.from([1, 9, 3, 7, 2, 8]), frames: 3, height: 1, width: 2 };
    expect(maxOverTime(v)).toEqual({ data: Uint8Array.from([3, 9]), frames: 1, height: 1, width: 2 });
    expect(sumOverTime(v)).toEqual({ data: Float32Array.from([6, 24]), frames: 1, height: 1, width: 2 });
    expect(() => maxOverTime({ data: new Uint8Array(0), frames: 0, height: 1, width: 2 })).toThrow(/no frames/);
  });
});

describe('frames: properties', () => {
  const boxes = fc
    .record({ frames: fc.integer({ min: 1, max: 4 }), height: fc.integer({ min: 1, max: 6 }), width: fc.integer({ min: 1, max: 6 }) })
    .chain(({ frames, height, width }) =>
      fc
        .record({
          t0: fc.integer({ min: 0, max: frames - 1 }),
          y0: fc.integer({ min: 0, max: height - 1 }),
          x0: fc.integer({ min: 0, max: width - 1 }),
        })
        .chain(({ t0, y0, x0 }) =>
          fc.record({
            shape: fc.constant({ frames, height, width }),
            box: fc.record({
              t0: fc.constant(t0),
              y0: fc.constant(y0),
              x0: fc.constant(x0),
              frames: fc.integer({ min: 0, max: frames - t0 }),
              height: fc.integer({ min: 0, max: height - y0 }),
              width: fc.integer({ min: 0, max: width - x0 }),
            }),
          }),
        ),
    );

  it('pasting a crop back where it came from changes nothing, and the crop reads the right voxels', () => {
    fc.assert(
      fc.property(boxes, ({ shape, box }) => {
        const n = shape.frames * shape.height * shape.width;
        const v = { ...shape, data: Float32Array.from({ length: n }, (_, i) => i) };
        const c = cropVolume(v, box);
        for (let t = 0; t < c.frames; t++) {
          for (let y = 0; y < c.height; y++) {
            for (let x = 0; x < c.width; x++) {
              const source = ((box.t0 + t) * shape.height + box.y0 + y) * shape.width + box.x0 + x;
              expect(c.data[(t * c.height + y) * c.width + x]).toBe(source);
            }
          }
        }
        const copy = { ...v, data: v.data.slice() };
        expect(pasteVolume(copy, c, box)).toEqual(v);
      }),
    );
  });
});
