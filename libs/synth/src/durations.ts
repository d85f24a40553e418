import type { DurationDistribution, ResolvedSynthOptions } from './options';

const { abs, ceil, exp, floor, max, min, round, sqrt } = Math;

/** Standard normal CDF by Abramowitz & Stegun 7.1.26 (error under 1.5e-7: far below a frame's share). */
export function normalCdf(z: number): number {
  const x = abs(z) / sqrt(2);
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * Probability of each whole number of frames under {@link drawDuration}'s law: a normal rounded
 * to whole frames (v covers [v - 0.5, v + 0.5)) and truncated to [min, max] by redrawing.
 * Index 0 is `min`.
 */
export function durationPmf(d: DurationDistribution): number[] {
  const n = d.max - d.min + 1;
  if (d.sd === 0) {
    // drawDuration's fallback: the nearest bound to the rounded mean.
    const v = min(d.max, max(d.min, round(d.mean)));
    return Array.from({ length: n }, (_, i) => (d.min + i === v ? 1 : 0));
  }
  const mass = Array.from({ length: n }, (_, i) => {
    const v = d.min + i;
    return normalCdf((v + 0.5 - d.mean) / d.sd) - normalCdf((v - 0.5 - d.mean) / d.sd);
  });
  const total = mass.reduce((s, m) => s + m, 0);
  if (!(total > 1e-12)) {
    const v = min(d.max, max(d.min, round(d.mean)));
    return mass.map((_, i) => (d.min + i === v ? 1 : 0));
  }
  return mass.map((m) => m / total);
}

/**
 * A duration law scaled by `scale`: mean and sd times it, the bounds widened outwards (floor of
 * min, ceiling of max) so they stay in the tails, kept within [lowest, longest]. Scale 1 returns
 * the law unchanged.
 */
export function scaledDuration(d: DurationDistribution, scale: number, lowest: number, longest: number): DurationDistribution {
  if (scale === 1) return d;
  const hi = min(longest, max(lowest, ceil(d.max * scale)));
  const lo = min(hi, max(lowest, floor(d.min * scale)));
  return { mean: d.mean * scale, sd: d.sd * scale, min: lo, max: hi };
}

/**
 * The 75th percentile of a weighted mixture of duration laws, with each whole frame v spread
 * evenly over [v - 0.5, v + 0.5]: a continuous stand-in for the percentile of a large sample.
 * When it equals an integer T, the 0.75 quantile sits in the middle of T's mass, so the sample
 * percentile lands on T unless the weights or the sample are off by a lot.
 */
export function mixtureP75(laws: readonly DurationDistribution[], weights: readonly number[]): number {
  const total = weights.reduce((s, w) => s + w, 0);
  const w = total > 0 ? weights.map((x) => x / total) : weights.map(() => 1 / weights.length);
  const lo = min(...laws.map((d) => d.min));
  const hi = max(...laws.map((d) => d.max));
  const p = new Array<number>(hi - lo + 1).fill(0);
  laws.forEach((d, k) => durationPmf(d).forEach((m, i) => (p[d.min + i - lo] += w[k] * m)));
  let below = 0;
  for (let i = 0; i < p.length; i++) {
    if (below + p[i] >= 0.75) return lo + i - 0.5 + (p[i] > 0 ? (0.75 - below) / p[i] : 0);
    below += p[i];
  }
  return hi + 0.5;
}

/** One kind of event for {@link eventLengthScale}: its law (unscaled), weight and bounds. */
export interface WeightedLaw {
  readonly law: DurationDistribution;
  readonly weight: number;
  readonly lowest: number;
}

/**
 * The common factor on every duration law that puts the mixture's p75 at `target`, by bisection
 * on [1/20, 20]; undefined when no factor gets within a quarter of a frame (the bounds or the
 * video's length hold the mixture back).
 */
export function eventLengthScale(kinds: readonly WeightedLaw[], target: number, longest: number): number | undefined {
  const p75 = (s: number): number =>
    mixtureP75(
      kinds.map((k) => scaledDuration(k.law, s, k.lowest, longest)),
      kinds.map((k) => k.weight),
    );
  let lo = 0.05;
  let hi = 20;
  for (let i = 0; i < 60; i++) {
    const mid = sqrt(lo * hi);
    if (p75(mid) < target) lo = mid;
    else hi = mid;
  }
  const best = [lo, hi].reduce((a, b) => (abs(p75(a) - target) <= abs(p75(b) - target) ? a : b));
  return abs(p75(best) - target) <= 0.25 ? best : undefined;
}

/** The lowest duration of each kind: a mitosis needs a rounding frame and a daughters' frame. */
export const lowestDuration = { mitosis: 2, death: 1, 'transient-rounding': 1 } as const;

/** The laws durations are drawn from: the options' laws scaled by `eventLengthScale` (1: as given). */
export function durationLaws(o: ResolvedSynthOptions): { mitosis: DurationDistribution; death: DurationDistribution; 'transient-rounding': DurationDistribution } {
  const longest = max(2, o.frames - 2);
  return {
    mitosis: scaledDuration(o.mitosisDuration, o.eventLengthScale, lowestDuration.mitosis, longest),
    death: scaledDuration(o.deathDuration, o.eventLengthScale, lowestDuration.death, longest),
    'transient-rounding': scaledDuration(o.transientDuration, o.eventLengthScale, lowestDuration['transient-rounding'], longest),
  };
}
