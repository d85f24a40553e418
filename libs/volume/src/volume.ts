/** Typed arrays a volume may hold. */
export type VoxelArray = Float32Array | Uint8Array | Uint16Array | Int32Array;

/**
 * A video or a map sequence as one frame-major typed array: voxel (t, y, x) sits at
 * `(t * height + y) * width + x`. Every science lib passes sequences in this shape, so the
 * tensors of the method, the files of the CLI and the chunks of the services are one layout.
 */
export interface Volume<T extends VoxelArray = Float32Array> {
  readonly data: T;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
}

export function createVolume<T extends VoxelArray>(ArrayType: { new (length: number): T }, frames: number, height: number, width: number): Volume<T> {
  return { data: new ArrayType(frames * height * width), frames, height, width };
}

/** A view of frame t (no copy). */
export function frameOf<T extends VoxelArray>(volume: Volume<T>, t: number): T {
  const size = volume.height * volume.width;
  return volume.data.subarray(t * size, (t + 1) * size) as T;
}
