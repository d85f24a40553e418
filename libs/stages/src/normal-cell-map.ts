import { InvalidInputError } from '@mitosis/core';
import type { Component, Volume } from '@mitosis/volume';
import { connectedComponents, cross2d, erode } from '@mitosis/volume';

/** How much one of M1's n feature maps looks like the interiors of separate, round cells. */
export interface FeatureMapScore {
  readonly index: number;
  /** Fraction of all pixels won by this map. */
  readonly coverage: number;
  /** 2D components per frame (of at least `minArea` pixels). */
  readonly componentsPerFrame: number;
  /** Components per frame that look like a cell interior (compact, round, cell-sized). */
  readonly cellLikePerFrame: number;
  /** Fraction of the map's pixels that lie in cell-like components. */
  readonly cellLikeFraction: number;
  readonly meanCellArea: number;
  readonly score: number;
}

export interface MapSelectionOptions {
  /** Components smaller than this (downscaled pixels) are noise, not cells. Default 4. */
  readonly minArea?: number;
  /** Largest cell interior as a fraction of the frame. Default 0.02. */
  readonly maxAreaFraction?: number;
  /** Smallest area / bounding-box area of a cell-like component (a disc has pi/4). Default 0.45. */
  readonly minExtent?: number;
  /** Smallest short/long side ratio of a cell-like component's bounding box. Default 0.35. */
  readonly minAspect?: number;
}

/**
 * Paper III.C picks y_t among the n maps "based on knowledge of the internal part of cells as
 * disconnected and round shaped objects", and section V describes the alternatives it must beat:
 * background (one huge component), cell edges (thin rings and arcs, whose area fills little of
 * their bounding box) and blank maps. We score each map by the fraction of its pixels lying in
 * compact, roughly round, cell-sized 2D components, times log(1 + such components per frame) so
 * that a map with one stray blob cannot win over a map holding the population.
 */
export function scoreFeatureMaps(winner: Volume<Uint8Array>, maps: number, options: MapSelectionOptions = {}): FeatureMapScore[] {
  const minArea = options.minArea ?? 4;
  const maxArea = (options.maxAreaFraction ?? 0.02) * winner.height * winner.width;
  const minExtent = options.minExtent ?? 0.45;
  const minAspect = options.minAspect ?? 0.35;
  const scores: FeatureMapScore[] = [];
  const total = winner.data.length;
  for (let index = 0; index < maps; index++) {
    const mask = new Uint8Array(total);
    let won = 0;
    for (let i = 0; i < total; i++) {
      if (winner.data[i] === index) {
        mask[i] = 1;
        won++;
      }
    }
    const { components } = connectedComponents({ ...winner, data: mask }, { connectivity: 'frame-4' });
    let counted = 0;
    let cellLike = 0;
    let cellPixels = 0;
    for (const c of components) {
      if (c.size < minArea) continue;
      counted++;
      const h = c.bbox.y1 - c.bbox.y0 + 1;
      const w = c.bbox.x1 - c.bbox.x0 + 1;
      const extent = c.size / (h * w);
      const aspect = Math.min(h, w) / Math.max(h, w);
      if (c.size <= maxArea && extent >= minExtent && aspect >= minAspect) {
        cellLike++;
        cellPixels += c.size;
      }
    }
    const cellLikeFraction = won === 0 ? 0 : cellPixels / won;
    const cellLikePerFrame = cellLike / winner.frames;
    scores.push({
      index,
      coverage: won / total,
      componentsPerFrame: counted / winner.frames,
      cellLikePerFrame,
      cellLikeFraction,
      meanCellArea: cellLike === 0 ? 0 : cellPixels / cellLike,
      score: cellLikeFraction * Math.log1p(cellLikePerFrame),
    });
  }
  return scores;
}

/** The index of the best-scoring map, or the user's override after checking it exists. */
export function chooseNormalCellMap(scores: readonly FeatureMapScore[], override?: number): number {
  if (override !== undefined) {
    if (!Number.isInteger(override) || override < 0 || override >= scores.length) {
      throw new InvalidInputError(`normal-cell map ${override} does not exist: M1 has maps 0..${scores.length - 1}`);
    }
    return override;
  }
  let best = 0;
  for (const s of scores) if (s.score > (scores[best]?.score ?? -1)) best = s.index;
  if ((scores[best]?.score ?? 0) <= 0) {
    throw new InvalidInputError('no M1 feature map looks like separate round cells: train M1 longer or choose the map with --normal-map');
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
