import { InvalidInputError } from '@mitosis/core';
import { allocLike, assertVolume } from './shape';
import type { Volume, VoxelArray } from './volume';

/** A box of a volume: start and extent on each axis. */
export interface CropBox {
  readonly t0: number;
  readonly frames: number;
  readonly y0: number;
  readonly height: number;
  readonly x0: number;
  readonly width: number;
}

function checkInteger(what: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidInputError(`${what}: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/**
 * A copy of the box `box` of `volume` (same array type). Throws InvalidInputError when the box
 * is not inside the volume. Used for training windows of k frames and spatial tiles.
 */
export function cropVolume<T extends VoxelArray>(volume: Volume<T>, box: CropBox): Volume<T> {
  assertVolume(volume, 'cropVolume');
  const { t0, frames, y0, height, x0, width } = box;
  checkInteger('cropVolume', 't0', t0, 0);
  checkInteger('cropVolume', 'y0', y0, 0);
  checkInteger('cropVolume', 'x0', x0, 0);
  checkInteger('cropVolume', 'frames', frames, 0);
  checkInteger('cropVolume', 'height', height, 0);
  checkInteger('cropVolume', 'width', width, 0);
  if (t0 + frames > volume.frames || y0 + height > volume.height || x0 + width > volume.width) {
    throw new InvalidInputError(`cropVolume: box t ${t0}+${frames}, y ${y0}+${height}, x ${x0}+${width} exceeds the volume ` + `${volume.frames}x${volume.height}x${volume.width}`);
  }
  const src = volume.data;
  const out = allocLike(src, frames * height * width);
  let o = 0;
  for (let t = 0; t < frames; t++) {
    for (let y = 0; y < height; y++) {
      const start = ((t0 + t) * volume.height + y0 + y) * volume.width + x0;
      out.set(src.subarray(start, start + width), o);
      o += width;
    }
  }
  return { data: out, frames, height, width };
}

/** How {@link pasteVolume} combines a patch voxel with the target voxel under it. */
export type PasteMode = 'replace' | 'add' | 'max';

/**
 * Writes `patch` into `target` (in place) with its voxel (0, 0, 0) at (t0, y0, x0) and returns
 * `target`. 'replace' puts a crop back; 'add' sums overlapping sliding-window outputs by their
 * coordinates (SPEC step 8); 'max' keeps the larger. 'add' follows the target's array type
 * (a Uint8Array wraps at 256), so sum into a Float32Array target. Throws InvalidInputError when
 * the patch does not fit inside the target.
 */
export function pasteVolume<T extends VoxelArray>(
  target: Volume<T>,
  patch: Volume<VoxelArray>,
  at: { readonly t0: number; readonly y0: number; readonly x0: number },
  mode: PasteMode = 'replace',
): Volume<T> {
  assertVolume(target, 'pasteVolume target');
  assertVolume(patch, 'pasteVolume patch');
  const { t0, y0, x0 } = at;
  checkInteger('pasteVolume', 't0', t0, 0);
  checkInteger('pasteVolume', 'y0', y0, 0);
  checkInteger('pasteVolume', 'x0', x0, 0);
  if (t0 + patch.frames > target.frames || y0 + patch.height > target.height || x0 + patch.width > target.width) {
    throw new InvalidInputError(
      `pasteVolume: patch ${patch.frames}x${patch.height}x${patch.width} at (${t0}, ${y0}, ${x0}) exceeds the ` + `target ${target.frames}x${target.height}x${target.width}`,
    );
  }
  if (mode !== 'replace' && mode !== 'add' && mode !== 'max') {
    throw new InvalidInputError(`pasteVolume: unknown mode '${String(mode)}' (replace, add or max)`);
  }
  const dst = target.data;
  const src = patch.data;
  let s = 0;
  for (let t = 0; t < patch.frames; t++) {
    for (let y = 0; y < patch.height; y++) {
      const start = ((t0 + t) * target.height + y0 + y) * target.width + x0;
      if (mode === 'replace') {
        dst.set(src.subarray(s, s + patch.width), start);
        s += patch.width;
      } else if (mode === 'add') {
        for (let x = 0; x < patch.width; x++) dst[start + x] += src[s++];
      } else {
        for (let x = 0; x < patch.width; x++, s++) if (src[s] > dst[start + x]) dst[start + x] = src[s];
      }
    }
  }
  return target;
}

/**
 * Stacks 2D frames (each height * width voxels, row-major, all of one array type) into a new
 * frame-major volume. Throws InvalidInputError naming the first frame of the wrong size.
 */
export function stackFrames<T extends VoxelArray>(frames: readonly T[], height: number, width: number): Volume<T> {
  checkInteger('stackFrames', 'height', height, 0);
  checkInteger('stackFrames', 'width', width, 0);
  if (frames.length === 0) throw new InvalidInputError('stackFrames: no frames');
  const plane = height * width;
  frames.forEach((frame, t) => {
    if (frame.length !== plane) {
      throw new InvalidInputError(`stackFrames: frame ${t} holds ${frame.length} voxels, ${height}x${width} needs ${plane}`);
    }
  });
  const out = allocLike(frames[0], frames.length * plane);
  frames.forEach((frame, t) => out.set(frame, t * plane));
  return { data: out, frames: frames.length, height, width };
}

/**
 * Frames t0 (inclusive) to t1 (exclusive), like Array.prototype.slice, as a VIEW: frame-major
 * layout makes them contiguous, so no copy is made and writes go through to `volume`. Use
 * cropVolume for a copy. Throws InvalidInputError unless 0 <= t0 <= t1 <= frames.
 */
export function sliceFrames<T extends VoxelArray>(volume: Volume<T>, t0: number, t1: number): Volume<T> {
  assertVolume(volume, 'sliceFrames');
  if (!Number.isInteger(t0) || !Number.isInteger(t1) || t0 < 0 || t1 < t0 || t1 > volume.frames) {
    throw new InvalidInputError(`sliceFrames: [${String(t0)}, ${String(t1)}) is not a frame range of a ${volume.frames}-frame volume`);
  }
  const plane = volume.height * volume.width;
  const data = volume.data.subarray(t0 * plane, t1 * plane) as T;
  return { data, frames: t1 - t0, height: volume.height, width: volume.width };
}

/** Per-pixel maximum over all frames, as a one-frame volume of the same array type. */
export function maxOverTime<T extends VoxelArray>(volume: Volume<T>): Volume<T> {
  assertVolume(volume, 'maxOverTime');
  if (volume.frames === 0) throw new InvalidInputError('maxOverTime: the volume has no frames');
  const plane = volume.height * volume.width;
  const src = volume.data;
  const out = allocLike(src, plane);
  out.set(src.subarray(0, plane));
  for (let t = 1; t < volume.frames; t++) {
    const base = t * plane;
    for (let j = 0; j < plane; j++) if (src[base + j] > out[j]) out[j] = src[base + j];
  }
  return { data: out, frames: 1, height: volume.height, width: volume.width };
}

/** Per-pixel sum over all frames, as a one-frame Float32Array volume (no integer overflow). */
export function sumOverTime(volume: Volume<VoxelArray>): Volume<Float32Array> {
  assertVolume(volume, 'sumOverTime');
  const plane = volume.height * volume.width;
  const src = volume.data;
  const acc = new Float64Array(plane);
  for (let t = 0; t < volume.frames; t++) {
    const base = t * plane;
    for (let j = 0; j < plane; j++) acc[j] += src[base + j];
  }
  return { data: Float32Array.from(acc), frames: 1, height: volume.height, width: volume.width };
}
