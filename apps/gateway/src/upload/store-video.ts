import { readFile } from 'node:fs/promises';
import type { BlobStore } from '@mitosis/core';
import { NotFoundError } from '@mitosis/core';
import { checkAlive } from '../grpc/calls';
import type { GatewayLogger } from '../logger';
import { newId } from '../storage/ids';
import { keys } from '../storage/keys';
import type { VideoRecord } from '../storage/records';
import { encodeJson, readVideoRecord } from '../storage/records';
import { storeTimeoutOf } from '../storage/timed-store';
import type { ProbedVideo } from './probe-upload';
import type { StagedUpload, UploadHeader } from './receive-upload';
import type { StagingMarker } from './staging-records';
import { indexedVideoId, unindexVideo } from './staging-records';

/**
 * The video already stored with these bytes, if any. Uploads are deduplicated by content rather
 * than by a client-chosen idempotency key: every client already sends the SHA-256 in the header,
 * so a retry (by hand or by a generic gRPC retry policy) needs nothing new from it, and two
 * clients uploading the same file share one video and its preprocessed frames.
 */
export async function findStoredVideo(store: BlobStore, sha256: string, channel = 0): Promise<VideoRecord | undefined> {
  const videoId = await indexedVideoId(store, sha256, channel);
  if (videoId === undefined) return undefined;
  try {
    const record = await readVideoRecord(store, videoId);
    // An entry left by a rolled-back upload, or one whose video was removed, names no video of these bytes.
    return record.sha256 === sha256 && (record.channel ?? 0) === channel ? record : undefined;
  } catch (error: unknown) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

const inFlight = new Map<string, Promise<unknown>>();

/**
 * Runs `work` (find the video of these bytes, or store it) after any other for the same bytes
 * and channel in this gateway, so two uploads of one file at the same moment give one video.
 * A chain of promises per key: a few lines, where a lock library would add a dependency.
 */
export async function oncePerContent<T>(sha256: string, channel: number, work: () => Promise<T>): Promise<T> {
  const key = `${sha256}/${channel}`;
  const before = inFlight.get(key) ?? Promise.resolve();
  const mine = before.then(work, work);
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  inFlight.set(key, settled);
  try {
    return await mine;
  } finally {
    if (inFlight.get(key) === settled) inFlight.delete(key);
  }
}

/**
 * Stores a verified upload under a new id, staged first and committed only for a client still
 * there: a staging marker (`uploads/<id>.json`), the bytes at `videos/<id>/source`, the content
 * index entry, and then, if the call is still alive, the record at `videos/<id>/video.json`,
 * which is what makes the video exist (GetVideo and every job read it). A call that ends before
 * the record is answered (cancelled, past its deadline) or a store that fails rolls everything
 * back; the marker goes last once committed, and the staging janitor removes what a crash or an
 * unanswered rollback left behind.
 */
/** What storeVideo stores as `videos/<id>/source`: an upload's staged file, or a registered OME-Zarr's reference. */
export interface VideoSource {
  readonly header: Pick<UploadHeader, 'filename' | 'sizeBytes' | 'sha256'>;
  /** The bytes, read once, right before the put (BlobStore.put takes the whole object). */
  bytes(): Promise<Uint8Array>;
}

/** An upload's staged file as a VideoSource. */
export const stagedSource = (staged: StagedUpload): VideoSource => ({ header: staged.header, bytes: async () => new Uint8Array(await readFile(staged.file)) });

export async function storeVideo(store: BlobStore, staged: VideoSource, probed: ProbedVideo, signal: AbortSignal, log: GatewayLogger): Promise<VideoRecord> {
  const videoId = newId('vid');
  const { sha256 } = staged.header;
  const record: VideoRecord = {
    videoId,
    filename: staged.header.filename,
    sizeBytes: staged.header.sizeBytes,
    sha256,
    frameCount: probed.frameCount,
    width: probed.width,
    height: probed.height,
    bitDepth: probed.bitDepth,
    format: probed.format,
    createdAt: new Date().toISOString(),
    ...(probed.physical === undefined ? {} : { physical: probed.physical }),
    ...(probed.channels === undefined ? {} : { channels: probed.channels }),
    ...(probed.channel ? { channel: probed.channel } : {}),
  };
  const channel = probed.channel ?? 0;
  const marker: StagingMarker = { videoId, sha256, ...(channel === 0 ? {} : { channel }), stagedAt: new Date().toISOString() };
  await store.put(keys.stagingMarker(videoId), encodeJson(marker));
  try {
    await store.put(keys.videoSource(videoId), await staged.bytes());
    await store.put(keys.videoBySha256(sha256, channel), encodeJson({ videoId }));
    checkAlive(signal);
    await store.put(keys.videoInfo(videoId), encodeJson(record));
    // The store may have answered after the client left: a video nobody got the id of is not kept.
    checkAlive(signal);
  } catch (error: unknown) {
    await rollBack(store, marker, storeTimeoutOf(error) !== undefined, log);
    throw error;
  }
  await store.delete(keys.stagingMarker(videoId)).catch((error: unknown) => log.warn('could not remove the staging marker of a stored video', { videoId, error }));
  return record;
}

/**
 * Removes what an uncommitted upload wrote. After a timeout a write may still land later, so the
 * marker stays for the janitor, which removes the rest once the marker is old enough.
 */
async function rollBack(store: BlobStore, marker: StagingMarker, timedOut: boolean, log: GatewayLogger): Promise<void> {
  const { videoId, sha256, channel } = marker;
  try {
    await store.delete(keys.videoFolder(videoId));
    await unindexVideo(store, sha256, videoId, channel);
    if (!timedOut) await store.delete(keys.stagingMarker(videoId));
  } catch (error: unknown) {
    log.error('could not remove an uncommitted upload; the staging janitor will', { videoId, error });
  }
}
