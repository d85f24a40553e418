export { createVolume, frameOf } from './volume';
export type { Volume, VoxelArray } from './volume';
