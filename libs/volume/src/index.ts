export { createVolume, frameOf } from './volume';
export type { Volume, VoxelArray } from './volume';
export { assertVolume, assertSameShape, allocLike, countNonZero } from './shape';
export { binarize } from './binarize';
export type { BinarizeOptions } from './binarize';
export { structuringElement, cross2d, square2d, disk2d, cross3d, cube3d, ball3d } from './structuring-element';
export type { StructuringElement } from './structuring-element';
export { dilate, erode, closing, opening } from './morphology';
export type { MorphologyOptions } from './morphology';
export { connectedComponents, connectivities } from './components';
export type { BoundingBox, Component, Components, ComponentsOptions, Connectivity, Point3 } from './components';
export { temporalLengths, mean, standardDeviation, percentile, describeLengths } from './statistics';
export type { LengthBin, LengthStatistics } from './statistics';
export {
  augmentations,
  augmentationNames,
  paperAugmentationNames,
  isAugmentationName,
  applyAugmentation,
  invertAugmentation,
} from './augmentations';
export type { Augmentation, AugmentationName } from './augmentations';
export { cropVolume, pasteVolume, stackFrames, sliceFrames, maxOverTime, sumOverTime } from './frames';
export type { CropBox, PasteMode } from './frames';
