import { InvalidInputError } from '@mitosis/core';
import type { Component } from './components';

/** The temporal length of each component (frames it spans), in component order. */
export function temporalLengths(components: readonly Pick<Component, 'temporalLength'>[]): number[] {
  return components.map((c) => c.temporalLength);
}

function checkValues(what: string, values: ArrayLike<number>): void {
  if (values.length === 0) throw new InvalidInputError(`${what}: no values`);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new InvalidInputError(`${what}: value ${i} is not a finite number (${String(values[i])})`);
    }
  }
}

/** Arithmetic mean. Throws InvalidInputError on an empty list or a non-finite value. */
export function mean(values: ArrayLike<number>): number {
  checkValues('mean', values);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/**
 * Population standard deviation (divides by n, numpy's default ddof = 0), computed in two passes
 * for accuracy. Throws InvalidInputError on an empty list or a non-finite value.
 */
export function standardDeviation(values: ArrayLike<number>): number {
  const m = mean(values);
  let sq = 0;
  for (let i = 0; i < values.length; i++) sq += (values[i] - m) * (values[i] - m);
  return Math.sqrt(sq / values.length);
}

function checkPercent(p: number): void {
  if (!(p >= 0 && p <= 100)) throw new InvalidInputError(`percentile: p must be in [0, 100], got ${String(p)}`);
}

/** Percentile of already sorted (ascending), checked values: see {@link percentile}. */
function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const h = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const fraction = h - lo;
  // a + f (b - a) keeps the result inside [a, b] and exact when a = b.
  return fraction === 0 ? sorted[lo] : sorted[lo] + fraction * (sorted[hi] - sorted[lo]);
}

/**
 * The p-th percentile (p in [0, 100]) with linear interpolation between order statistics,
 * numpy's default method: with the values sorted ascending as v[0..n-1], h = (n - 1) p / 100 and
 * the result is v[floor(h)] + (h - floor(h)) (v[floor(h) + 1] - v[floor(h)]). For 1..10, p75 is
 * 7.75. Throws InvalidInputError on an empty list, a non-finite value or p outside [0, 100].
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  checkValues('percentile', values);
  checkPercent(p);
  const sorted = Float64Array.from(values).sort();
  return percentileOfSorted(sorted, p);
}

/** One bin of the histogram of temporal lengths: how many events last exactly `length` frames. */
export interface LengthBin {
  readonly length: number;
  readonly count: number;
}

/** Summary of the temporal lengths of cell events, the numbers of the paper's Table I. */
export interface LengthStatistics {
  readonly count: number;
  readonly mean: number;
  /** Population standard deviation (ddof = 0). */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** Median, interpolated as {@link percentile}. */
  readonly p50: number;
  /** 75th percentile: the recommended ConvLSTM sequence length k is built on it (SPEC step 6). */
  readonly p75: number;
  /** One bin per integer length from min to max inclusive (empty bins included, count 0). */
  readonly histogram: LengthBin[];
}

/**
 * Statistics of event lengths for SPEC step 6 (paper III.E and Table I: mean 6.38, sd 5.63,
 * p50 5, p75 8). Lengths must be non-negative integers (frame counts).
 *
 * Empty input is not an error: M2 may find no event at all, and the caller decides what that
 * means. It gives count 0, every number 0 (never NaN) and an empty histogram.
 */
export function describeLengths(values: ArrayLike<number>): LengthStatistics {
  if (values.length === 0) return { count: 0, mean: 0, std: 0, min: 0, max: 0, p50: 0, p75: 0, histogram: [] };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0) {
      throw new InvalidInputError(`describeLengths: length ${i} is not a non-negative integer (${String(v)})`);
    }
  }
  const sorted = Float64Array.from(values).sort();
  const min = sorted[0];
  const max = sorted[sorted.length - 1];
  const counts = new Array<number>(max - min + 1).fill(0);
  for (let i = 0; i < sorted.length; i++) counts[sorted[i] - min]++;
  return {
    count: sorted.length,
    mean: mean(sorted),
    std: standardDeviation(sorted),
    min,
    max,
    p50: percentileOfSorted(sorted, 50),
    p75: percentileOfSorted(sorted, 75),
    histogram: counts.map((count, j) => ({ length: min + j, count })),
  };
}
