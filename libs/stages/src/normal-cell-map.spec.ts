import { InvalidInputError } from '@mitosis/core';
import type { Volume } from '@mitosis/volume';
import { chooseNormalCellMap, normalCellMapFrom, scoreFeatureMaps } from './normal-cell-map';

/**
 * A winner volume like M1's on a cell image: map 0 background everywhere, map 1 round cell
 * interiors (discs), map 2 their edges (rings), map 3 never wins.
 */
function cellLikeWinner(frames: number, size: number): Volume<Uint8Array> {
  const data = new Uint8Array(frames * size * size);
  const centres = [
    [12, 12],
    [12, 40],
    [40, 14],
    [38, 42],
    [26, 26],
  ];
  for (let t = 0; t < frames; t++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let value = 0;
        for (const [cy, cx] of centres) {
          const d = Math.hypot(y - (cy ?? 0) - t, x - (cx ?? 0));
          if (d <= 4) value = 1;
          else if (d <= 6 && value === 0) value = 2;
        }
        data[(t * size + y) * size + x] = value;
      }
    }
  }
  return { data, frames, height: size, width: size };
}

describe('choosing the normal-cell map among M1 feature maps', () => {
  it('prefers round separate interiors over background, edges and blank maps', () => {
    const winner = cellLikeWinner(3, 56);
    const scores = scoreFeatureMaps(winner, 4);
    expect(scores.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    expect(scores[1]!.cellLikePerFrame).toBe(5);
    expect(scores[3]!.score).toBe(0);
    expect(chooseNormalCellMap(scores)).toBe(1);
    expect(scores[1]!.score).toBeGreaterThan(scores[0]!.score);
    expect(scores[1]!.score).toBeGreaterThan(scores[2]!.score);
  });

  it('honours a valid override and refuses a map that does not exist', () => {
    const scores = scoreFeatureMaps(cellLikeWinner(1, 56), 4);
    expect(chooseNormalCellMap(scores, 2)).toBe(2);
    expect(() => chooseNormalCellMap(scores, 6)).toThrow(InvalidInputError);
  });

  it('refuses to choose when no map holds cell-like shapes', () => {
    const winner = { data: new Uint8Array(2 * 20 * 20), frames: 2, height: 20, width: 20 };
    expect(() => chooseNormalCellMap(scoreFeatureMaps(winner, 3))).toThrow(/no M1 feature map/);
  });

  it('binarises the chosen map and erodes it once with the 4-neighbourhood', () => {
    const winner = cellLikeWinner(1, 56);
    const y = normalCellMapFrom(winner, 1);
    const raw = normalCellMapFrom(winner, 1, { erosions: 0 });
    const count = (v: Volume<Uint8Array>): number => v.data.reduce((a, b) => a + b, 0);
    expect(count(raw)).toBeGreaterThan(count(y));
    expect(y.data[12 * 56 + 12]).toBe(1);
    expect(y.data[12 * 56 + 16]).toBe(0);
    expect(raw.data[12 * 56 + 16]).toBe(1);
  });

  it('drops components under the minimum area, after the erosions, and refuses bad settings', () => {
    // One frame of 10x10 winning map 2: a 3x3 block (9 px) and a lone pixel.
    const data = new Uint8Array(100);
    for (let y = 2; y <= 4; y++) for (let x = 2; x <= 4; x++) data[y * 10 + x] = 2;
    data[8 * 10 + 8] = 2;
    const winner = { data, frames: 1, height: 10, width: 10 };
    const count = (v: Volume<Uint8Array>): number => v.data.reduce((a, b) => a + b, 0);
    expect(count(normalCellMapFrom(winner, 2, { erosions: 0 }))).toBe(10);
    expect(count(normalCellMapFrom(winner, 2, { erosions: 0, minArea: 4 }))).toBe(9);
    expect(count(normalCellMapFrom(winner, 2, { erosions: 0, minArea: 10 }))).toBe(0);
    // One erosion leaves the block's centre (1 px), which a minimum area of 2 then drops.
    expect(count(normalCellMapFrom(winner, 2, { erosions: 1 }))).toBe(1);
    expect(count(normalCellMapFrom(winner, 2, { erosions: 1, minArea: 2 }))).toBe(0);
    expect(() => normalCellMapFrom(winner, 2, { erosions: -1 })).toThrow(InvalidInputError);
    expect(() => normalCellMapFrom(winner, 2, { minArea: 1.5 })).toThrow(InvalidInputError);
  });

  it('drops trajectories present in fewer than minFrames frames, keeping the ones that last', () => {
    // 4 frames of 6x6: a 2x2 cell in every frame at (1, 1), a speck blinking at (4, 4) in frame 2.
    const data = new Uint8Array(4 * 36);
    for (let t = 0; t < 4; t++)
      for (const [y, x] of [
        [1, 1],
        [1, 2],
        [2, 1],
        [2, 2],
      ] as const)
        data[t * 36 + y * 6 + x] = 1;
    data[2 * 36 + 4 * 6 + 4] = 1;
    const winner = { data, frames: 4, height: 6, width: 6 };
    const count = (v: Volume<Uint8Array>): number => v.data.reduce((a, b) => a + b, 0);
    expect(count(normalCellMapFrom(winner, 1, { erosions: 0 }))).toBe(17);
    const cleaned = normalCellMapFrom(winner, 1, { erosions: 0, minFrames: 2 });
    expect(count(cleaned)).toBe(16);
    expect(cleaned.data[2 * 36 + 4 * 6 + 4]).toBe(0);
    expect(count(normalCellMapFrom(winner, 1, { erosions: 0, minFrames: 5 }))).toBe(0);
    expect(() => normalCellMapFrom(winner, 1, { minFrames: -2 })).toThrow(InvalidInputError);
  });
});
