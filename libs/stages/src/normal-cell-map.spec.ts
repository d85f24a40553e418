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
    const raw = normalCellMapFrom(winner, 1, 0);
    const count = (v: Volume<Uint8Array>): number => v.data.reduce((a, b) => a + b, 0);
    expect(count(raw)).toBeGreaterThan(count(y));
    expect(y.data[12 * 56 + 12]).toBe(1);
    expect(y.data[12 * 56 + 16]).toBe(0);
    expect(raw.data[12 * 56 + 16]).toBe(1);
  });
});
