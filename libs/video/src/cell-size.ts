import { InvalidInputError } from '@mitosis/core';
import type { Volume, VoxelArray } from '@mitosis/volume';

/** How big the cells of a video are, measured on its raw frames before any downscale. */
export interface CellSizeEstimate {
  /** Equivalent radius of a cell in original pixels. */
  readonly radius: number;
  /** The scale-normalised blob energy at each tried radius (original pixels), for reports. */
  readonly profile: readonly { readonly radius: number; readonly energy: number }[];
  /** Frames (0-based, of the volume given) the estimate was measured on. */
  readonly frames: readonly number[];
}

export interface CellSizeOptions {
  /** Frames sampled evenly over the video. Default 5. */
  readonly sampleFrames?: number;
  /** Smallest and largest radius tried, original pixels. Defaults 2 and 64. */
  readonly minRadius?: number;
  readonly maxRadius?: number;
}

/**
 * The characteristic radius of the blobs in the frames: the scale at which the scale-normalised
 * Laplacian of Gaussian has the most energy, mean of (sigma^2 LoG * I)^2 over the frame
 * (Lindeberg's scale selection; a disc of radius r peaks near sigma = r / sqrt(2)). Phase
 * contrast cells are dark or bright discs with a halo, so the peak follows the cell, and it is
 * measured before M1 so that the downscale factor can follow it. Blurs are three box passes
 * (a Gaussian to within a few percent) so the cost does not grow with the radius.
 */
export function estimateCellSize(volume: Volume<VoxelArray>, options: CellSizeOptions = {}): CellSizeEstimate {
  const { frames, height, width } = volume;
  if (frames < 1 || height < 8 || width < 8) throw new InvalidInputError(`cannot measure cell size on a ${frames}x${height}x${width} video`);
  const samples = Math.min(frames, Math.max(1, options.sampleFrames ?? 5));
  const minRadius = options.minRadius ?? 2;
  const maxRadius = Math.min(options.maxRadius ?? 64, Math.min(height, width) / 4);
  const picked: number[] = [];
  for (let s = 0; s < samples; s++) picked.push(Math.floor(((s + 0.5) * frames) / samples));
  // Radii under 5 px are blurred by true Gaussian kernels on the full plane; larger ones by
  // three boxes on a plane averaged by a factor that keeps the box half-width >= 3, so that the
  // integer box widths still resolve scales 2^(1/4) apart at a cost that does not grow with the
  // radius. The radius reported is the one the blur realises, not the one asked.
  const scales: { radius: number; pre: number; half: number; sigma: number }[] = [];
  for (let r = minRadius; r <= maxRadius * 1.0001; r *= 2 ** 0.25) {
    const sigma = r / Math.SQRT2;
    if (sigma < 3.5) {
      scales.push({ radius: r, pre: 1, half: 0, sigma });
      continue;
    }
    const pre = Math.max(1, Math.floor(sigma / 3.5));
    const half = Math.max(1, Math.round((Math.sqrt((4 * sigma * sigma) / (pre * pre) + 1) - 1) / 2));
    const realised = Math.sqrt(half * (half + 1)) * pre;
    const last = scales[scales.length - 1];
    if (last && realised * Math.SQRT2 <= last.radius * 1.05) continue;
    scales.push({ radius: realised * Math.SQRT2, pre, half, sigma: realised / pre });
  }
  const energy = new Float64Array(scales.length);
  for (const t of picked) {
    const planes = new Map<number, Plane>();
    const full = averagedPlane(volume, t, 1);
    standardise(full.data);
    scales.forEach((scale, i) => {
      let plane = planes.get(scale.pre);
      if (!plane) {
        plane = scale.pre === 1 ? full : averagedPlane({ ...full, frames: 1 }, 0, scale.pre);
        planes.set(scale.pre, plane);
      }
      const blurred = scale.half > 0 ? gaussianByBoxes(plane, scale.half) : gaussian(plane, scale.sigma);
      energy[i] = (energy[i] ?? 0) + normalisedLogEnergy(plane, blurred, scale.sigma) / picked.length;
    });
  }
  let best = 0;
  for (let i = 1; i < scales.length; i++) if ((energy[i] ?? 0) > (energy[best] ?? 0)) best = i;
  // Parabolic refinement of the peak on the log-radius axis.
  let radius = scales[best]?.radius ?? minRadius;
  const before = scales[best - 1];
  const after = scales[best + 1];
  if (before && after) {
    const [x0, x1, x2] = [Math.log(before.radius), Math.log(radius), Math.log(after.radius)];
    const [y0, y1, y2] = [energy[best - 1] ?? 0, energy[best] ?? 0, energy[best + 1] ?? 0];
    const denominator = (x0 - x1) * (x0 - x2) * (x1 - x2);
    const a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denominator;
    const b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / denominator;
    if (a < 0) radius = Math.exp(Math.min(x2, Math.max(x0, -b / (2 * a))));
  }
  return { radius, profile: scales.map((s, i) => ({ radius: s.radius, energy: energy[i] ?? 0 })), frames: picked };
}

interface Plane {
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
}

function averagedPlane(volume: Volume<VoxelArray> | (Plane & { frames: number }), t: number, factor: number): Plane {
  const height = Math.floor(volume.height / factor);
  const width = Math.floor(volume.width / factor);
  const data = new Float32Array(height * width);
  const base = t * volume.height * volume.width;
  for (let y = 0; y < height * factor; y++) {
    const row = base + y * volume.width;
    const outRow = Math.floor(y / factor) * width;
    for (let x = 0; x < width * factor; x++) data[outRow + Math.floor(x / factor)] += volume.data[row + x] ?? 0;
  }
  const n = factor * factor;
  for (let i = 0; i < data.length; i++) data[i] = (data[i] ?? 0) / n;
  return { data, height, width };
}

function standardise(data: Float32Array): void {
  let sum = 0;
  for (const v of data) sum += v;
  const mean = sum / data.length;
  let sq = 0;
  for (const v of data) sq += (v - mean) * (v - mean);
  const sd = Math.sqrt(sq / data.length) || 1;
  for (let i = 0; i < data.length; i++) data[i] = ((data[i] ?? 0) - mean) / sd;
}

/** Mean of (sigma^2 Laplacian of the blurred plane)^2 away from the borders (sigma in the plane's pixels). */
function normalisedLogEnergy(plane: Plane, blurred: Float32Array, sigma: number): number {
  const { height, width } = plane;
  const s2 = sigma * sigma;
  const margin = Math.min(Math.ceil(2 * sigma) + 1, Math.floor(Math.min(height, width) / 4));
  let sum = 0;
  let n = 0;
  for (let y = margin; y < height - margin; y++) {
    for (let x = margin; x < width - margin; x++) {
      const i = y * width + x;
      const lap = (blurred[i - 1] ?? 0) + (blurred[i + 1] ?? 0) + (blurred[i - width] ?? 0) + (blurred[i + width] ?? 0) - 4 * (blurred[i] ?? 0);
      sum += s2 * s2 * lap * lap;
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

/** A separable Gaussian blur of sd `sigma`, kernel cut at 3 sigma, borders clamped. */
function gaussian(plane: Plane, sigma: number): Float32Array {
  const radius = Math.ceil(3 * sigma);
  const kernel = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let k = -radius; k <= radius; k++) total += kernel[k + radius] = Math.exp(-(k * k) / (2 * sigma * sigma));
  for (let k = 0; k < kernel.length; k++) kernel[k] = (kernel[k] ?? 0) / total;
  const { height, width, data } = plane;
  const rows = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += (kernel[k + radius] ?? 0) * (data[y * width + Math.min(width - 1, Math.max(0, x + k))] ?? 0);
      rows[y * width + x] = sum;
    }
  }
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += (kernel[k + radius] ?? 0) * (rows[Math.min(height - 1, Math.max(0, y + k)) * width + x] ?? 0);
      out[y * width + x] = sum;
    }
  }
  return out;
}

/** Three box blurs of half-width h on each axis: a Gaussian of variance h (h + 1) (Wells 1986). */
function gaussianByBoxes(plane: Plane, half: number): Float32Array {
  const a = Float32Array.from(plane.data);
  const b = new Float32Array(a.length);
  for (let pass = 0; pass < 3; pass++) {
    boxRows(a, b, plane.height, plane.width, half);
    boxColumns(b, a, plane.height, plane.width, half);
  }
  return a;
}

function boxRows(src: Float32Array, dst: Float32Array, height: number, width: number, half: number): void {
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let sum = 0;
    let count = 0;
    for (let x = 0; x <= Math.min(half, width - 1); x++) {
      sum += src[row + x] ?? 0;
      count++;
    }
    for (let x = 0; x < width; x++) {
      dst[row + x] = sum / count;
      const enter = x + half + 1;
      const leave = x - half;
      if (enter < width) {
        sum += src[row + enter] ?? 0;
        count++;
      }
      if (leave >= 0) {
        sum -= src[row + leave] ?? 0;
        count--;
      }
    }
  }
}

function boxColumns(src: Float32Array, dst: Float32Array, height: number, width: number, half: number): void {
  const sums = new Float64Array(width);
  let count = 0;
  for (let y = 0; y <= Math.min(half, height - 1); y++) {
    for (let x = 0; x < width; x++) sums[x] = (sums[x] ?? 0) + (src[y * width + x] ?? 0);
    count++;
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) dst[y * width + x] = (sums[x] ?? 0) / count;
    const enter = y + half + 1;
    const leave = y - half;
    if (enter < height) {
      for (let x = 0; x < width; x++) sums[x] = (sums[x] ?? 0) + (src[enter * width + x] ?? 0);
      count++;
    }
    if (leave >= 0) {
      for (let x = 0; x < width; x++) sums[x] = (sums[x] ?? 0) - (src[leave * width + x] ?? 0);
      count--;
    }
  }
}

/** The largest downscale the method uses (paper III.B: 4). */
export const MAX_DOWNSCALE_FACTOR = 4;

/**
 * The measured radius (pixels) cells have after downscaling in the paper's own setting: CeTReS.B at
 * its factor 4, where the method is known to work. A factor is chosen to come closest to it.
 */
export const TARGET_DOWNSCALED_CELL_RADIUS = 1.5;

/**
 * The downscale factor for cells of this radius (original pixels): of 1 to the paper's 4, the one
 * that brings the downscaled radius closest (in ratio) to the paper's working point. Nearest rather
 * than "the largest leaving at least 1.5 px": the radius measured on different frame ranges of one
 * video varies by about a tenth, and CeTReS.B itself sits at that bound, where a floor flips between
 * 3 and 4 with the frames given.
 */
export function chooseDownscaleFactor(cellRadius: number): number {
  if (!(cellRadius > 0)) throw new InvalidInputError(`cell radius ${cellRadius} is not a positive number of pixels`);
  let best = 1;
  for (let factor = 2; factor <= MAX_DOWNSCALE_FACTOR; factor++) {
    const miss = (f: number): number => Math.abs(Math.log(cellRadius / f / TARGET_DOWNSCALED_CELL_RADIUS));
    if (miss(factor) < miss(best)) best = factor;
  }
  return best;
}
