import fc from 'fast-check';
import { findCandidatePairs, maximumMatching } from './matching';
import type { MitosisPoint } from './points';
import { scoreAtThresholds, scoreDetections } from './score';

// Small worlds so that random points often fall within reach of each other and conflict.
const point = (maxFrame: number, size: number): fc.Arbitrary<MitosisPoint> =>
  fc.record({
    frame: fc.integer({ min: 1, max: maxFrame }),
    x: fc.integer({ min: 0, max: size * 4 }).map((v) => v / 4),
    y: fc.integer({ min: 0, max: size * 4 }).map((v) => v / 4),
  });
const crowded = fc.array(point(8, 40), { maxLength: 25 });
const radius = fc.integer({ min: 0, max: 15 });
const th = fc.integer({ min: 0, max: 3 });

/** Every pair within the tolerances, by brute force over all pairs. */
function allPairs(truth: readonly MitosisPoint[], detections: readonly MitosisPoint[], r: number, t: number): string[] {
  const found: string[] = [];
  truth.forEach((a, i) =>
    detections.forEach((b, j) => {
      if (Math.abs(b.frame - a.frame) <= t && Math.hypot(b.x - a.x, b.y - a.y) <= r) found.push(`${i}-${j}`);
    }),
  );
  return found.sort();
}

/** Maximum matching size by simple augmenting paths (Kuhn), an independent check of Hopcroft-Karp. */
function kuhnSize(truthCount: number, detectionCount: number, pairs: readonly { truth: number; detection: number }[]): number {
  const adjacency: number[][] = Array.from({ length: truthCount }, () => []);
  for (const pair of pairs) adjacency[pair.truth].push(pair.detection);
  const owner = new Array<number>(detectionCount).fill(-1);
  const tryAugment = (u: number, seen: boolean[]): boolean => {
    for (const v of adjacency[u]) {
      if (seen[v]) continue;
      seen[v] = true;
      if (owner[v] < 0 || tryAugment(owner[v], seen)) {
        owner[v] = u;
        return true;
      }
    }
    return false;
  };
  let size = 0;
  for (let u = 0; u < truthCount; u++) if (tryAugment(u, new Array<boolean>(detectionCount).fill(false))) size++;
  return size;
}

describe('findCandidatePairs', () => {
  it('finds exactly the pairs a comparison of all pairs finds', () => {
    fc.assert(
      fc.property(crowded, crowded, radius, th, (truth, detections, r, t) => {
        const pairs = findCandidatePairs(truth, detections, r, t);
        expect(pairs.map((q) => `${q.truth}-${q.detection}`).sort()).toEqual(allPairs(truth, detections, r, t));
        for (let k = 1; k < pairs.length; k++) expect(pairs[k].distance).toBeGreaterThanOrEqual(pairs[k - 1].distance);
      }),
    );
  });
});

describe('maximumMatching', () => {
  it('has the size of a maximum matching and uses valid, disjoint pairs', () => {
    fc.assert(
      fc.property(crowded, crowded, radius, th, (truth, detections, r, t) => {
        const pairs = findCandidatePairs(truth, detections, r, t);
        const matching = maximumMatching(truth.length, detections.length, pairs);
        expect(matching).toHaveLength(kuhnSize(truth.length, detections.length, pairs));
        expect(new Set(matching.map((m) => m.truth)).size).toBe(matching.length);
        expect(new Set(matching.map((m) => m.detection)).size).toBe(matching.length);
        for (const m of matching) expect(pairs).toContain(m);
      }),
      { numRuns: 300 },
    );
  });

  it('handles a long alternating path without recursion', () => {
    // A chain of 20000 where nearest-first leaves one annotation out: one augmenting path re-pairs all.
    const n = 20000;
    const truth = Array.from({ length: n }, (_, i) => ({ frame: 1, x: 5 * i, y: 0 }));
    const detections = Array.from({ length: n }, (_, i) => ({ frame: 1, x: 5 * i + 4, y: 0 }));
    expect(scoreDetections(truth, detections, { radius: 4, th: 0 }).tp).toBe(n);
  });
});

describe('scoring properties', () => {
  it('scores any set against itself as perfect (when not empty)', () => {
    fc.assert(
      fc.property(fc.array(point(300, 1400), { minLength: 1, maxLength: 60 }), radius, th, (points, r, t) => {
        const report = scoreDetections(points, points, { radius: r, th: t });
        expect(report).toMatchObject({ precision: 1, recall: 1, f1: 1, fp: 0, fn: 0, tp: points.length });
      }),
    );
  });

  it('accounts for every point: tp + fn = |truth| and tp + fp = |detections|', () => {
    fc.assert(
      fc.property(crowded, crowded, radius, th, (truth, detections, r, t) => {
        const report = scoreDetections(truth, detections, { radius: r, th: t });
        expect(report.tp + report.fn).toBe(truth.length);
        expect(report.tp + report.fp).toBe(detections.length);
        expect(report.misses).toHaveLength(report.fn);
        expect(report.falseDetections).toHaveLength(report.fp);
        expect(report.matches).toHaveLength(report.tp);
        for (const m of report.matches) {
          expect(m.distance).toBeLessThanOrEqual(r + 1e-9);
          expect(Math.abs(m.dt)).toBeLessThanOrEqual(t);
        }
        for (const value of [report.precision, report.recall, report.f1]) {
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('does not depend on the order of the points', () => {
    fc.assert(
      fc.property(crowded, crowded, radius, th, fc.integer(), (truth, detections, r, t, seed) => {
        const shuffle = <T>(items: readonly T[]): T[] =>
          items
            .map((item, i) => ({ item, key: Math.imul(i + 1, seed | 1) >>> 0 }))
            .sort((a, b) => a.key - b.key)
            .map((e) => e.item);
        const a = scoreDetections(truth, detections, { radius: r, th: t });
        const b = scoreDetections(shuffle(truth), shuffle(detections), { radius: r, th: t });
        expect(b.tp).toBe(a.tp);
      }),
    );
  });

  it('never loses a match when the tolerance grows', () => {
    fc.assert(
      fc.property(crowded, crowded, radius, (truth, detections, r) => {
        const tps = scoreAtThresholds(truth, detections, { radius: r, ths: [0, 1, 2, 3] }).map((s) => s.tp);
        for (let k = 1; k < tps.length; k++) expect(tps[k]).toBeGreaterThanOrEqual(tps[k - 1]);
      }),
    );
  });
});
