import fc from 'fast-check';
import { InvalidInputError } from '@mitosis/core';
import { connectedComponents } from './components';
import { describeLengths, mean, percentile, standardDeviation, temporalLengths } from './statistics';
import { grid } from './test-grid';

describe('statistics: hand-worked cases', () => {
  const oneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it('mean, population std and numpy-style percentiles of 1..10', () => {
    expect(mean(oneToTen)).toBe(5.5);
    // Population variance: sum (i - 5.5)^2 / 10 = 82.5 / 10 = 8.25.
    expect(standardDeviation(oneToTen)).toBeCloseTo(Math.sqrt(8.25), 14);
    // numpy.percentile(range(1, 11), [0, 25, 50, 75, 100]) = [1, 3.25, 5.5, 7.75, 10].
    expect([0, 25, 50, 75, 100].map((p) => percentile(oneToTen, p))).toEqual([1, 3.25, 5.5, 7.75, 10]);
    // numpy.percentile([4, 1, 3, 2], 33) = 1.99 (h = 3 * 0.33 = 0.99), input order irrelevant.
    expect(percentile(Float32Array.from([4, 1, 3, 2]), 33)).toBeCloseTo(1.99, 12);
  });

  it('describeLengths of 1..10 gives the hand-computed summary', () => {
    const d = describeLengths(oneToTen);
    expect(d.count).toBe(10);
    expect(d.mean).toBe(5.5);
    expect(d.std).toBeCloseTo(2.8722813232690143, 14);
    expect([d.min, d.max, d.p50, d.p75]).toEqual([1, 10, 5.5, 7.75]);
    expect(d.histogram).toEqual(oneToTen.map((length) => ({ length, count: 1 })));
  });

  it('describeLengths: ties, gaps in the histogram, a single value', () => {
    const d = describeLengths([3, 1, 2, 2, 5]);
    expect(d.mean).toBeCloseTo(2.6, 14);
    expect(d.std).toBeCloseTo(Math.sqrt(9.2 / 5), 14);
    expect([d.min, d.max, d.p50, d.p75]).toEqual([1, 5, 2, 3]);
    expect(d.histogram).toEqual([
      { length: 1, count: 1 },
      { length: 2, count: 2 },
      { length: 3, count: 1 },
      { length: 4, count: 0 },
      { length: 5, count: 1 },
    ]);
    expect(describeLengths([4])).toEqual({ count: 1, mean: 4, std: 0, min: 4, max: 4, p50: 4, p75: 4, histogram: [{ length: 4, count: 1 }] });
  });

  it('describeLengths of nothing is all zeros (no NaN), the other functions refuse it', () => {
    expect(describeLengths([])).toEqual({ count: 0, mean: 0, std: 0, min: 0, max: 0, p50: 0, p75: 0, histogram: [] });
    expect(() => mean([])).toThrow(InvalidInputError);
    expect(() => standardDeviation([])).toThrow(/no values/);
    expect(() => percentile([], 50)).toThrow(/percentile: no values/);
  });

  it('rejects bad values and percentiles', () => {
    expect(() => mean([1, NaN])).toThrow(/value 1 is not a finite number/);
    expect(() => percentile([1, 2], 101)).toThrow(/p must be in \[0, 100\]/);
    expect(() => percentile([1, 2], NaN)).toThrow(InvalidInputError);
    expect(() => describeLengths([2, 1.5])).toThrow(/length 1 is not a non-negative integer/);
    expect(() => describeLengths([-1])).toThrow(InvalidInputError);
  });

  it('temporalLengths reads the components of a labelled volume', () => {
    // Two cells: one present in frames 0-2, one in frame 1 only.
    const v = grid([['#....'], ['#..#.'], ['#....']]);
    const { components } = connectedComponents(v, { connectivity: 'overlap-8' });
    expect(temporalLengths(components)).toEqual([3, 1]);
    expect(describeLengths(temporalLengths(components)).p75).toBe(2.5);
  });
});

describe('statistics: properties', () => {
  const values = fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 60 });
  const lengths = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 60 });

  it('percentile is monotone in p and lies between min and max', () => {
    fc.assert(
      fc.property(values, fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (v, p, q) => {
        const [lo, hi] = p <= q ? [p, q] : [q, p];
        const min = Math.min(...v);
        const max = Math.max(...v);
        expect(percentile(v, lo)).toBeLessThanOrEqual(percentile(v, hi));
        expect(percentile(v, lo)).toBeGreaterThanOrEqual(min);
        expect(percentile(v, hi)).toBeLessThanOrEqual(max);
        expect(percentile(v, 0)).toBe(min);
        expect(percentile(v, 100)).toBe(max);
      }),
    );
  });

  it('mean lies between min and max, std is zero exactly for constant lists', () => {
    fc.assert(
      fc.property(values, (v) => {
        const m = mean(v);
        expect(m).toBeGreaterThanOrEqual(Math.min(...v) - 1e-9);
        expect(m).toBeLessThanOrEqual(Math.max(...v) + 1e-9);
        const s = standardDeviation(v);
        expect(s).toBeGreaterThanOrEqual(0);
        if (new Set(v).size === 1) expect(s).toBe(0);
        else expect(s).toBeGreaterThan(0);
      }),
    );
  });

  it('describeLengths agrees with mean, std and percentile, and its histogram counts every value', () => {
    fc.assert(
      fc.property(lengths, (v) => {
        const d = describeLengths(v);
        expect(d.count).toBe(v.length);
        expect(d.mean).toBeCloseTo(mean(v), 9);
        expect(d.std).toBeCloseTo(standardDeviation(v), 9);
        expect(d.p50).toBe(percentile(v, 50));
        expect(d.p75).toBe(percentile(v, 75));
        expect(d.histogram).toHaveLength(d.max - d.min + 1);
        expect(d.histogram.reduce((s, b) => s + b.count, 0)).toBe(v.length);
        for (const bin of d.histogram) expect(bin.count).toBe(v.filter((x) => x === bin.length).length);
      }),
    );
  });
});
