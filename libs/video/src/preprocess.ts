import { InvalidInputError } from '@mitosis/core';
import type { Volume, VoxelArray } from '@mitosis/volume';
import type { RawVideo } from './read-video';

/** The paper's working resolution: frames downscaled by 4 (SPEC step 1, 1040x1392 -> 260x348). */
export const DEFAULT_DOWNSCALE_FACTOR = 4;

/** A video ready for M1/M2/M3: intensities in [0,1] at the downscaled size, plus what maps it back. */
export interface PreprocessedVideo {
  readonly volume: Volume<Float32Array>;
  readonly factor: number;
  readonly originalWidth: number;
  readonly originalHeight: number;
  readonly bitDepth: 8 | 16;
  /** 1-based number, in the whole video, of volume frame 0. */
  readonly firstFrame: number;
  /** Whether the illumination was flattened (PreprocessOptions.flatField). */
  readonly flatField: boolean;
}

export interface PixelPoint {
  readonly x: number;
  readonly y: number;
}

function minMax(data: VoxelArray): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/**
 * The affine map of the linear rescale: value -> (value - low) * scale. A constant video has no
 * contrast to stretch; it maps to all zeros rather than dividing by zero (no NaN downstream).
 */
function rescaleOf(data: VoxelArray, clipPercent = 0): { offset: number; scale: number } {
  const { min, max } = clipPercent > 0 && (data instanceof Uint8Array || data instanceof Uint16Array) ? percentileRange(data, clipPercent) : minMax(data);
  if (!(max > min)) return { offset: Number.isFinite(min) ? min : 0, scale: 0 };
  return { offset: min, scale: 1 / (max - min) };
}

/**
 * The values at ranks floor(p% of n) and ceil((100-p)% of n) - 1 of the sorted grey levels, from a
 * histogram (grey levels are integers, so this is exact and one pass). For fewer than 100/p
 * values these are the minimum and maximum.
 */
function percentileRange(data: Uint8Array | Uint16Array, clipPercent: number): { min: number; max: number } {
  if (data.length === 0) return { min: Infinity, max: -Infinity };
  const histogram = new Float64Array(data instanceof Uint8Array ? 256 : 65536);
  for (let i = 0; i < data.length; i++) histogram[data[i] ?? 0] += 1;
  const lowRank = Math.floor((clipPercent / 100) * data.length);
  const highRank = Math.max(lowRank, Math.ceil(((100 - clipPercent) / 100) * data.length) - 1);
  const valueAt = (rank: number): number => {
    let seen = 0;
    for (let v = 0; v < histogram.length; v++) {
      seen += histogram[v] ?? 0;
      if (seen > rank) return v;
    }
    return histogram.length - 1;
  };
  return { min: valueAt(lowRank), max: valueAt(highRank) };
}

/**
 * Linear rescale of intensities to [0,1] over the minimum and maximum of all the frames given
 * (SPEC step 1). One min/max for the whole sequence, not per frame, so that a frame that is
 * brighter stays brighter: M2 reads changes over time.
 */
export function normalizeIntensities(volume: Volume<VoxelArray>): Volume<Float32Array> {
  const { offset, scale } = rescaleOf(volume.data);
  const out = new Float32Array(volume.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (volume.data[i] - offset) * scale;
  return { data: out, frames: volume.frames, height: volume.height, width: volume.width };
}

/** The size after downscaling by `factor`; the rows and columns that do not fill a block are dropped. */
export function downscaledSize(width: number, height: number, factor: number): { width: number; height: number } {
  if (!Number.isInteger(factor) || factor < 1) throw new InvalidInputError(`downscale factor ${factor} is not a positive integer`);
  const size = { width: Math.floor(width / factor), height: Math.floor(height / factor) };
  if (size.width < 1 || size.height < 1) {
    throw new InvalidInputError(`a ${width}x${height} frame is smaller than one ${factor}x${factor} block: downscale factor too large`);
  }
  return size;
}

/**
 * Area averaging by an integer factor, with value -> (value - offset) * scale applied to each
 * block mean. Because the rescale is affine it commutes with averaging, so rescaling after
 * averaging equals averaging rescaled frames, without a full-resolution float copy of the video.
 */
function downscaleAffine(volume: Volume<VoxelArray>, factor: number, offset: number, scale: number): Volume<Float32Array> {
  const { width: outWidth, height: outHeight } = downscaledSize(volume.width, volume.height, factor);
  const { data, frames, height, width } = volume;
  const out = new Float32Array(frames * outHeight * outWidth);
  const rowSums = new Float64Array(outWidth);
  const perBlock = scale / (factor * factor);
  for (let t = 0; t < frames; t++) {
    for (let by = 0; by < outHeight; by++) {
      rowSums.fill(0);
      for (let dy = 0; dy < factor; dy++) {
        const row = (t * height + by * factor + dy) * width;
        for (let bx = 0; bx < outWidth; bx++) {
          let sum = 0;
          const start = row + bx * factor;
          for (let dx = 0; dx < factor; dx++) sum += data[start + dx];
          rowSums[bx] += sum;
        }
      }
      const outRow = (t * outHeight + by) * outWidth;
      for (let bx = 0; bx < outWidth; bx++) out[outRow + bx] = rowSums[bx] * perBlock - offset * scale;
    }
  }
  return { data: out, frames, height: outHeight, width: outWidth };
}

/**
 * Downscales every frame by an integer factor, each output pixel the mean of a factor x factor
 * block (area averaging keeps the mean intensity and avoids aliasing small bright cells away).
 * The remainder rows and columns are dropped: 1376x1038 by 4 gives 344x259.
 */
export function downscale(volume: Volume<Float32Array>, factor: number): Volume<Float32Array> {
  return downscaleAffine(volume, factor, 0, 1);
}

/**
 * Share of the grey levels clipped at each end by the linear rescale (percent). The minimum and
 * maximum of CeTReS frames are set by a few saturated halo pixels: rescaled over them, 99% of the
 * pixels fall in [0.09, 0.23] and M1 learns a single map (background); between the 0.5th and
 * 99.5th percentiles it learns interiors, edges and background as in the paper's Fig. 7.
 */
export const DEFAULT_CLIP_PERCENT = 0.5;

export interface PreprocessOptions {
  /** Downscale factor (default 4). */
  readonly factor?: number;
  /** Percent clipped at each end of the grey levels before the linear rescale (default 0.5; 0 = min/max). */
  readonly clipPercent?: number;
  /**
   * Flat-field correction before the rescale (see flattenIllumination): true (default) with its
   * default scale, a number for the Gaussian's sd in downscaled pixels, false for none (the
   * paper's plain rescale).
   */
  readonly flatField?: boolean | number;
}

/** The flat-field background's Gaussian sd by default: an eighth of the shorter downscaled side. */
export function defaultFlatFieldSigma(width: number, height: number): number {
  return Math.max(2, Math.min(width, height) / 8);
}

/**
 * Uneven illumination, corrected as microscopists do with a flat field, estimated from the video
 * itself: the mean of all frames (cells move, the lamp and optics do not), blurred by a Gaussian
 * of sd `sigma` pixels (several cells wide, so what remains is the illumination, not the cells),
 * divides every frame, times its own mean so the grey levels keep their scale. Why: with a
 * shading of +-5% across the field (our synthetic videos' default, and common on real plates),
 * M1 spent two of its maps on the bright and the dark half of the background and broke the cells'
 * interiors into fragments; flattened, it finds interiors, edges, background and blank maps as in
 * the paper's Fig. 7. In place on `volume` (positive intensities).
 */
export function flattenIllumination(volume: Volume<Float32Array>, sigma: number): void {
  const { data, frames, height, width } = volume;
  if (!(sigma > 0)) throw new InvalidInputError(`flat-field sd ${sigma} must be a positive number of pixels`);
  const plane = height * width;
  if (frames === 0 || plane === 0) return;
  const background = new Float64Array(plane);
  for (let t = 0; t < frames; t++) {
    const at = t * plane;
    for (let i = 0; i < plane; i++) background[i] += data[at + i] ?? 0;
  }
  for (let i = 0; i < plane; i++) background[i] = (background[i] ?? 0) / frames;
  // Three box blurs of width w approximate a Gaussian of variance 3 (w^2 - 1) / 12.
  const radius = Math.max(1, Math.round((Math.sqrt(4 * sigma * sigma + 1) - 1) / 2));
  for (let pass = 0; pass < 3; pass++) {
    boxBlurRows(background, height, width, radius);
    boxBlurColumns(background, height, width, radius);
  }
  let mean = 0;
  for (let i = 0; i < plane; i++) mean += background[i] ?? 0;
  mean /= plane;
  const gain = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    const b = background[i] ?? 0;
    gain[i] = b > 1e-6 * mean ? mean / b : 1;
  }
  for (let t = 0; t < frames; t++) {
    const at = t * plane;
    for (let i = 0; i < plane; i++) data[at + i] = (data[at + i] ?? 0) * (gain[i] ?? 1);
  }
}

/** Running mean over 2r+1 pixels along each row, the edge pixels repeated beyond the border. */
function boxBlurRows(image: Float64Array, height: number, width: number, r: number): void {
  const row = new Float64Array(width);
  const n = 2 * r + 1;
  for (let y = 0; y < height; y++) {
    const at = y * width;
    for (let x = 0; x < width; x++) row[x] = image[at + x] ?? 0;
    const pick = (x: number): number => row[x < 0 ? 0 : x >= width ? width - 1 : x] ?? 0;
    let sum = 0;
    for (let k = -r; k <= r; k++) sum += pick(k);
    for (let x = 0; x < width; x++) {
      image[at + x] = sum / n;
      sum += pick(x + r + 1) - pick(x - r);
    }
  }
}

function boxBlurColumns(image: Float64Array, height: number, width: number, r: number): void {
  const column = new Float64Array(height);
  const n = 2 * r + 1;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) column[y] = image[y * width + x] ?? 0;
    const pick = (y: number): number => column[y < 0 ? 0 : y >= height ? height - 1 : y] ?? 0;
    let sum = 0;
    for (let k = -r; k <= r; k++) sum += pick(k);
    for (let y = 0; y < height; y++) {
      image[y * width + x] = sum / n;
      sum += pick(y + r + 1) - pick(y - r);
    }
  }
}

/**
 * SPEC step 1: rescale intensities linearly to [0,1] over the frames read, then downscale by
 * `factor` (4 by default), keeping the original size so detections can be reported in original
 * pixels. The rescale runs between robust percentiles (see DEFAULT_CLIP_PERCENT), clipping the
 * few values beyond them, of the full-resolution grey levels. By default the illumination is
 * flattened first (flattenIllumination, a documented addition to the paper's preprocessing), on
 * the downscaled frames; `flatField: false` is the paper's plain rescale.
 */
export function preprocessVideo(raw: RawVideo, options: PreprocessOptions = {}): PreprocessedVideo {
  const factor = options.factor ?? DEFAULT_DOWNSCALE_FACTOR;
  const clipPercent = options.clipPercent ?? DEFAULT_CLIP_PERCENT;
  if (!(clipPercent >= 0 && clipPercent < 50)) throw new InvalidInputError(`clip percent ${clipPercent} is not in [0, 50)`);
  const flatField = options.flatField ?? true;
  const { offset, scale } = rescaleOf(raw.volume.data, clipPercent);
  let volume: Volume<Float32Array>;
  if (flatField === false) {
    volume = downscaleAffine(raw.volume, factor, offset, scale);
  } else {
    // Flattened at the working size (the background is smooth) in grey levels, then the same
    // rescale as without: the flat field moves levels by a few percent, not the contrast.
    volume = downscaleAffine(raw.volume, factor, 0, 1);
    flattenIllumination(volume, flatField === true ? defaultFlatFieldSigma(volume.width, volume.height) : flatField);
    for (let i = 0; i < volume.data.length; i++) volume.data[i] = ((volume.data[i] ?? 0) - offset) * scale;
  }
  // Rounding may leave a block mean a hair outside [0,1]; clamp so the range is exact.
  for (let i = 0; i < volume.data.length; i++) volume.data[i] = Math.min(1, Math.max(0, volume.data[i]));
  return {
    volume,
    factor,
    originalWidth: raw.volume.width,
    originalHeight: raw.volume.height,
    bitDepth: raw.bitDepth,
    firstFrame: raw.firstFrame ?? 1,
    flatField: flatField !== false,
  };
}

/**
 * Downscaled pixel -> original pixel: the centre of its block. Downscaled pixel x covers original
 * columns x*factor .. x*factor+factor-1, whose centre is x*factor + (factor-1)/2; fractional
 * positions (centres of mass of detections) map the same way.
 */
export function toOriginalPixels(point: PixelPoint, factor: number): PixelPoint {
  const half = (factor - 1) / 2;
  return { x: point.x * factor + half, y: point.y * factor + half };
}

/**
 * Original pixel -> downscaled pixel, the exact inverse of toOriginalPixels (so it may be
 * fractional or slightly negative at the border); Math.round gives the block that holds it.
 */
export function toDownscaledPixels(point: PixelPoint, factor: number): PixelPoint {
  const half = (factor - 1) / 2;
  return { x: (point.x - half) / factor, y: (point.y - half) / factor };
}

/** [0,1] floats -> 0..255 bytes for images people look at; out-of-range values clamp, NaN is 0. */
export function floatToUint8(frame: Float32Array): Uint8Array {
  const out = new Uint8Array(frame.length);
  for (let i = 0; i < frame.length; i++) {
    const v = frame[i];
    out[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
  }
  return out;
}
