import type { BlobStore } from '@mitosis/core';
import { NotFoundError } from '@mitosis/core';
import { keys } from '../storage/keys';
import { readRecord } from '../storage/records';

/** `uploads/<videoId>.json`: a video whose objects are being written and not yet committed. */
export interface StagingMarker {
  readonly videoId: string;
  readonly sha256: string;
  /** The channel the video is of its file; absent for channel 0. */
  readonly channel?: number;
  /** ISO time the staging began; the janitor removes what is older than its age limit. */
  readonly stagedAt: string;
}

/** `videos-by-sha256/<sha256>.json`: the video stored with these bytes. */
export interface ContentIndexEntry {
  readonly videoId: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export const isStagingMarker = (value: unknown): value is StagingMarker =>
  isObject(value) &&
  typeof value['videoId'] === 'string' &&
  typeof value['sha256'] === 'string' &&
  typeof value['stagedAt'] === 'string' &&
  Number.isFinite(Date.parse(value['stagedAt']));

const isContentIndexEntry = (value: unknown): value is ContentIndexEntry => isObject(value) && typeof value['videoId'] === 'string';

/** The video id the content index holds for these bytes, or undefined. */
export async function indexedVideoId(store: BlobStore, sha256: string, channel = 0): Promise<string | undefined> {
  try {
    return (await readRecord(store, keys.videoBySha256(sha256, channel), isContentIndexEntry, `no video with sha256 ${sha256}`)).videoId;
  } catch (error: unknown) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** Removes the content index entry of `sha256` if it still names `videoId` (a later upload may have replaced it). */
export async function unindexVideo(store: BlobStore, sha256: string, videoId: string, channel = 0): Promise<void> {
  if ((await indexedVideoId(store, sha256, channel)) === videoId) await store.delete(keys.videoBySha256(sha256, channel));
}
