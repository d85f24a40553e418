import { InvalidInputError } from '@mitosis/core';
import type { FrameRange } from '@mitosis/core';
import { findCandidatePairs, maximumMatching } from './matching';
import type { CandidatePair } from './matching';
import type { MitosisPoint } from './points';

/** The paper's tolerances (Sec. III.I, after Huh et al.): 10 pixels at original resolution... */
export const defaultRadius = 10;
/** ...and 1 or 3 frames; 3 is the default of `mitosis score`, both are reported in Table II. */
export const defaultTh = 3;

export interface ScoreOptions {
  /** Spatial tolerance in original pixels, inclusive (Euclidean distance <= radius). Default 10. */
  readonly radius?: number;
  /** Temporal tolerance in frames, inclusive (|dt| <= th). Default 3. */
  readonly th?: number;
  /**
   * Score only this window of frames (1-based, inclusive), e.g. 111..200 in the development
   * protocol: annotations and detections outside it are ignored on both sides.
   */
  readonly frames?: FrameRange;
}

export interface ScoreMatch {
  readonly truth: MitosisPoint;
  readonly detection: MitosisPoint;
  /** Euclidean distance in original pixels. */
  readonly distance: number;
  /** detection.frame - truth.frame. */
  readonly dt: number;
}

export interface ScoreReport {
  /** tp / (tp + fp); 0 when there are no detections. */
  readonly precision: number;
  /** tp / (tp + fn); 0 when there are no annotations. */
  readonly recall: number;
  /** 2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall; 0 when both are 0. */
  readonly f1: number;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly radius: number;
  readonly th: number;
  /** The window scored, when one was given. */
  readonly frames?: FrameRange;
  /** Matched pairs, in annotation order. */
  readonly matches: ScoreMatch[];
  /** Annotations no detection matched (false negatives), in input order. */
  readonly misses: MitosisPoint[];
  /** Detections that matched no annotation (false positives), in input order. */
  readonly falseDetections: MitosisPoint[];
}

export interface ThresholdsOptions {
  readonly radius?: number;
  /** Temporal tolerances to score at, e.g. [1, 3] as in the paper's tables. */
  readonly ths: readonly number[];
  readonly frames?: FrameRange;
}

function checkRadius(radius: number): void {
  if (!Number.isFinite(radius) || radius < 0) {
    throw new InvalidInputError(`radius ${radius} must be a finite number of pixels >= 0`);
  }
}

function checkTh(th: number): void {
  if (!Number.isInteger(th) || th < 0) throw new InvalidInputError(`th ${th} must be an integer number of frames >= 0`);
}

function checkFrames(frames: FrameRange | undefined): void {
  if (frames === undefined) return;
  if (!Number.isInteger(frames.first) || !Number.isInteger(frames.last) || frames.first < 1 || frames.last < frames.first) {
    throw new InvalidInputError(`frame window ${frames.first}:${frames.last} must be integers with 1 <= first <= last`);
  }
}

function checkPoints(points: readonly MitosisPoint[], side: string): void {
  points.forEach((p, index) => {
    if (!Number.isFinite(p.frame) || !Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      throw new InvalidInputError(`${side} #${index + 1}: frame ${p.frame}, x ${p.x}, y ${p.y} must all be finite numbers`);
    }
  });
}

function inWindow(points: readonly MitosisPoint[], frames: FrameRange | undefined): readonly MitosisPoint[] {
  if (frames === undefined) return points;
  return points.filter((p) => p.frame >= frames.first && p.frame <= frames.last);
}

/** sklearn's zero_division=0 convention: a ratio with nothing to divide by is 0, not NaN. */
function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

function reportFromMatching(
  truth: readonly MitosisPoint[],
  detections: readonly MitosisPoint[],
  matching: readonly CandidatePair[],
  radius: number,
  th: number,
  frames: FrameRange | undefined,
): ScoreReport {
  const truthMatched = new Uint8Array(truth.length);
  const detectionMatched = new Uint8Array(detections.length);
  const matches = matching.map((pair): ScoreMatch => {
    truthMatched[pair.truth] = 1;
    detectionMatched[pair.detection] = 1;
    return { truth: truth[pair.truth], detection: detections[pair.detection], distance: pair.distance, dt: pair.dt };
  });
  const tp = matches.length;
  const fp = detections.length - tp;
  const fn = truth.length - tp;
  return {
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    tp,
    fp,
    fn,
    radius,
    th,
    ...(frames === undefined ? {} : { frames: { first: frames.first, last: frames.last } }),
    matches,
    misses: truth.filter((_, i) => truthMatched[i] === 0),
    falseDetections: detections.filter((_, j) => detectionMatched[j] === 0),
  };
}

/**
 * Scores detections against annotations (SPEC step 9, paper Sec. III.I): a detection is correct
 * when it lies within `radius` pixels and `th` frames of an annotation, each annotation and each
 * detection counting at most once. The pairing is a maximum matching, so the score does not
 * depend on the order of the points or on a greedy choice (see `maximumMatching`).
 *
 * Undefined ratios are 0 (sklearn's zero_division=0): no detections gives precision 0, no
 * annotations gives recall 0, and nothing on either side gives precision = recall = F1 = 0.
 */
export function scoreDetections(truth: readonly MitosisPoint[], detections: readonly MitosisPoint[], options: ScoreOptions = {}): ScoreReport {
  const radius = options.radius ?? defaultRadius;
  const th = options.th ?? defaultTh;
  checkRadius(radius);
  checkTh(th);
  checkFrames(options.frames);
  checkPoints(truth, 'annotation');
  checkPoints(detections, 'detection');
  const scoredTruth = inWindow(truth, options.frames);
  const scoredDetections = inWindow(detections, options.frames);
  const pairs = findCandidatePairs(scoredTruth, scoredDetections, radius, th);
  const matching = maximumMatching(scoredTruth.length, scoredDetections.length, pairs);
  return reportFromMatching(scoredTruth, scoredDetections, matching, radius, th, options.frames);
}

/**
 * Scores the same detections at several temporal tolerances (the paper reports th = 1 and 3),
 * finding candidate pairs once at the largest th and matching again for each. One report per
 * th, in the order given.
 */
export function scoreAtThresholds(truth: readonly MitosisPoint[], detections: readonly MitosisPoint[], options: ThresholdsOptions): ScoreReport[] {
  const radius = options.radius ?? defaultRadius;
  checkRadius(radius);
  if (options.ths.length === 0) throw new InvalidInputError('no temporal tolerance th to score at');
  options.ths.forEach(checkTh);
  checkFrames(options.frames);
  checkPoints(truth, 'annotation');
  checkPoints(detections, 'detection');
  const scoredTruth = inWindow(truth, options.frames);
  const scoredDetections = inWindow(detections, options.frames);
  const widest = findCandidatePairs(scoredTruth, scoredDetections, radius, Math.max(...options.ths));
  return options.ths.map((th) => {
    // Filtering keeps the distance order the matching relies on.
    const pairs = widest.filter((pair) => Math.abs(pair.dt) <= th + 1e-9);
    const matching = maximumMatching(scoredTruth.length, scoredDetections.length, pairs);
    return reportFromMatching(scoredTruth, scoredDetections, matching, radius, th, options.frames);
  });
}
