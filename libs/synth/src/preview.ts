import { InvalidInputError } from '@mitosis/core';
import type { Volume } from '@mitosis/volume';
import type { MitosisAnnotation } from './simulate';

// Math's members as module constants: global lookups in hot loops are slow under Jest's vm context.
const { abs, ceil, floor, hypot, max, min, round } = Math;

/** An interleaved 8-bit RGB image. */
export interface RgbImage {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** The 1-based frames shown, left to right. */
  readonly frames: readonly number[];
}

export interface PreviewOptions {
  /** How many frames side by side [6, fewer if the video is shorter]. */
  readonly panels?: number;
  /** A mitosis is ringed in a panel when its annotated frame is within this many frames of it [2]. */
  readonly window?: number;
  /** Ring radius in pixels [16]. */
  readonly ringRadius?: number;
}

const gap = 4;
/** Ring colours: exactly this frame, and a nearby frame. */
const exactColour = [40, 230, 60] as const;
const nearColour = [250, 170, 20] as const;

/** Evenly spaced 1-based frames from the first to the last. */
export function previewFrames(frames: number, panels: number): number[] {
  const n = min(panels, frames);
  if (n === 1) return [1];
  return Array.from({ length: n }, (_, i) => 1 + round((i * (frames - 1)) / (n - 1)));
}

/**
 * A strip of evenly spaced frames side by side (4 px apart) in RGB, each mitosis annotated in the
 * shown frame ringed in green, those annotated within `window` frames of it in orange: a glance
 * at what the video and its ground truth look like.
 */
export function renderPreview(volume: Volume<Uint8Array | Uint16Array>, bitDepth: 8 | 16, mitoses: readonly MitosisAnnotation[], options: PreviewOptions = {}): RgbImage {
  const panels = options.panels ?? 6;
  const window = options.window ?? 2;
  const ringRadius = options.ringRadius ?? 16;
  if (!Number.isInteger(panels) || panels < 1) throw new InvalidInputError(`preview: panels must be a positive integer, got ${panels}`);
  if (volume.frames < 1) throw new InvalidInputError('preview: the video has no frame');
  const { width: W, height: H } = volume;
  const shown = previewFrames(volume.frames, panels);
  const width = shown.length * W + (shown.length - 1) * gap;
  const rgb = new Uint8Array(width * H * 3).fill(16);
  const scale = bitDepth === 16 ? 1 / 257 : 1;
  shown.forEach((frame, i) => {
    const left = i * (W + gap);
    const src = (frame - 1) * W * H;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const g = round(volume.data[src + y * W + x] * scale);
        const o = (y * width + left + x) * 3;
        rgb[o] = rgb[o + 1] = rgb[o + 2] = g;
      }
    }
    for (const m of mitoses) {
      const dt = abs(m.frame - frame);
      if (dt > window) continue;
      const colour = dt === 0 ? exactColour : nearColour;
      // A ring 1.5 px thick, clipped to this panel.
      for (let y = max(0, floor(m.y - ringRadius - 2)); y <= min(H - 1, ceil(m.y + ringRadius + 2)); y++) {
        for (let x = max(0, floor(m.x - ringRadius - 2)); x <= min(W - 1, ceil(m.x + ringRadius + 2)); x++) {
          if (abs(hypot(x - m.x, y - m.y) - ringRadius) > 0.75) continue;
          const o = (y * width + left + x) * 3;
          rgb[o] = colour[0];
          rgb[o + 1] = colour[1];
          rgb[o + 2] = colour[2];
        }
      }
    }
  });
  return { rgb, width, height: H, frames: shown };
}
