import { InvalidInputError } from '@mitosis/core';
import type { Component, Volume } from '@mitosis/volume';
import { connectedComponents, cross2d, erode } from '@mitosis/volume';

/**
 * How much one of M1's n feature maps looks like the interiors of separate, round cells that
 * persist over time, measured on the map as y_t would be made from it (`cleaning`).
 */
export interface FeatureMapScore {
  readonly index: number;
  /** Fraction of all pixels won by this map. */
  readonly coverage: number;
  /** 2D components per frame (of at least `minArea` pixels), after the cleaning. */
  readonly componentsPerFrame: number;
  /** Components per frame that look like a cell interior (compact, round, cell-sized). */
  readonly cellLikePerFrame: number;
  /** Fraction of the map's pixels that lie in cell-like components. */
  readonly cellLikeFraction: number;
  readonly meanCellArea: number;
  /** Fraction of the cell-like components' pixels whose component is still there in the next frame (half its pixels kept). */
  readonly persistence: number;
  /** Mean frames a cell-like pixel's trajectory (components linked by overlap) lasts, as a fraction of the frames. */
  readonly trajectoryFraction: number;
  /** 1 - mean |n(t+1) - n(t)| / mean n of the cell-like components per frame: 1 for a steady population. */
  readonly countStability: number;
  /** Fraction of the frame covered by persistent cell-like components. */
  readonly cellCoverage: number;
  /** The cleaning the score was measured with: the one that keeps more persistent cells. */
  readonly cleaning: { readonly erosions: number; readonly minArea: number };
  readonly score: number;
}

export interface MapSelectionOptions {
  /** Components smaller than this (downscaled pixels) are noise, not cells. Default 3. */
  readonly minArea?: number;
  /** Largest cell interior as a fraction of the frame. Default 0.02. */
  readonly maxAreaFraction?: number;
  /** Smallest area / bounding-box area of a cell-like component (a disc has pi/4). Default 0.45. */
  readonly minExtent?: number;
  /** Smallest short/long side ratio of a cell-like component's bounding box. Default 0.35. */
  readonly minAspect?: number;
  /**
   * Erosions of y_t to score with. Default: whichever of 0 and 1 (the paper's) keeps more
   * persistent cell-like components of the map, so that cells only a few pixels across, which
   * one erosion cuts to specks, are not lost, while touching cells that one erosion splits are.
   */
  readonly erosions?: number;
}

/** The defaults of {@link MapSelectionOptions}. */
export const mapSelectionDefaults = { minArea: 3, maxAreaFraction: 0.02, minExtent: 0.45, minAspect: 0.35 } as const;

/** A map whose score is under this fraction of the best one's is no real alternative. */
const CONFIDENT_MARGIN = 0.25;

/**
 * Paper III.C picks y_t among the n maps "based on knowledge of the internal part of cells as
 * disconnected and round shaped objects", and section V describes the alternatives it must beat:
 * background (one huge component), cell edges (thin rings and arcs, whose area fills little of
 * their bounding box) and blank maps. A single frame is not enough to tell interiors from specks
 * that happen to be round, so the score also asks what makes a map of cells a map of cells over
 * time: cells persist from one frame to the next (a speck of noise or of an edge blinks), their
 * trajectories last, their number changes slowly, and together they cover a good part of the
 * frame where specks cover little. Score = (fraction of the map's pixels in persistent cell-like
 * components) x countStability x log(1 + 100 x cellCoverage), measured on the map cleaned as y_t
 * will be (erosions, specks dropped), since y_t is what M2 learns from.
 */
export function scoreFeatureMaps(winner: Volume<Uint8Array>, maps: number, options: MapSelectionOptions = {}): FeatureMapScore[] {
  const scores: FeatureMapScore[] = [];
  for (let index = 0; index < maps; index++) {
    const mask = new Uint8Array(winner.data.length);
    let won = 0;
    for (let i = 0; i < mask.length; i++) {
      if (winner.data[i] === index) {
        mask[i] = 1;
        won++;
      }
    }
    const binary = { ...winner, data: mask };
    const tries = options.erosions === undefined ? [1, 0] : [options.erosions];
    let best: FeatureMapScore | undefined;
    for (const erosions of tries) {
      const score = scoreCleanedMap(binary, index, won, erosions, options);
      if (!best || persistentCells(score) > persistentCells(best) * 1.1) best = score;
    }
    if (best) scores.push(best);
  }
  return scores;
}

function persistentCells(score: FeatureMapScore): number {
  return score.cellLikePerFrame * score.persistence;
}

function scoreCleanedMap(binary: Volume<Uint8Array>, index: number, won: number, erosions: number, options: MapSelectionOptions): FeatureMapScore {
  const minArea = options.minArea ?? mapSelectionDefaults.minArea;
  const { frames, height, width } = binary;
  const plane = height * width;
  const maxArea = (options.maxAreaFraction ?? mapSelectionDefaults.maxAreaFraction) * plane;
  const minExtent = options.minExtent ?? mapSelectionDefaults.minExtent;
  const minAspect = options.minAspect ?? mapSelectionDefaults.minAspect;
  const eroded = erosions > 0 ? erode(binary, cross2d(), { iterations: erosions }) : binary;
  const cleaned = minArea > 1 ? dropComponents(eroded, 'frame-4', (c) => c.size < minArea) : eroded;
  const { labels, components } = connectedComponents(cleaned, { connectivity: 'frame-4' });
  const trajectories = connectedComponents(cleaned, { connectivity: 'overlap-4' });
  let cellPixels = 0;
  let persistentPixels = 0;
  let trajectoryFrames = 0;
  const cellsPerFrame = new Float64Array(frames);
  for (const c of components) {
    const h = c.bbox.y1 - c.bbox.y0 + 1;
    const w = c.bbox.x1 - c.bbox.x0 + 1;
    const extent = c.size / (h * w);
    const aspect = Math.min(h, w) / Math.max(h, w);
    if (!(c.size <= maxArea && extent >= minExtent && aspect >= minAspect)) continue;
    cellPixels += c.size;
    cellsPerFrame[c.firstFrame] = (cellsPerFrame[c.firstFrame] ?? 0) + 1;
    // Its pixels in the next frame (the previous one for the last frame) that the map still holds.
    const t = c.firstFrame;
    const other = t + 1 < frames ? t + 1 : t - 1;
    let kept = 0;
    let trajectoryLabel = 0;
    for (let y = c.bbox.y0; y <= c.bbox.y1; y++) {
      for (let x = c.bbox.x0; x <= c.bbox.x1; x++) {
        const i = t * plane + y * width + x;
        if (labels.data[i] !== c.label) continue;
        trajectoryLabel = trajectories.labels.data[i] ?? 0;
        if (other >= 0 && cleaned.data[other * plane + y * width + x]) kept++;
      }
    }
    if (other >= 0 && kept * 2 >= c.size) persistentPixels += c.size;
    trajectoryFrames += c.size * (trajectories.components[trajectoryLabel - 1]?.temporalLength ?? 1);
  }
  let cellCount = 0;
  let change = 0;
  for (let t = 0; t < frames; t++) {
    cellCount += cellsPerFrame[t] ?? 0;
    if (t > 0) change += Math.abs((cellsPerFrame[t] ?? 0) - (cellsPerFrame[t - 1] ?? 0));
  }
  const meanCells = cellCount / frames;
  const countStability = meanCells === 0 ? 0 : frames < 2 ? 1 : Math.max(0, 1 - change / (frames - 1) / meanCells);
  const persistence = cellPixels === 0 ? 0 : persistentPixels / cellPixels;
  const cellCoverage = persistentPixels / (frames * plane);
  const countedComponents = components.length;
  const score = won === 0 ? 0 : (persistentPixels / won) * countStability * Math.log1p(100 * cellCoverage);
  return {
    index,
    coverage: won / binary.data.length,
    componentsPerFrame: countedComponents / frames,
    cellLikePerFrame: meanCells,
    cellLikeFraction: won === 0 ? 0 : cellPixels / won,
    meanCellArea: cellCount === 0 ? 0 : cellPixels / cellCount,
    persistence,
    trajectoryFraction: cellPixels === 0 ? 0 : trajectoryFrames / cellPixels / frames,
    countStability,
    cellCoverage,
    cleaning: { erosions, minArea },
    score,
  };
}

/** The maps ranked by score, best first, and how clearly the best one wins. */
export interface MapRanking {
  /** Map indices, best score first; maps scoring 0 last. */
  readonly order: readonly number[];
  /** (best - second) / best, 0..1: 1 when no other map looks like cells at all. */
  readonly margin: number;
  /** Whether the margin is too small to trust the automatic choice blindly. */
  readonly confident: boolean;
}

export function rankFeatureMaps(scores: readonly FeatureMapScore[]): MapRanking {
  const order = [...scores].sort((a, b) => b.score - a.score || a.index - b.index).map((s) => s.index);
  const first = scores.find((s) => s.index === order[0])?.score ?? 0;
  const second = scores.find((s) => s.index === order[1])?.score ?? 0;
  const margin = first > 0 ? (first - second) / first : 0;
  return { order, margin, confident: margin >= CONFIDENT_MARGIN };
}

/** The index of the best-scoring map, or the user's override after checking it exists. */
export function chooseNormalCellMap(scores: readonly FeatureMapScore[], override?: number): number {
  if (override !== undefined) {
    if (!Number.isInteger(override) || override < 0 || override >= scores.length) {
      throw new InvalidInputError(`normal-cell map ${override} does not exist: M1 has maps 0..${scores.length - 1}`);
    }
    return override;
  }
  const best = rankFeatureMaps(scores).order[0] ?? 0;
  if ((scores.find((s) => s.index === best)?.score ?? 0) <= 0) {
    throw new InvalidInputError(
      'no M1 feature map holds separate round cells that persist from frame to frame: train M1 longer (--m1-iterations), check the downscale (--factor) or choose the map with --normal-map',
    );
  }
  return best;
}

/** How the chosen map becomes y_t. */
export interface NormalCellMapCleaning {
  /** Erosions with the 4-neighbourhood (paper III.C: one). Default 1. */
  readonly erosions?: number;
  /**
   * 2D components smaller than this many pixels, after the erosions, are dropped as noise
   * (default 0: none, as the paper). For cells only a few pixels across, erosion would cut the
   * interiors to fragments; no erosion and a minimum area remove the noise instead.
   */
  readonly minArea?: number;
  /**
   * Trajectories (2D components linked where they overlap in consecutive frames) present in
   * fewer than this many frames are dropped (default 0: none, as the paper): specks that blink
   * into the map for a frame are noise in time, as sub-cell specks are noise in space, and M2
   * would otherwise learn that a vanishing object is as often noise as a cell event.
   */
  readonly minFrames?: number;
}

/**
 * y_t (paper III.C): the chosen map binarised (every pixel it wins becomes 1) and eroded with the
 * 4-neighbourhood to remove noise and split touching cells; optionally, the specks left smaller
 * than `minArea` are removed.
 */
export function normalCellMapFrom(winner: Volume<Uint8Array>, index: number, cleaning: NormalCellMapCleaning = {}): Volume<Uint8Array> {
  const erosions = cleaning.erosions ?? 1;
  const minArea = cleaning.minArea ?? 0;
  const minFrames = cleaning.minFrames ?? 0;
  if (!Number.isInteger(minFrames) || minFrames < 0) throw new InvalidInputError(`the minimum trajectory length must be a whole number of frames >= 0, got ${minFrames}`);
  if (!Number.isInteger(erosions) || erosions < 0) throw new InvalidInputError(`erosions must be a whole number >= 0, got ${erosions}`);
  if (!Number.isInteger(minArea) || minArea < 0) throw new InvalidInputError(`the minimum area must be a whole number of pixels >= 0, got ${minArea}`);
  const mask = new Uint8Array(winner.data.length);
  for (let i = 0; i < mask.length; i++) mask[i] = winner.data[i] === index ? 1 : 0;
  const binary = { ...winner, data: mask };
  const eroded = erosions > 0 ? erode(binary, cross2d(), { iterations: erosions }) : binary;
  const specksRemoved = minArea > 1 ? dropComponents(eroded, 'frame-4', (c) => c.size < minArea) : eroded;
  return minFrames > 1 ? dropComponents(specksRemoved, 'overlap-4', (c) => c.temporalLength < minFrames) : specksRemoved;
}

/** The map without the components `drop` selects. */
function dropComponents(map: Volume<Uint8Array>, connectivity: 'frame-4' | 'overlap-4', drop: (c: Component) => boolean): Volume<Uint8Array> {
  const { labels, components } = connectedComponents(map, { connectivity });
  const dropped = new Uint8Array(components.length + 1);
  for (const c of components) if (drop(c)) dropped[c.label] = 1;
  const data = new Uint8Array(map.data.length);
  for (let i = 0; i < data.length; i++) {
    const label = labels.data[i] ?? 0;
    data[i] = label > 0 && dropped[label] === 0 ? 1 : 0;
  }
  return { ...map, data };
}
