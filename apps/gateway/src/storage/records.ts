import type { BlobStore, FrameRange } from '@mitosis/core';
import { MitosisError, NotFoundError } from '@mitosis/core';
import type { VideoFile } from '@mitosis/service-kit';
import { checkId, keys } from './keys';

/** `videos/<videoId>/video.json`, as service-kit declares it (VideoFile). */
export type VideoRecord = VideoFile;

/** `annotations/<setId>.json`. */
export interface AnnotationSetRecord {
  readonly setId: string;
  readonly videoId: string;
  /** 1-based frames, x column and y row in original pixels. */
  readonly points: readonly { readonly frame: number; readonly x: number; readonly y: number }[];
  /** Frames searched in full: unmarked places in them are negatives. */
  readonly annotatedFrames: FrameRange;
  readonly createdAt: string;
}

/** `models/<modelId>/request.json`: the training asked for, before (and after) it ran. */
export interface ModelRecord {
  readonly modelId: string;
  readonly videoId: string;
  readonly annotationSetId: string;
  readonly trainingFrames: FrameRange;
  readonly k: number;
  /** As requested; 0 means the training stage's default. */
  readonly iterations: number;
  readonly seed: number;
  readonly trainingJobId: string;
  readonly createdAt: string;
}

/** One entry of `detections/<jobId>/detections.json`, as the detection stage writes it. */
export interface StoredDetection {
  readonly frame: number;
  readonly x: number;
  readonly y: number;
  readonly score: number;
  readonly voxelCount?: number;
}

/** The stats.json of an analysis (AnalysisStats of @mitosis/stages), the fields the API reports. */
export interface StoredAnalysisStats {
  readonly count: number;
  readonly mean: number;
  readonly std: number;
  readonly p50: number;
  readonly p75: number;
  readonly histogram: readonly { readonly length: number; readonly count: number }[];
  readonly recommendedK: number;
  readonly recommendedAnnotationFrames: number;
  readonly normalCellMap: number;
  readonly frames: FrameRange;
  /** Absent in stats stored before the map scores, the M2 runs and the warnings were. */
  readonly mapChoice?: { readonly margin?: number; readonly scores?: readonly { readonly index: number; readonly score: number }[] };
  readonly kSpread?: { readonly runs?: readonly number[] };
  readonly mapsTried?: readonly { readonly map: number }[];
  readonly warnings?: readonly string[];
}

/** The DetectorMeta (training.json) fields the gateway needs. */
export interface StoredDetectorMeta {
  readonly k: number;
  readonly finalLoss: number | null;
  /** The downscale factor of the frames it was trained on (detection's frames must match). */
  readonly factor?: number;
  readonly flatField?: boolean;
}

type Shape<T> = (value: unknown) => value is T;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isString = (value: unknown): value is string => typeof value === 'string';
const isRange = (value: unknown): value is FrameRange => isObject(value) && isNumber(value['first']) && isNumber(value['last']);
const has = (value: Record<string, unknown>, fields: Record<string, (field: unknown) => boolean>): boolean => Object.entries(fields).every(([name, check]) => check(value[name]));

export const isVideoRecord: Shape<VideoRecord> = (value): value is VideoRecord =>
  isObject(value) &&
  has(value, {
    videoId: isString,
    filename: isString,
    sizeBytes: isNumber,
    sha256: isString,
    frameCount: isNumber,
    width: isNumber,
    height: isNumber,
    bitDepth: isNumber,
    createdAt: isString,
  });

export const isAnnotationSetRecord: Shape<AnnotationSetRecord> = (value): value is AnnotationSetRecord =>
  isObject(value) &&
  has(value, { setId: isString, videoId: isString, annotatedFrames: isRange, createdAt: isString }) &&
  Array.isArray(value['points']) &&
  value['points'].every((p: unknown) => isObject(p) && has(p, { frame: isNumber, x: isNumber, y: isNumber }));

export const isModelRecord: Shape<ModelRecord> = (value): value is ModelRecord =>
  isObject(value) &&
  has(value, {
    modelId: isString,
    videoId: isString,
    annotationSetId: isString,
    trainingFrames: isRange,
    k: isNumber,
    iterations: isNumber,
    seed: isNumber,
    trainingJobId: isString,
    createdAt: isString,
  });

const isStoredDetection = (value: unknown): value is StoredDetection =>
  isObject(value) && has(value, { frame: isNumber, x: isNumber, y: isNumber, score: isNumber }) && (value['voxelCount'] === undefined || isNumber(value['voxelCount']));

/** A plain array of detections, or an object holding it under `detections`. */
export const isStoredDetections: Shape<readonly StoredDetection[] | { detections: readonly StoredDetection[] }> = (
  value,
): value is readonly StoredDetection[] | { detections: readonly StoredDetection[] } => {
  const list = isObject(value) ? value['detections'] : value;
  return Array.isArray(list) && list.every(isStoredDetection);
};

export const isStoredAnalysisStats: Shape<StoredAnalysisStats> = (value): value is StoredAnalysisStats =>
  isObject(value) &&
  has(value, {
    count: isNumber,
    mean: isNumber,
    std: isNumber,
    p50: isNumber,
    p75: isNumber,
    recommendedK: isNumber,
    recommendedAnnotationFrames: isNumber,
    normalCellMap: isNumber,
    frames: isRange,
  }) &&
  Array.isArray(value['histogram']) &&
  value['histogram'].every((bin: unknown) => isObject(bin) && isNumber(bin['length']) && isNumber(bin['count']));

export const isStoredDetectorMeta: Shape<StoredDetectorMeta> = (value): value is StoredDetectorMeta =>
  isObject(value) &&
  isNumber(value['k']) &&
  (value['finalLoss'] === null || value['finalLoss'] === undefined || isNumber(value['finalLoss'])) &&
  (value['factor'] === undefined || isNumber(value['factor'])) &&
  (value['flatField'] === undefined || typeof value['flatField'] === 'boolean');

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Reads and checks a JSON record. A missing key is a NotFoundError with `missing` as its message
 * (the client's words: 'video "x" not found'); a record that does not parse or has the wrong
 * shape is INTERNAL: the client did nothing wrong, the bucket holds something unexpected.
 */
export async function readRecord<T>(store: BlobStore, key: string, shape: Shape<T>, missing: string): Promise<T> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (error: unknown) {
    if (error instanceof NotFoundError) throw new NotFoundError(missing, { cause: error });
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (error: unknown) {
    throw new MitosisError('INTERNAL', `stored "${key}" is not valid JSON`, { cause: error });
  }
  if (!shape(value)) throw new MitosisError('INTERNAL', `stored "${key}" does not have the expected fields`);
  return value;
}

export async function readVideoRecord(store: BlobStore, videoId: string): Promise<VideoRecord> {
  checkId(videoId, 'video_id');
  return readRecord(store, keys.videoInfo(videoId), isVideoRecord, `video "${videoId}" not found`);
}

export async function readAnnotationSet(store: BlobStore, setId: string): Promise<AnnotationSetRecord> {
  checkId(setId, 'annotation_set_id');
  return readRecord(store, keys.annotationSet(setId), isAnnotationSetRecord, `annotation set "${setId}" not found`);
}

export async function readModelRecord(store: BlobStore, modelId: string): Promise<ModelRecord> {
  checkId(modelId, 'model_id');
  return readRecord(store, keys.modelRecord(modelId), isModelRecord, `model "${modelId}" not found`);
}
