import fc from 'fast-check';
import { InvalidInputError } from '@mitosis/core';
import { closing, dilate, erode, opening } from './morphology';
import { ball3d, cross2d, cross3d, cube3d, disk2d, square2d, structuringElement } from './structuring-element';
import type { StructuringElement } from './structuring-element';
import { grid, picture } from './test-grid';
import type { Volume } from './volume';

describe('structuring elements', () => {
  const offsetSet = (e: StructuringElement): string[] => {
    const out: string[] = [];
    for (let k = 0; k < e.size; k++) out.push(`${e.offsets[3 * k]},${e.offsets[3 * k + 1]},${e.offsets[3 * k + 2]}`);
    return out.sort();
  };

  it('have the expected sizes, radii and dimensions', () => {
    expect([cross2d().size, square2d().size, disk2d(2).size, cross3d().size, cube3d().size, ball3d(2).size]).toEqual([5, 9, 13, 7, 27, 33]);
    expect(cross2d().dims).toBe(2);
    expect(disk2d(3).dims).toBe(2);
    expect(cross3d().dims).toBe(3);
    expect(disk2d(3).radius).toEqual({ t: 0, y: 3, x: 3 });
    expect(ball3d(2, 1).radius).toEqual({ t: 1, y: 2, x: 2 });
  });

  it('disk(1) is the cross, ball(1) the 3D cross, ball(r, 0) the disk(r)', () => {
    expect(offsetSet(disk2d(1))).toEqual(offsetSet(cross2d()));
    expect(offsetSet(ball3d(1))).toEqual(offsetSet(cross3d()));
    expect(offsetSet(ball3d(3, 0))).toEqual(offsetSet(disk2d(3)));
    expect(offsetSet(disk2d(0))).toEqual(['0,0,0']);
  });

  it('an ellipsoid ball(2, t=1) reaches 2 in the plane and 1 in time', () => {
    // dt^2/1 + (dy^2+dx^2)/4 <= 1: the disk(2) at dt = 0 and the origin alone at dt = +-1.
    expect(ball3d(2, 1).size).toBe(13 + 2);
  });

  it('reject a missing origin and bad radii', () => {
    expect(() => structuringElement('ring', [[0, 0, 1]])).toThrow(/must contain the origin/);
    expect(() => disk2d(-1)).toThrow(InvalidInputError);
    expect(() => ball3d(1.5)).toThrow(InvalidInputError);
    expect(
      structuringElement('dup', [
        [0, 0, 0],
        [0, 0, 0],
      ]).size,
    ).toBe(1);
  });
});

describe('dilate and erode: hand-worked cases', () => {
  const dot = grid([['.....', '.....', '..#..', '.....', '.....']]);

  it('dilates a dot with the cross, once and twice, and with the square', () => {
    expect(picture(dilate(dot, cross2d()))).toEqual([['.....', '..#..', '.###.', '..#..', '.....']]);
    expect(picture(dilate(dot, cross2d(), { iterations: 2 }))).toEqual([['..#..', '.###.', '#####', '.###.', '..#..']]);
    expect(picture(dilate(dot, square2d()))).toEqual([['.....', '.###.', '.###.', '.###.', '.....']]);
    expect(picture(dilate(dot, cross2d(), { iterations: 0 }))).toEqual(picture(dot));
  });

  it('erodes a rounded block with the cross and the square', () => {
    const block = grid([['.###.', '#####', '#####', '#####', '.###.']]);
    expect(picture(erode(block, cross2d()))).toEqual([['.....', '.###.', '.###.', '.###.', '.....']]);
    expect(picture(erode(block, square2d()))).toEqual([['.....', '..#..', '.###.', '..#..', '.....']]);
    expect(picture(erode(block, cross2d(), { iterations: 2 }))).toEqual([['.....', '.....', '..#..', '.....', '.....']]);
  });

  it('border: outside counts as background for both operations', () => {
    // Dilation is cropped at the border, nothing comes in from outside.
    expect(picture(dilate(grid([['#..', '...', '...']]), cross2d()))).toEqual([['##.', '#..', '...']]);
    // Erosion removes every voxel whose element reaches outside: a full frame keeps its interior.
    const full = grid([['###', '###', '###']]);
    expect(picture(erode(full, cross2d()))).toEqual([['...', '.#.', '...']]);
    expect(picture(erode(full, square2d()))).toEqual([['...', '.#.', '...']]);
    expect(picture(erode(full, cross2d(), { iterations: 2 }))).toEqual([['...', '...', '...']]);
  });

  it('3D: the cross reaches the neighbouring frames, a 2D element does not', () => {
    const voxel = grid([
      ['...', '...', '...'],
      ['...', '.#.', '...'],
      ['...', '...', '...'],
    ]);
    expect(picture(dilate(voxel, cross3d()))).toEqual([
      ['...', '.#.', '...'],
      ['.#.', '###', '.#.'],
      ['...', '.#.', '...'],
    ]);
    expect(picture(dilate(voxel, cube3d()))).toEqual([
      ['###', '###', '###'],
      ['###', '###', '###'],
      ['###', '###', '###'],
    ]);
    expect(picture(dilate(voxel, cross2d()))).toEqual([
      ['...', '...', '...'],
      ['.#.', '###', '.#.'],
      ['...', '...', '...'],
    ]);
    const cube = grid([
      ['###', '###', '###'],
      ['###', '###', '###'],
      ['###', '###', '###'],
    ]);
    expect(picture(erode(cube, cross3d()))).toEqual(picture(voxel));
    expect(picture(erode(cube, cross2d()))).toEqual([
      ['...', '.#.', '...'],
      ['...', '.#.', '...'],
      ['...', '.#.', '...'],
    ]);
  });

  it('paper III.G: a mitosis pixel dilated three times with the 3D cross is the L1 ball of radius 3', () => {
    const size = 9;
    const v: Volume<Uint8Array> = { data: new Uint8Array(size ** 3), frames: size, height: size, width: size };
    v.data[(4 * size + 4) * size + 4] = 1;
    const label = dilate(v, cross3d(), { iterations: 3 });
    let count = 0;
    for (let t = 0; t < size; t++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const inside = Math.abs(t - 4) + Math.abs(y - 4) + Math.abs(x - 4) <= 3;
          expect(label.data[(t * size + y) * size + x]).toBe(inside ? 1 : 0);
          count += label.data[(t * size + y) * size + x];
        }
      }
    }
    expect(count).toBe(63);
  });

  it('treats any non-zero input as foreground and returns 0/1 bytes', () => {
    const v = { data: Float32Array.from([0, 0.3, 0, -2, 0]), frames: 1, height: 1, width: 5 };
    expect(Array.from(dilate(v, cross2d()).data)).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(erode(v, disk2d(0)).data)).toEqual([0, 1, 0, 1, 0]);
  });

  it('rejects bad iterations', () => {
    expect(() => dilate(dot, cross2d(), { iterations: -1 })).toThrow(/iterations must be a non-negative integer/);
    expect(() => erode(dot, cross2d(), { iterations: 1.5 })).toThrow(InvalidInputError);
  });
});

/** Straightforward reference, straight from the definitions, to check the fast passes against. */
function reference(v: Volume<Uint8Array>, e: StructuringElement, op: 'dilate' | 'erode'): Uint8Array {
  const { frames: T, height: H, width: W } = v;
  const out = new Uint8Array(v.data.length);
  const at = (t: number, y: number, x: number): number => (t >= 0 && t < T && y >= 0 && y < H && x >= 0 && x < W ? v.data[(t * H + y) * W + x] : 0);
  for (let t = 0; t < T; t++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let any = false;
        let all = true;
        for (let k = 0; k < e.size; k++) {
          const [dt, dy, dx] = [e.offsets[3 * k], e.offsets[3 * k + 1], e.offsets[3 * k + 2]];
          if (op === 'dilate' && at(t - dt, y - dy, x - dx) === 1) any = true;
          if (op === 'erode' && at(t + dt, y + dy, x + dx) === 0) all = false;
        }
        out[(t * H + y) * W + x] = (op === 'dilate' ? any : all) ? 1 : 0;
      }
    }
  }
  return out;
}

const elements: StructuringElement[] = [
  cross2d(),
  square2d(),
  disk2d(2),
  cross3d(),
  cube3d(),
  ball3d(2, 1),
  structuringElement('asymmetric', [
    [0, 0, 0],
    [0, 0, 2],
    [1, -1, 0],
  ]),
];

/** Small random binary volumes; the density varies so both dilation strategies get exercised. */
const volumes = fc
  .record({
    frames: fc.integer({ min: 1, max: 4 }),
    height: fc.integer({ min: 1, max: 9 }),
    width: fc.integer({ min: 1, max: 9 }),
    density: fc.integer({ min: 0, max: 100 }).map((percent) => percent / 100),
    seed: fc.integer(),
  })
  .map(({ frames, height, width, density, seed }) => {
    const data = new Uint8Array(frames * height * width);
    let s = seed | 0;
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) | 0;
      data[i] = ((s >>> 8) & 0xffff) / 0x10000 < density ? 1 : 0;
    }
    return { data, frames, height, width } as Volume<Uint8Array>;
  });

const element = fc.constantFrom(...elements);

function contains(a: Uint8Array, b: Uint8Array): boolean {
  return b.every((v, i) => v === 0 || a[i] === 1);
}

describe('dilate and erode: properties', () => {
  it('match the reference definitions (sparse and dense inputs, every element)', () => {
    fc.assert(
      fc.property(volumes, element, (v, e) => {
        expect(dilate(v, e).data).toEqual(reference(v, e, 'dilate'));
        expect(erode(v, e).data).toEqual(reference(v, e, 'erode'));
      }),
      { numRuns: 300 },
    );
  });

  it('erosion is inside the input, the input inside the dilation, opening inside the input', () => {
    fc.assert(
      fc.property(volumes, element, fc.integer({ min: 1, max: 3 }), (v, e, iterations) => {
        expect(contains(v.data, erode(v, e, { iterations }).data)).toBe(true);
        expect(contains(dilate(v, e, { iterations }).data, v.data)).toBe(true);
        expect(contains(v.data, opening(v, e, { iterations }).data)).toBe(true);
      }),
    );
  });

  it('closing contains the input when the input keeps iterations x radius from the border', () => {
    fc.assert(
      fc.property(volumes, element, fc.integer({ min: 1, max: 2 }), (v, e, iterations) => {
        const m = { t: e.radius.t * iterations, y: e.radius.y * iterations, x: e.radius.x * iterations };
        const inner = new Uint8Array(v.data);
        for (let t = 0; t < v.frames; t++) {
          for (let y = 0; y < v.height; y++) {
            for (let x = 0; x < v.width; x++) {
              const far = t >= m.t && t < v.frames - m.t && y >= m.y && y < v.height - m.y && x >= m.x && x < v.width - m.x;
              if (!far) inner[(t * v.height + y) * v.width + x] = 0;
            }
          }
        }
        const input = { ...v, data: inner };
        expect(contains(closing(input, e, { iterations }).data, inner)).toBe(true);
      }),
    );
  });

  it('n iterations equal n single applications', () => {
    fc.assert(
      fc.property(volumes, element, (v, e) => {
        expect(dilate(v, e, { iterations: 3 }).data).toEqual(dilate(dilate(dilate(v, e), e), e).data);
        expect(erode(v, e, { iterations: 2 }).data).toEqual(erode(erode(v, e), e).data);
      }),
    );
  });

  it('2D elements work frame by frame, and agree with 3D ones on a one-frame volume for dilation', () => {
    fc.assert(
      fc.property(volumes, fc.constantFrom(cross2d(), square2d(), disk2d(2)), (v, e) => {
        const plane = v.height * v.width;
        const whole = { d: dilate(v, e).data, e: erode(v, e).data };
        for (let t = 0; t < v.frames; t++) {
          const one = { data: v.data.slice(t * plane, (t + 1) * plane), frames: 1, height: v.height, width: v.width };
          expect(whole.d.subarray(t * plane, (t + 1) * plane)).toEqual(dilate(one, e).data);
          expect(whole.e.subarray(t * plane, (t + 1) * plane)).toEqual(erode(one, e).data);
          expect(dilate(one, cross3d()).data).toEqual(dilate(one, cross2d()).data);
          expect(dilate(one, cube3d()).data).toEqual(dilate(one, square2d()).data);
        }
      }),
    );
  });
});
