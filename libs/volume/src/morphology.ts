import { InvalidInputError } from '@mitosis/core';
import { assertVolume } from './shape';
import type { StructuringElement } from './structuring-element';
import type { Volume, VoxelArray } from './volume';

export interface MorphologyOptions {
  /**
   * How many times to apply the operation (default 1; 0 returns a binary copy). Paper III.G
   * dilates each annotated mitosis pixel "three times": `dilate(labels, cross3d(), { iterations: 3 })`.
   */
  readonly iterations?: number;
}

/**
 * Binary dilation: voxel p is set when some offset b of the element has p - b set in the input
 * (the Minkowski sum; for the symmetric built-in elements simply "some neighbour is set").
 *
 * Input voxels that are non-zero count as foreground; the result is a 0/1 Uint8Array volume of
 * the same shape. A 2D element (dims 2) works frame by frame; a 3D element reaches across
 * frames.
 *
 * Border convention: voxels outside the volume count as background (0). Dilation therefore never
 * pulls anything in from outside (it is simply cropped at the border), and erosion removes
 * foreground voxels whose element reaches past the border (scipy's `border_value=0`).
 */
export function dilate(volume: Volume<VoxelArray>, element: StructuringElement, options: MorphologyOptions = {}): Volume<Uint8Array> {
  return iterate(volume, element, options, 'dilate', dilateOnce);
}

/**
 * Binary erosion: voxel p stays set when p + b is set and inside the volume for every offset b
 * of the element. Same input, output and border convention as {@link dilate}: outside the volume
 * is background, so a foreground voxel whose element reaches past the border is removed (for a
 * 2D element only the in-plane borders matter; a 3D element also clears the first and last
 * frames, and all of a one-frame volume). Paper III.C erodes the binarised normal-cell map "for
 * noise removal": a 2D element there.
 */
export function erode(volume: Volume<VoxelArray>, element: StructuringElement, options: MorphologyOptions = {}): Volume<Uint8Array> {
  return iterate(volume, element, options, 'erode', erodeOnce);
}

/**
 * Dilation then erosion with the same element: fills holes and gaps smaller than the element.
 * It contains the input wherever the input keeps `iterations * radius` away from the border;
 * nearer, the erosion's border convention may remove voxels.
 */
export function closing(volume: Volume<VoxelArray>, element: StructuringElement, options: MorphologyOptions = {}): Volume<Uint8Array> {
  return erode(dilate(volume, element, options), element, options);
}

/** Erosion then dilation with the same element: removes specks smaller than the element. */
export function opening(volume: Volume<VoxelArray>, element: StructuringElement, options: MorphologyOptions = {}): Volume<Uint8Array> {
  return dilate(erode(volume, element, options), element, options);
}

/** The grid and element, flattened once per call so the per-voxel loops only index arrays. */
interface Plan {
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  readonly size: number;
  readonly dt: Int32Array;
  readonly dy: Int32Array;
  readonly dx: Int32Array;
  /** Linear offset of each element offset: (dt * height + dy) * width + dx. */
  readonly linear: Int32Array;
  readonly rt: number;
  readonly ry: number;
  readonly rx: number;
}

type Pass = (src: Uint8Array, dst: Uint8Array, plan: Plan) => void;

function iterate(volume: Volume<VoxelArray>, element: StructuringElement, options: MorphologyOptions, what: string, pass: Pass): Volume<Uint8Array> {
  assertVolume(volume, what);
  const iterations = options.iterations ?? 1;
  if (!Number.isInteger(iterations) || iterations < 0) {
    throw new InvalidInputError(`${what}: iterations must be a non-negative integer, got ${String(iterations)}`);
  }
  const { frames, height, width } = volume;
  const n = element.size;
  const plan: Plan = {
    frames,
    height,
    width,
    size: n,
    dt: new Int32Array(n),
    dy: new Int32Array(n),
    dx: new Int32Array(n),
    linear: new Int32Array(n),
    rt: element.radius.t,
    ry: element.radius.y,
    rx: element.radius.x,
  };
  for (let k = 0; k < n; k++) {
    const dt = element.offsets[3 * k];
    const dy = element.offsets[3 * k + 1];
    const dx = element.offsets[3 * k + 2];
    plan.dt[k] = dt;
    plan.dy[k] = dy;
    plan.dx[k] = dx;
    plan.linear[k] = (dt * height + dy) * width + dx;
  }
  // Normalise to 0/1 bytes once so the passes below stay monomorphic over Uint8Array.
  const length = volume.data.length;
  let src = new Uint8Array(length);
  const input = volume.data;
  for (let i = 0; i < length; i++) src[i] = input[i] !== 0 ? 1 : 0;
  let dst = new Uint8Array(iterations > 0 ? length : 0);
  for (let it = 0; it < iterations; it++) {
    dst.fill(0);
    pass(src, dst, plan);
    const swap = src;
    src = dst;
    dst = swap;
  }
  return { data: src, frames, height, width };
}

function dilateOnce(src: Uint8Array, dst: Uint8Array, plan: Plan): void {
  // Scatter from the foreground costs |foreground| x |element|; gathering into the background
  // costs at most |background| x |element| (with early exit). Take the cheaper bound, so sparse
  // label volumes (a few annotated pixels) and dense maps are both fast.
  let foreground = 0;
  for (let i = 0; i < src.length; i++) foreground += src[i];
  if (2 * foreground <= src.length) scatterDilate(src, dst, plan);
  else gatherDilate(src, dst, plan);
}

/** One pass over one row of the grid: `row` is the index of its first voxel, `rowInside` whether an element centred in it stays inside the volume in t and y. */
type RowPass = (src: Uint8Array, dst: Uint8Array, plan: Plan, row: number, t: number, y: number, rowInside: boolean) => void;

/** Runs `pass` on every row; the loop along a row is the pass's own, free of calls. */
function eachRow(pass: RowPass): Pass {
  return (src, dst, plan) => {
    const { frames, height, width, rt, ry } = plan;
    for (let t = 0; t < frames; t++) {
      const tInside = t >= rt && t + rt < frames;
      for (let y = 0; y < height; y++) pass(src, dst, plan, (t * height + y) * width, t, y, tInside && y >= ry && y + ry < height);
    }
  };
}

function inVolume(plan: Plan, t: number, y: number, x: number): boolean {
  return t >= 0 && t < plan.frames && y >= 0 && y < plan.height && x >= 0 && x < plan.width;
}

const scatterDilate = eachRow((src, dst, plan, row, t, y, rowInside) => {
  const { width, size, dt, dy, dx, linear, rx } = plan;
  for (let x = 0; x < width; x++) {
    const i = row + x;
    if (src[i] === 0) continue;
    if (rowInside && x >= rx && x + rx < width) {
      for (let k = 0; k < size; k++) dst[i + linear[k]] = 1;
    } else {
      for (let k = 0; k < size; k++) if (inVolume(plan, t + dt[k], y + dy[k], x + dx[k])) dst[i + linear[k]] = 1;
    }
  }
});

const gatherDilate = eachRow((src, dst, plan, row, t, y, rowInside) => {
  const { width, size, dt, dy, dx, linear, rx } = plan;
  for (let x = 0; x < width; x++) {
    const i = row + x;
    if (src[i] !== 0) {
      dst[i] = 1;
      continue;
    }
    let hit = 0;
    if (rowInside && x >= rx && x + rx < width) {
      for (let k = 0; k < size && hit === 0; k++) hit = src[i - linear[k]];
    } else {
      for (let k = 0; k < size && hit === 0; k++) if (inVolume(plan, t - dt[k], y - dy[k], x - dx[k])) hit = src[i - linear[k]];
    }
    dst[i] = hit;
  }
});

const erodeOnce = eachRow((src, dst, plan, row, t, y, rowInside) => {
  const { width, size, dt, dy, dx, linear, rx } = plan;
  for (let x = 0; x < width; x++) {
    const i = row + x;
    if (src[i] === 0) continue;
    let keep = 1;
    if (rowInside && x >= rx && x + rx < width) {
      for (let k = 0; k < size && keep !== 0; k++) keep = src[i + linear[k]];
    } else {
      // Outside the volume is background: an element reaching past the border erodes.
      for (let k = 0; k < size && keep !== 0; k++) keep = inVolume(plan, t + dt[k], y + dy[k], x + dx[k]) ? src[i + linear[k]] : 0;
    }
    dst[i] = keep;
  }
});
