import { InvalidInputError } from '@mitosis/core';
import type { EventLengthStatistics } from './recommendation';
import { recommendSequenceLength } from './recommendation';

const stats = (mean: number, p75: number, count = 100): EventLengthStatistics => ({
  count,
  mean,
  std: 1,
  min: 1,
  max: 20,
  p50: mean,
  p75,
  histogram: [],
});

describe('recommendSequenceLength', () => {
  it("gives the paper's k = 8 and 14-18 frames for its Table I statistics", () => {
    const r = recommendSequenceLength(stats(6.38, 8));
    expect(r.recommendedK).toBe(8);
    expect(r.recommendedAnnotationFrames).toBe(14);
    expect(r.annotationFramesRange).toEqual([14, 18]);
  });

  it('never recommends a k below the mean', () => {
    expect(recommendSequenceLength(stats(9.2, 7)).recommendedK).toBe(10);
  });

  it('refuses when no event was predicted', () => {
    expect(() => recommendSequenceLength(stats(0, 0, 0))).toThrow(InvalidInputError);
  });
});
