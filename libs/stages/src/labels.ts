import type { MitosisPoint } from '@mitosis/scoring';
import { toDownscaledPixels } from '@mitosis/video';
import type { Volume } from '@mitosis/volume';
import { cross3d, dilate } from '@mitosis/volume';

/** Where a stored sequence sits in the original video. */
export interface SequenceGrid {
  /** 1-based number, in the whole video, of frame 0 of the sequence. */
  readonly firstFrame: number;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  /** Downscale factor from original pixels to the sequence's pixels. */
  readonly factor: number;
}

export interface LabelOptions {
  /** Dilations of each annotated pixel in space and time (paper III.G: three). */
  readonly dilations?: number;
}

/**
 * M3's labels (paper III.G): each annotated mitosis (t, x, y) becomes one voxel of the downscaled
 * sequence, then the whole volume is dilated `dilations` times with the 6-neighbourhood (the
 * default element of binary dilation), giving a small octahedron of radius 3 in space and time
 * around the point where the daughter cells separate. Points outside the sequence are ignored:
 * callers check annotations against the video first.
 */
export function buildMitosisLabels(points: readonly MitosisPoint[], grid: SequenceGrid, options: LabelOptions = {}): Volume<Uint8Array> {
  const { frames, height, width } = grid;
  const seeds = new Uint8Array(frames * height * width);
  for (const point of points) {
    const t = Math.round(point.frame) - grid.firstFrame;
    if (t < 0 || t >= frames) continue;
    const p = toDownscaledPixels({ x: point.x, y: point.y }, grid.factor);
    const x = Math.min(width - 1, Math.max(0, Math.round(p.x)));
    const y = Math.min(height - 1, Math.max(0, Math.round(p.y)));
    seeds[(t * height + y) * width + x] = 1;
  }
  const volume = { data: seeds, frames, height, width };
  return dilate(volume, cross3d(), { iterations: options.dilations ?? 3 });
}
