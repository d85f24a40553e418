import { InvalidInputError } from '@mitosis/core';
import { analysisKeys, joinKey } from '@mitosis/stages';

/**
 * The storage key layout of the services (one bucket, everything under the store's optional
 * prefix). Every id becomes one path segment, so it is checked: no '/', '.' or '..' can make a
 * key reach outside its folder.
 */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export function checkId(id: string, what: string): string {
  if (!ID_PATTERN.test(id)) throw new InvalidInputError(`${what} "${id}" must be 1-128 letters, digits, '_' or '-'`);
  return id;
}

export const keys = {
  /** An upload in progress; moved to videoSource only once complete and verified. */
  upload: (uploadId: string): string => `uploads/${checkId(uploadId, 'upload id')}`,
  /** Folder of everything about one video. */
  video: (videoId: string): string => `videos/${checkId(videoId, 'video id')}`,
  /** The raw uploaded bytes (multi-page TIFF or tar of frames). */
  videoSource: (videoId: string): string => `${keys.video(videoId)}/source`,
  /** {videoId, filename, sizeBytes, sha256, frameCount, width, height, bitDepth, createdAt}, by the gateway. */
  videoInfo: (videoId: string): string => `${keys.video(videoId)}/video.json`,
  /** Zarr array of the preprocessed frames, written by ingest. */
  videoFrames: (videoId: string): string => `${keys.video(videoId)}/frames`,
  /** Folder of one analysis job (M1 and M2 outputs). */
  analysisPrefix: (jobId: string): string => `analyses/${checkId(jobId, 'job id')}`,
  /** Every key of one analysis job: m1, featureMaps, normalCellMap, mapChoice, m2, eventProbability, stats. */
  analysis: (jobId: string) => analysisKeys(keys.analysisPrefix(jobId)),
  /** {setId, videoId, points, annotatedFrames?, createdAt}, by the gateway. */
  annotationSet: (setId: string): string => `annotations/${checkId(setId, 'annotation set id')}.json`,
  /** Folder of one trained M3: model.json, weights.bin, training.json and the Zarr array labels/ (runTrainingStage's modelPrefix). */
  model: (modelId: string): string => `models/${checkId(modelId, 'model id')}`,
  modelTraining: (modelId: string): string => joinKey(keys.model(modelId), 'training.json'),
  /** Folder of one detection job. */
  detectionsPrefix: (jobId: string): string => `detections/${checkId(jobId, 'job id')}`,
  /** The detections as JSON (DetectionsFile). */
  detections: (jobId: string): string => `${keys.detectionsPrefix(jobId)}/detections.json`,
  /** Zarr array of the mean mitosis probability per voxel. */
  detectionProbability: (jobId: string): string => `${keys.detectionsPrefix(jobId)}/probability`,
  /** What one stage of a job stored (each file's size and SHA-256), written after its outputs: present and matching means the stage is done. */
  stageManifest: (jobId: string, stage: string): string => `manifests/${checkId(jobId, 'job id')}/${checkId(stage, 'stage')}.json`,
} as const;

/** Where a tensor-store array keeps its metadata: present once the whole array is written (chunks go first). */
export function arrayMetadataKey(arrayKey: string): string {
  return `${arrayKey}/zarr.json`;
}
