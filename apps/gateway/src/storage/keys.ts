import { InvalidInputError } from '@mitosis/core';
import { arrayMetadataKey, keys as layout } from '@mitosis/service-kit';

/**
 * The storage key layout of the services (service-kit's `keys`, shared with the stage workers),
 * plus the few keys only the gateway reads or writes.
 */
export const keys = {
  ...layout,
  /** Everything of one video, for clean-up of a half-written one. */
  videoFolder: (videoId: string): string => `${layout.video(videoId)}/`,
  /** Present once ingest stored the whole frames array (its metadata is written last). */
  videoFramesMeta: (videoId: string): string => arrayMetadataKey(layout.videoFrames(videoId)),
  analysisStats: (jobId: string): string => layout.analysis(jobId).stats,
  /** ModelRecord: what was asked for, written by the gateway when training is requested. */
  modelRecord: (modelId: string): string => `${layout.model(modelId)}/request.json`,
  /** Folder of the staging markers: one per upload whose video is being stored and not yet committed. */
  stagingPrefix: 'uploads/',
  /** StagingMarker of a video being stored; removed once its record is written or it is rolled back. */
  stagingMarker: (videoId: string): string => `${layout.upload(videoId)}.json`,
  /** ContentIndexEntry: the video stored with these bytes read as `channel`, for dedup of uploads (channel 0: the bytes alone). */
  videoBySha256: (sha256: string, channel = 0): string => `videos-by-sha256/${sha256}${channel === 0 ? '' : `.c${channel}`}.json`,
} as const;

const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Ids of requests become storage keys, subject tokens and KV keys: letters, digits, '_' and '-'
 * only, so a request can never reach outside its own folder (`../other`). The error names the
 * request field.
 */
export function checkId(id: string, field: string): string {
  if (id === '') throw new InvalidInputError(`${field} is required`);
  if (!ID_PATTERN.test(id)) throw new InvalidInputError(`${field} "${id.slice(0, 140)}" is not an id (1-128 letters, digits, '_' or '-')`);
  return id;
}
