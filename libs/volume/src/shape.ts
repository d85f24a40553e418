import { InvalidInputError } from '@mitosis/core';
import type { Volume, VoxelArray } from './volume';

/**
 * Checks that a volume is well formed (positive integer sizes, data length = frames * height *
 * width) and throws an InvalidInputError naming `what` otherwise. Every operation of this lib
 * calls it first, so a malformed tensor fails at the door with its name, not deep in a loop.
 */
export function assertVolume(volume: Volume<VoxelArray>, what = 'volume'): void {
  const { frames, height, width } = volume;
  for (const [name, size] of [
    ['frames', frames],
    ['height', height],
    ['width', width],
  ] as const) {
    if (!Number.isInteger(size) || size < 0) {
      throw new InvalidInputError(`${what}: ${name} must be a non-negative integer, got ${String(size)}`);
    }
  }
  const expected = frames * height * width;
  if (volume.data.length !== expected) {
    throw new InvalidInputError(`${what}: data holds ${volume.data.length} voxels but ${frames}x${height}x${width} needs ${expected}`);
  }
}

/** Throws an InvalidInputError unless `b` has the shape of `a` (frames, height, width). */
export function assertSameShape(a: Volume<VoxelArray>, b: Volume<VoxelArray>, what: string): void {
  if (a.frames !== b.frames || a.height !== b.height || a.width !== b.width) {
    throw new InvalidInputError(`${what}: shape ${b.frames}x${b.height}x${b.width} differs from ${a.frames}x${a.height}x${a.width}`);
  }
}

/** A new zeroed typed array of the same type as `data` (generic over the voxel array type). */
export function allocLike<T extends VoxelArray>(data: T, length: number): T {
  const ArrayType = data.constructor as { new (length: number): T };
  return new ArrayType(length);
}

/** Number of non-zero voxels (the foreground of a binary volume). */
export function countNonZero(volume: Volume<VoxelArray>): number {
  const data = volume.data;
  let count = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) count++;
  return count;
}
