export { readVideo, probeVideo, naturalCompare } from './read-video';
export type { RawVideo, VideoInfo, VideoKind, VideoMetadata, ReadVideoOptions } from './read-video';
export { blobStoreLocation, isOmeZarr, probeOmeZarr, readOmeZarr } from './ome-zarr';
export { writeOmeZarr } from './ome-zarr-writer';
export type { OmeZarrImage, OmeZarrPlacement } from './ome-zarr-writer';
export type { OmeZarrInfo, OmeZarrLocation, OmeZarrOptions, OmeZarrVideo } from './ome-zarr';
export type { PhysicalSizes } from './container-metadata';
export {
  normalizeIntensities,
  downscale,
  downscaledSize,
  preprocessVideo,
  toOriginalPixels,
  toDownscaledPixels,
  floatToUint8,
  DEFAULT_DOWNSCALE_FACTOR,
  DEFAULT_CLIP_PERCENT,
} from './preprocess';
export type { PreprocessedVideo, PreprocessOptions, PixelPoint } from './preprocess';
export { writeTiffStack, writePng, writeRgbPng } from './write';
export { encodePng, encodeRgbPng, decodePng, readPngHeader, isPng } from './png';
export type { GreyFrame, PngHeader } from './png';
export { encodeTiff, encodeTiffParts } from './tiff-writer';
export type { EncodeTiffOptions, TiffCompression, TiffPage } from './tiff-writer';
export { decodeTiff } from './tiff-reader';
export { estimateCellSize, chooseDownscaleFactor, MAX_DOWNSCALE_FACTOR, TARGET_DOWNSCALED_CELL_RADIUS } from './cell-size';
export type { CellSizeEstimate, CellSizeOptions } from './cell-size';
