import { cetresFixture } from '@mitosis/testing';
import { readFileSync } from 'node:fs';
import { InvalidInputError } from '@mitosis/core';
import { parsePointsCsv } from './points';
import type { MitosisPoint } from './points';
import { scoreAtThresholds, scoreDetections } from './score';

const p = (frame: number, x: number, y: number): MitosisPoint => ({ frame, x, y });

describe('scoreDetections', () => {
  it('finds the maximum matching where greedy nearest matching falls short', () => {
    // Detection D1 is nearest to A (1 px) but is also B's only candidate; A can take D2 (6 px).
    // Greedy nearest-first pairs A-D1 and leaves B and D2 alone: 1 match. The maximum is 2.
    const truth = [p(5, 100, 100), p(5, 105, 100)];
    const detections = [p(5, 101, 100), p(5, 94, 100)];
    const report = scoreDetections(truth, detections, { radius: 10, th: 1 });
    expect(report.tp).toBe(2);
    expect(report.fp).toBe(0);
    expect(report.fn).toBe(0);
    expect(report.matches.map((m) => [m.truth, m.detection, m.distance])).toEqual([
      [truth[0], detections[1], 6],
      [truth[1], detections[0], 4],
    ]);
  });

  it('beats greedy on a chain where each nearest pair blocks the next', () => {
    // T_{i+1}-D_i is 1 px (nearest) and T_i-D_i 4 px; T0 reaches only D0, D3 only T3.
    // Greedy nearest-first takes T1-D0, T2-D1, T3-D2 and stops at 3; the maximum, 4, needs the
    // augmenting path T0-D0-T1-D1-T2-D2-T3-D3 that re-pairs every annotation.
    const truth = [p(1, 0, 0), p(1, 5, 0), p(1, 10, 0), p(1, 15, 0)];
    const detections = [p(1, 4, 0), p(1, 9, 0), p(1, 14, 0), p(1, 19, 0)];
    const report = scoreDetections(truth, detections, { radius: 4, th: 0 });
    expect(report.tp).toBe(4);
    expect(report.matches.map((m) => m.detection)).toEqual(detections);
  });

  it('matches each annotation at most once and each detection at most once', () => {
    const truth = [p(10, 50, 50)];
    const detections = [p(10, 50, 50), p(10, 51, 50), p(11, 50, 50)];
    const report = scoreDetections(truth, detections, { radius: 10, th: 1 });
    expect(report).toMatchObject({ tp: 1, fp: 2, fn: 0, precision: 1 / 3, recall: 1 });
    expect(report.matches[0].detection).toBe(detections[0]);
    expect(report.falseDetections).toEqual([detections[1], detections[2]]);

    const crowd = scoreDetections([p(10, 50, 50), p(10, 52, 50), p(10, 54, 50)], [p(10, 52, 50)], { radius: 10, th: 1 });
    expect(crowd).toMatchObject({ tp: 1, fp: 0, fn: 2 });
    expect(crowd.misses).toEqual([p(10, 50, 50), p(10, 54, 50)]);
  });

  it('prefers the nearest detection when nothing else is at stake', () => {
    const truth = [p(20, 100, 100)];
    const detections = [p(20, 108, 100), p(21, 100, 102), p(20, 103, 104)];
    const report = scoreDetections(truth, detections, { radius: 10, th: 3 });
    expect(report.matches).toEqual([{ truth: truth[0], detection: detections[1], distance: 2, dt: 1 }]);
  });

  it('counts dt = th as matched and dt = th + 1 as missed, both ways in time', () => {
    const truth = [p(50, 100, 100)];
    for (const th of [0, 1, 3]) {
      for (const sign of [-1, 1]) {
        expect(scoreDetections(truth, [p(50 + sign * th, 100, 100)], { radius: 10, th }).tp).toBe(1);
        expect(scoreDetections(truth, [p(50 + sign * (th + 1), 100, 100)], { radius: 10, th }).tp).toBe(0);
      }
    }
    const report = scoreDetections(truth, [p(47, 100, 100)], { th: 3 });
    expect(report.matches[0].dt).toBe(-3);
  });

  it('counts a distance equal to the radius as matched and just beyond as missed', () => {
    const truth = [p(5, 100, 100)];
    expect(scoreDetections(truth, [p(5, 106, 108)], { radius: 10, th: 0 }).tp).toBe(1);
    expect(scoreDetections(truth, [p(5, 106, 108.01)], { radius: 10, th: 0 }).tp).toBe(0);
    expect(scoreDetections(truth, [p(5, 90, 100)], { radius: 10, th: 0 }).tp).toBe(1);
    expect(scoreDetections(truth, [p(5, 89.99, 100)], { radius: 10, th: 0 }).tp).toBe(0);
    // Decimals whose binary difference exceeds 10 by rounding still count as 10 pixels.
    expect(scoreDetections([p(5, 100.3, 0)], [p(5, 90.3, 0)], { radius: 10, th: 0 }).tp).toBe(1);
    // Radius 0 keeps only exact positions.
    expect(scoreDetections(truth, [p(5, 100, 100), p(5, 100.5, 100)], { radius: 0, th: 0 }).tp).toBe(1);
  });

  it('uses radius 10 and th 3 by default and reports them', () => {
    const report = scoreDetections([p(5, 0, 0)], [p(8, 6, 8)]);
    expect(report).toMatchObject({ tp: 1, radius: 10, th: 3 });
  });

  it('computes precision, recall and F1 from tp, fp and fn', () => {
    const truth = [p(1, 0, 0), p(2, 100, 0), p(3, 200, 0), p(4, 300, 0)];
    const detections = [p(1, 1, 0), p(2, 101, 0), p(3, 201, 0), p(9, 500, 500), p(9, 600, 600)];
    const r = scoreDetections(truth, [...detections.slice(0, 2), ...detections.slice(3)], { th: 1 });
    expect(r).toMatchObject({ tp: 2, fp: 2, fn: 2, precision: 0.5, recall: 0.5, f1: 0.5 });
    const s = scoreDetections(truth, detections, { th: 1 });
    expect(s).toMatchObject({ tp: 3, fp: 2, fn: 1, precision: 0.6, recall: 0.75 });
    expect(s.f1).toBeCloseTo((2 * 0.6 * 0.75) / (0.6 + 0.75), 12);
  });

  it('gives 0 for undefined ratios (sklearn zero_division=0)', () => {
    expect(scoreDetections([p(1, 0, 0)], [])).toMatchObject({ precision: 0, recall: 0, f1: 0, tp: 0, fp: 0, fn: 1 });
    expect(scoreDetections([], [p(1, 0, 0)])).toMatchObject({ precision: 0, recall: 0, f1: 0, tp: 0, fp: 1, fn: 0 });
    expect(scoreDetections([], [])).toMatchObject({ precision: 0, recall: 0, f1: 0, tp: 0, fp: 0, fn: 0 });
  });

  it('scores only the frame window, ignoring points outside it on both sides', () => {
    const truth = [p(110, 0, 0), p(111, 100, 100), p(200, 300, 300), p(201, 500, 500)];
    // The detection at 112 would match the annotation at 110 (th 3), but 110 is outside.
    const detections = [p(112, 0, 0), p(111, 100, 100), p(201, 300, 300), p(205, 700, 700)];
    const report = scoreDetections(truth, detections, { th: 3, frames: { first: 111, last: 200 } });
    expect(report).toMatchObject({ tp: 1, fp: 1, fn: 1, frames: { first: 111, last: 200 } });
    expect(report.misses).toEqual([p(200, 300, 300)]);
    expect(report.falseDetections).toEqual([p(112, 0, 0)]);
  });

  it('handles fractional frames from centres of mass', () => {
    expect(scoreDetections([p(10, 0, 0)], [p(12.5, 0, 0)], { th: 3 }).matches[0].dt).toBe(2.5);
    expect(scoreDetections([p(10, 0, 0)], [p(13.5, 0, 0)], { th: 3 }).tp).toBe(0);
    expect(scoreDetections([p(10, 0, 0)], [p(6.5, 0, 0)], { th: 3 }).tp).toBe(0);
  });

  it('rejects bad tolerances, windows and points', () => {
    expect(() => scoreDetections([], [], { radius: -1 })).toThrow(InvalidInputError);
    expect(() => scoreDetections([], [], { radius: Number.NaN })).toThrow(/radius NaN/);
    expect(() => scoreDetections([], [], { th: 1.5 })).toThrow(/th 1.5 must be an integer/);
    expect(() => scoreDetections([], [], { th: -1 })).toThrow(InvalidInputError);
    expect(() => scoreDetections([], [], { frames: { first: 5, last: 4 } })).toThrow(/frame window 5:4/);
    expect(() => scoreDetections([], [p(1, Number.NaN, 0)])).toThrow(/detection #1/);
    expect(() => scoreDetections([p(1, 0, 0), p(Infinity, 0, 0)], [])).toThrow(/annotation #2/);
  });
});

describe('scoring the real CeTReS.B annotations', () => {
  const truth = parsePointsCsv(readFileSync(cetresFixture.mitoses(), 'utf8'), 'mitoses.csv');

  it('scores the annotations against themselves as perfect', () => {
    const report = scoreDetections(truth, truth, { radius: 10, th: 1 });
    expect(report).toMatchObject({ precision: 1, recall: 1, f1: 1, tp: 90, fp: 0, fn: 0 });
    expect(report.matches.every((m) => m.distance === 0 && m.dt === 0)).toBe(true);
  });

  it('finds a +2 frame shift at th 3 and not at th 1', () => {
    const shifted = truth.map((q) => ({ ...q, frame: q.frame + 2 }));
    const [th1, th3] = scoreAtThresholds(truth, shifted, { radius: 10, ths: [1, 3] });
    expect(th3).toMatchObject({ th: 3, f1: 1, tp: 90 });
    expect(th1).toMatchObject({ th: 1, f1: 0, tp: 0, fp: 90, fn: 90 });
  });

  it('scores the protocol window 111..200 alone', () => {
    const report = scoreDetections(truth, truth, { frames: { first: 111, last: 200 } });
    expect(report.tp).toBe(truth.filter((q) => q.frame >= 111).length);
    expect(report.fp + report.fn).toBe(0);
  });
});

describe('scoreAtThresholds', () => {
  it('gives the same reports as scoring each th alone, in the order asked', () => {
    const truth = [p(10, 0, 0), p(20, 50, 50), p(30, 100, 100)];
    const detections = [p(11, 1, 1), p(23, 50, 52), p(35, 100, 100), p(29, 0, 0)];
    const reports = scoreAtThresholds(truth, detections, { radius: 10, ths: [3, 0, 1, 5] });
    expect(reports.map((r) => r.th)).toEqual([3, 0, 1, 5]);
    expect(reports.map((r) => r.tp)).toEqual([2, 0, 1, 3]);
    for (const r of reports) expect(r).toEqual(scoreDetections(truth, detections, { radius: 10, th: r.th }));
  });

  it('rejects an empty or invalid list of thresholds', () => {
    expect(() => scoreAtThresholds([], [], { ths: [] })).toThrow(/no temporal tolerance/);
    expect(() => scoreAtThresholds([], [], { ths: [1, -3] })).toThrow(/th -3/);
  });
});
