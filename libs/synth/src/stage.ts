import type { ResolvedSynthOptions } from './options';

const { abs, ceil } = Math;

/**
 * The dish a drifting stage sweeps: the frame plus the drift's whole travel, so every cell and
 * speck the view ever shows exists from the first frame. Without drift it is the frame.
 */
export function dishSize(o: ResolvedSynthOptions): { width: number; height: number } {
  return {
    width: o.width + ceil(abs(o.drift.x) * (o.frames - 1)),
    height: o.height + ceil(abs(o.drift.y) * (o.frames - 1)),
  };
}

/**
 * Where the frame's top-left corner lies in the dish in 0-based frame t: it moves against the
 * drift, so the content moves by `drift` px per frame in the image.
 */
export function viewOrigin(o: ResolvedSynthOptions, t: number): { x: number; y: number } {
  const dish = dishSize(o);
  const x0 = o.drift.x > 0 ? dish.width - o.width : 0;
  const y0 = o.drift.y > 0 ? dish.height - o.height : 0;
  return { x: x0 - o.drift.x * t, y: y0 - o.drift.y * t };
}

export function hasDrift(o: ResolvedSynthOptions): boolean {
  return o.drift.x !== 0 || o.drift.y !== 0;
}
