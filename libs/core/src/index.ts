export {
  MitosisError,
  InvalidInputError,
  NotFoundError,
  PreconditionError,
  ResourceExhaustedError,
  isMitosisError,
  exitCodes,
  exitCodeFor,
} from './errors';
export type { ErrorKind } from './errors';
export { silentProgress } from './progress';
export type { ProgressEvent, ProgressSink } from './progress';
export { createRng } from './rng';
export type { Rng } from './rng';
export { parseFrameRange, frameRangeLength } from './frame-range';
export type { FrameRange } from './frame-range';
export { createLocalBlobStore, checkKey } from './blob-store';
export type { BlobStore } from './blob-store';
export { createMemoryBlobStore } from './memory-blob-store';
