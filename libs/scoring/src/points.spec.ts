import { cetresFixture } from '@mitosis/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { InvalidInputError, NotFoundError } from '@mitosis/core';
import { checkPointsInside, formatPointsCsv, parsePointsCsv, readPointsCsv } from './points';
import type { MitosisPoint } from './points';

function parseError(text: string): InvalidInputError {
  try {
    parsePointsCsv(text, 'truth.csv');
  } catch (error: unknown) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parsePointsCsv', () => {
  it('reads frame,x,y rows', () => {
    expect(parsePointsCsv('frame,x,y\n14,430,50\n34,540.5,404\n', 'a.csv')).toEqual([
      { frame: 14, x: 430, y: 50 },
      { frame: 34, x: 540.5, y: 404 },
    ]);
  });

  it('matches columns by name in any order, with whitespace, CRLF, a BOM and blank lines', () => {
    const text = '\uFEFF  Y , score, X ,Frame \r\n\r\n 50 , 0.9 , 430 , 14 \r\n   \r\n4,,5,6\r\n';
    expect(parsePointsCsv(text, 'a.csv')).toEqual([
      { frame: 14, x: 430, y: 50, score: 0.9 },
      { frame: 6, x: 5, y: 4 },
    ]);
  });

  it('ignores columns it does not know', () => {
    expect(parsePointsCsv('id,frame,x,y,label\n7,3,1,2,m\n', 'a.csv')).toEqual([{ frame: 3, x: 1, y: 2 }]);
  });

  it('accepts a header with no rows', () => {
    expect(parsePointsCsv('frame,x,y\n', 'a.csv')).toEqual([]);
    expect(parsePointsCsv('frame,x,y', 'a.csv')).toEqual([]);
  });

  it('rejects an empty file', () => {
    expect(parseError('').message).toMatch(/truth\.csv: empty file/);
    expect(parseError(' \n\r\n').message).toMatch(/empty file/);
  });

  it('rejects a header without the required columns, naming them', () => {
    expect(parseError('frame,x\n1,2\n').message).toBe('truth.csv line 1: header lacks column y (expected "frame,x,y" optionally with "score"; found columns: frame, x)');
    expect(parseError('\n14,430,50\n').message).toMatch(/line 2: header lacks columns frame, x, y .*a data row, not a header/);
    expect(parseError('frame,x,y,X\n').message).toMatch(/line 1: column "x" appears twice/);
  });

  it.each([
    ['missing column', 'frame,x,y\n1,2,3\n4,5\n', 'truth.csv line 3: missing column y'],
    ['empty value', 'frame,x,y\n1,,3\n', 'truth.csv line 2: missing value for x'],
    ['non-numeric', 'frame,x,y\n1,abc,3\n', 'truth.csv line 2: x "abc" is not a number'],
    ['decimal comma', 'frame,x,y\n1,2;5,3\n', 'truth.csv line 2: x "2;5" is not a number'],
    ['negative', 'frame,x,y\n1,2,-3\n', 'truth.csv line 2: y -3 is negative'],
    ['non-integer frame', 'frame,x,y\n\n2.5,2,3\n', 'truth.csv line 3: frame 2.5 is not an integer'],
    ['frame 0', 'frame,x,y\n0,2,3\n', 'truth.csv line 2: frame 0: frames are numbered from 1'],
    ['NaN', 'frame,x,y\n1,NaN,3\n', 'truth.csv line 2: x is NaN'],
    ['infinite', 'frame,x,y\n1,2,Infinity\n', 'truth.csv line 2: y "Infinity" is not finite'],
    ['overflowing', 'frame,x,y\n1,2,1e400\n', 'truth.csv line 2: y "1e400" is not finite'],
    ['bad score', 'frame,x,y,score\n1,2,3,high\n', 'truth.csv line 2: score "high" is not a number'],
    ['too many fields', 'frame,x,y\n1,2,3,4\n', 'truth.csv line 2: 4 fields but the header has 3'],
  ])('rejects a row with %s, naming the line', (_case, text, message) => {
    const error = parseError(text);
    expect(error.message).toBe(message);
    expect(error.kind).toBe('INVALID_ARGUMENT');
  });

  it('lists every problem of a row and the first few malformed rows with their lines', () => {
    expect(parseError('frame,x,y\n0,-1,a\n').message).toBe('truth.csv line 2: frame 0: frames are numbered from 1, x -1 is negative, y "a" is not a number');
    const rows = ['frame,x,y', '1,2,3', 'x,2,3', '1,2,3', ...Array.from({ length: 6 }, () => '1,2,-1')];
    const message = parseError(rows.join('\r\n')).message;
    expect(message).toBe(
      'truth.csv: 7 malformed rows: line 3: frame "x" is not a number; line 5: y -1 is negative; ' +
        'line 6: y -1 is negative; line 7: y -1 is negative; line 8: y -1 is negative; and 2 more',
    );
  });
});

describe('formatPointsCsv', () => {
  it('writes frame,x,y with at most two decimals', () => {
    expect(
      formatPointsCsv([
        { frame: 3, x: 10, y: 20.126 },
        { frame: 1, x: 0.5, y: 1 / 3 },
      ]),
    ).toBe('frame,x,y\n3,10,20.13\n1,0.5,0.33\n');
    expect(formatPointsCsv([])).toBe('frame,x,y\n');
  });

  it('adds a score column only when some point has a score', () => {
    expect(
      formatPointsCsv([
        { frame: 3, x: 10, y: 20, score: 0.75 },
        { frame: 4, x: 1, y: 2 },
      ]),
    ).toBe('frame,x,y,score\n3,10,20,0.75\n4,1,2,\n');
  });

  it('refuses points that could not be read back', () => {
    expect(() => formatPointsCsv([{ frame: 1.5, x: 1, y: 1 }])).toThrow(/point #1: frame 1.5/);
    expect(() =>
      formatPointsCsv([
        { frame: 1, x: 1, y: 1 },
        { frame: 2, x: -1, y: 1 },
      ]),
    ).toThrow(/point #2/);
    expect(() => formatPointsCsv([{ frame: 1, x: 1, y: 1, score: Number.NaN }])).toThrow(InvalidInputError);
  });

  it('round-trips through parsePointsCsv up to two decimals', () => {
    const point = fc.record(
      {
        frame: fc.integer({ min: 1, max: 500 }),
        x: fc.double({ min: 0, max: 2000, noNaN: true }),
        y: fc.double({ min: 0, max: 2000, noNaN: true }),
        score: fc.double({ min: 0, max: 1, noNaN: true }),
      },
      { requiredKeys: ['frame', 'x', 'y'] },
    );
    fc.assert(
      fc.property(fc.array(point, { maxLength: 30 }), (points: MitosisPoint[]) => {
        const back = parsePointsCsv(formatPointsCsv(points), 'round-trip');
        expect(back).toHaveLength(points.length);
        back.forEach((p, i) => {
          const original = points[i];
          expect(p.frame).toBe(original.frame);
          expect(Math.abs(p.x - original.x)).toBeLessThanOrEqual(0.005 + 1e-9);
          expect(Math.abs(p.y - original.y)).toBeLessThanOrEqual(0.005 + 1e-9);
          expect(p.score).toBe(original.score === undefined ? undefined : original.score + 0);
        });
      }),
    );
  });
});

describe('readPointsCsv', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'scoring-points-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the real annotations', async () => {
    const points = await readPointsCsv(cetresFixture.mitoses());
    expect(points).toHaveLength(90);
    expect(points[0]).toEqual({ frame: 14, x: 430, y: 50 });
  });

  it('names the file in parse errors', async () => {
    const file = path.join(dir, 'bad.csv');
    writeFileSync(file, 'frame,x,y\n1,2,3\n1,2\n');
    await expect(readPointsCsv(file)).rejects.toThrow(`${file} line 3: missing column y`);
  });

  it('reports a missing file as NotFoundError and a folder as invalid input', async () => {
    const missing = path.join(dir, 'nope.csv');
    await expect(readPointsCsv(missing)).rejects.toBeInstanceOf(NotFoundError);
    await expect(readPointsCsv(missing)).rejects.toThrow(missing);
    await expect(readPointsCsv(dir)).rejects.toThrow(/is a directory/);
  });
});

describe('checkPointsInside', () => {
  const extent = { firstFrame: 1, lastFrame: 200, width: 1376, height: 1038 };

  it('accepts points inside the video, edges included', () => {
    expect(() =>
      checkPointsInside(
        [
          { frame: 1, x: 0, y: 0 },
          { frame: 200, x: 1375.9, y: 1037 },
        ],
        extent,
        'truth.csv',
      ),
    ).not.toThrow();
  });

  it('rejects annotations outside the video, listing the first few and why', () => {
    const points: MitosisPoint[] = [
      { frame: 1, x: 10, y: 10 },
      { frame: 201, x: 10, y: 10 },
      { frame: 5, x: 1376, y: 10 },
      { frame: 0, x: 10, y: -2 },
    ];
    let error: unknown;
    try {
      checkPointsInside(points, extent, 'truth.csv');
    } catch (caught: unknown) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toBe(
      'truth.csv: 3 of 4 points lie outside the video (frames 1..200, 1376x1038 pixels): ' +
        '#2 frame 201 x 10 y 10 (frame after 200); #3 frame 5 x 1376 y 10 (x outside 0..1376); ' +
        '#4 frame 0 x 10 y -2 (frame before 1, y outside 0..1038)',
    );
  });

  it('says how many more there are beyond the first five', () => {
    const points = Array.from({ length: 8 }, (_, i) => ({ frame: 300 + i, x: 1, y: 1 }));
    expect(() => checkPointsInside(points, extent, 'd.csv')).toThrow(/8 of 8 points .*; and 3 more$/);
  });
});
