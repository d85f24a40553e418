import type { MitosisPoint } from './points';

/** A pair (annotation, detection) close enough in space and time to count as one mitosis. */
export interface CandidatePair {
  /** Index into the annotations. */
  readonly truth: number;
  /** Index into the detections. */
  readonly detection: number;
  /** Euclidean distance in original pixels. */
  readonly distance: number;
  /** detection.frame - truth.frame. */
  readonly dt: number;
}

// Tolerances are inclusive ("within 10 pixels", "within th frames"); the slack only absorbs
// floating-point error in coordinates written with decimals (100.3 - 90.3 > 10 in binary).
const relativeSlack = 1e-9;

/**
 * Every (annotation, detection) pair within `radius` pixels and `th` frames (|dt| <= th), found
 * through a bucket index on (frame, x / radius, y / radius) so that only neighbouring buckets
 * are compared, not all pairs. Sorted by distance, then |dt|, then indices: the order in which
 * the matching prefers candidates.
 */
export function findCandidatePairs(truth: readonly MitosisPoint[], detections: readonly MitosisPoint[], radius: number, th: number): CandidatePair[] {
  // A cell as wide as the radius: any pair within the radius lies in adjacent cells.
  const cell = radius > 0 ? radius : 1;
  const buckets = new Map<string, number[]>();
  const keyOf = (frame: number, cx: number, cy: number): string => `${frame}|${cx}|${cy}`;
  detections.forEach((d, j) => {
    const key = keyOf(Math.floor(d.frame), Math.floor(d.x / cell), Math.floor(d.y / cell));
    const bucket = buckets.get(key);
    if (bucket) bucket.push(j);
    else buckets.set(key, [j]);
  });

  const radiusSquared = radius * radius * (1 + relativeSlack) + relativeSlack;
  const thWithSlack = th + relativeSlack;
  const pairs: CandidatePair[] = [];
  truth.forEach((t, i) => {
    const cx = Math.floor(t.x / cell);
    const cy = Math.floor(t.y / cell);
    const lastFrame = Math.floor(t.frame + th);
    for (let frame = Math.floor(t.frame - th); frame <= lastFrame; frame++) {
      for (let dx = -1; dx <= 1; dx++) {
        for (let dy = -1; dy <= 1; dy++) {
          const bucket = buckets.get(keyOf(frame, cx + dx, cy + dy));
          if (!bucket) continue;
          for (const j of bucket) {
            const d = detections[j];
            const dt = d.frame - t.frame;
            if (Math.abs(dt) > thWithSlack) continue;
            const squared = (d.x - t.x) ** 2 + (d.y - t.y) ** 2;
            if (squared > radiusSquared) continue;
            pairs.push({ truth: i, detection: j, distance: Math.sqrt(squared), dt });
          }
        }
      }
    }
  });
  pairs.sort((a, b) => a.distance - b.distance || Math.abs(a.dt) - Math.abs(b.dt) || a.truth - b.truth || a.detection - b.detection);
  return pairs;
}

/**
 * A maximum-cardinality matching between annotations and detections over the candidate pairs
 * (Hopcroft-Karp), so each annotation and each detection is used at most once and as many
 * mitoses as possible count as found (SPEC step 9: "each annotation matched at most once").
 *
 * Among maximum matchings it prefers short distances, cheaply and without a guarantee: it starts
 * from the greedy nearest-first matching over `pairs` (sorted by distance, then |dt|) and each
 * annotation tries its candidates in that order while augmenting; augmenting paths only
 * re-pair what greedy matching could not complete. Deterministic for a given input order.
 *
 * Returns the chosen pairs, sorted by annotation index.
 */
export function maximumMatching(truthCount: number, detectionCount: number, pairs: readonly CandidatePair[]): CandidatePair[] {
  // Adjacency of each annotation in compressed rows, keeping the distance order of `pairs`.
  const degree = new Int32Array(truthCount + 1);
  for (const p of pairs) degree[p.truth + 1]++;
  for (let i = 0; i < truthCount; i++) degree[i + 1] += degree[i];
  const start = degree.slice();
  const edges = new Int32Array(pairs.length);
  const edgePair = new Int32Array(pairs.length);
  const fill = start.slice(0, truthCount);
  pairs.forEach((p, index) => {
    const slot = fill[p.truth]++;
    edges[slot] = p.detection;
    edgePair[slot] = index;
  });

  const matchOfTruth = new Int32Array(truthCount).fill(-1);
  const matchOfDetection = new Int32Array(detectionCount).fill(-1);
  const pairOfTruth = new Int32Array(truthCount).fill(-1);

  // Greedy nearest-first seed: a maximal matching made of the shortest pairs.
  pairs.forEach((p, index) => {
    if (matchOfTruth[p.truth] < 0 && matchOfDetection[p.detection] < 0) {
      matchOfTruth[p.truth] = p.detection;
      matchOfDetection[p.detection] = p.truth;
      pairOfTruth[p.truth] = index;
    }
  });

  const unreached = 0x7fffffff;
  const layer = new Int32Array(truthCount);
  const next = new Int32Array(truthCount);
  const queue = new Int32Array(truthCount);
  const stack = new Int32Array(truthCount);

  // Breadth-first layering from the free annotations; true when some free detection is reachable.
  const buildLayers = (): boolean => {
    let head = 0;
    let tail = 0;
    for (let u = 0; u < truthCount; u++) {
      if (matchOfTruth[u] < 0) {
        layer[u] = 0;
        queue[tail++] = u;
      } else {
        layer[u] = unreached;
      }
    }
    let reachedFree = false;
    while (head < tail) {
      const u = queue[head++];
      for (let e = start[u]; e < start[u + 1]; e++) {
        const w = matchOfDetection[edges[e]];
        if (w < 0) reachedFree = true;
        else if (layer[w] === unreached) {
          layer[w] = layer[u] + 1;
          queue[tail++] = w;
        }
      }
    }
    return reachedFree;
  };

  // Depth-first search for one augmenting path from `root` along the layers, iterative so a long
  // alternating path cannot overflow the call stack; flips the path when it reaches a free detection.
  const augment = (root: number): boolean => {
    let depth = 0;
    stack[depth++] = root;
    while (depth > 0) {
      const u = stack[depth - 1];
      if (next[u] >= start[u + 1]) {
        layer[u] = unreached; // dead end for the rest of this phase
        depth--;
        if (depth > 0) next[stack[depth - 1]]++;
        continue;
      }
      const w = matchOfDetection[edges[next[u]]];
      if (w < 0) {
        for (let k = depth - 1; k >= 0; k--) {
          const a = stack[k];
          const e = next[a];
          matchOfTruth[a] = edges[e];
          matchOfDetection[edges[e]] = a;
          pairOfTruth[a] = edgePair[e];
        }
        return true;
      }
      if (layer[w] === layer[u] + 1) stack[depth++] = w;
      else next[u]++;
    }
    return false;
  };

  while (buildLayers()) {
    next.set(start.subarray(0, truthCount));
    let augmented = false;
    for (let u = 0; u < truthCount; u++) {
      if (matchOfTruth[u] < 0 && augment(u)) augmented = true;
    }
    if (!augmented) break;
  }

  const matching: CandidatePair[] = [];
  for (let u = 0; u < truthCount; u++) {
    const index = pairOfTruth[u];
    if (index >= 0) matching.push(pairs[index]);
  }
  return matching;
}
