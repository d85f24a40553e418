import { readFile } from 'node:fs/promises';
import type { BlobStore } from '@mitosis/core';
import type { GatewayLogger } from '../logger';
import { newId } from '../storage/ids';
import { keys } from '../storage/keys';
import type { VideoRecord } from '../storage/records';
import { encodeJson } from '../storage/records';
import type { ProbedVideo } from './probe-upload';
import type { StagedUpload } from './receive-upload';

/**
 * Stores a verified upload under a new id: the bytes at `videos/<id>/source`, then the record at
 * `videos/<id>/video.json`. The record goes last and is what makes the video exist (GetVideo and
 * every job read it), so a failure in between leaves no video; the half-written folder is removed.
 */
export async function storeVideo(store: BlobStore, staged: StagedUpload, probed: ProbedVideo, log: GatewayLogger): Promise<VideoRecord> {
  const videoId = newId('vid');
  const record: VideoRecord = {
    videoId,
    filename: staged.header.filename,
    sizeBytes: staged.header.sizeBytes,
    sha256: staged.header.sha256,
    frameCount: probed.frameCount,
    width: probed.width,
    height: probed.height,
    bitDepth: probed.bitDepth,
    format: probed.format,
    createdAt: new Date().toISOString(),
  };
  try {
    // BlobStore.put takes the whole object: the staged file is read once, right before the put.
    await store.put(keys.videoSource(videoId), new Uint8Array(await readFile(staged.file)));
    await store.put(keys.videoInfo(videoId), encodeJson(record));
  } catch (error: unknown) {
    await store.delete(keys.videoFolder(videoId)).catch((cleanupError: unknown) => log.error('could not remove a half-stored upload', { videoId, error: cleanupError }));
    throw error;
  }
  return record;
}
