export { createVolume, frameOf } from './volume';
export type { Volume, VoxelArray } from './volume';
export { assertVolume, assertSameShape, allocLike, countNonZero } from './shape';
export { binarize } from './binarize';
export type { BinarizeOptions } from './binarize';
export { structuringElement, cross2d, square2d, disk2d, cross3d, cube3d, ball3d } from './structuring-element';
export type { StructuringElement } from './structuring-element';
export { dilate, erode, closing, opening } from './morphology';
export type { MorphologyOptions } from './morphology';
