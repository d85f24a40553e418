import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BlobStore } from '@mitosis/core';
import type { GatewayLogger } from '../logger';
import { keys } from '../storage/keys';
import { readRecord } from '../storage/records';
import { isStagingMarker, unindexVideo } from './staging-records';

export interface StagingJanitorOptions {
  /** Staging older than this is abandoned (MITOSIS_UPLOAD_STAGING_MAX_AGE_S); longer than any upload takes to store. */
  readonly maxAgeMs: number;
  /** Time between sweeps; default the age limit, at most 15 minutes. */
  readonly intervalMs?: number;
  /** The local folder uploads are received into (MITOSIS_UPLOAD_DIR): partial uploads a killed gateway left there go too. */
  readonly uploadDir?: string;
  readonly log: GatewayLogger;
}

/** The prefix of the folder receiveUpload makes for each upload in the upload folder. */
export const UPLOAD_FOLDER_PREFIX = 'mitosis-upload-';

/** Removes upload folders untouched for `maxAgeMs` (a live upload writes to its folder as bytes arrive). */
async function sweepUploadDir(uploadDir: string, maxAgeMs: number, now: number, log: GatewayLogger): Promise<number> {
  let removed = 0;
  const names = await readdir(uploadDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(UPLOAD_FOLDER_PREFIX)) continue;
    const folder = path.join(uploadDir, name);
    try {
      // The newest of the folder and its files: a live upload's file is written to as bytes arrive.
      const files = await readdir(folder);
      const times = await Promise.all([folder, ...files.map((f) => path.join(folder, f))].map(async (p) => (await stat(p)).mtimeMs));
      if (now - Math.max(...times) < maxAgeMs) continue;
      await rm(folder, { recursive: true, force: true });
      removed++;
    } catch (error: unknown) {
      log.warn('partial upload folder not swept', { folder, error });
    }
  }
  return removed;
}

export interface StagingJanitor {
  /** Removes abandoned staging now; resolves with the number of uploads removed. */
  sweep(): Promise<number>;
  stop(): void;
}

const MAX_INTERVAL_MS = 15 * 60_000;

/**
 * Removes the staged objects of uploads that were never committed nor rolled back (a gateway
 * killed mid-upload, a store that did not answer the rollback): at start and then periodically,
 * every staging marker older than the age limit. A marker whose record exists belongs to a
 * committed video and only the marker goes; otherwise the video's folder, its content index entry
 * and then the marker. Partial upload folders older than the limit in the local upload folder go too
 * (a gateway killed while receiving leaves one). Sweeps never overlap, and a failed sweep is logged and tried next time.
 */
export function startStagingJanitor(store: BlobStore, options: StagingJanitorOptions): StagingJanitor {
  const { maxAgeMs, log } = options;
  let running: Promise<number> | undefined;
  const sweepOnce = async (): Promise<number> => {
    let removed = 0;
    const now = Date.now();
    for (const key of await store.list(keys.stagingPrefix)) {
      if (!key.endsWith('.json')) continue;
      try {
        const marker = await readRecord(store, key, isStagingMarker, `staging marker ${key} vanished`);
        if (now - Date.parse(marker.stagedAt) < maxAgeMs) continue;
        if (!(await store.exists(keys.videoInfo(marker.videoId)))) {
          await store.delete(keys.videoFolder(marker.videoId));
          await unindexVideo(store, marker.sha256, marker.videoId, marker.channel);
          removed++;
        }
        await store.delete(key);
      } catch (error: unknown) {
        // One bad marker (vanished, malformed, a store error) must not stop the sweep of the others.
        log.warn('staging marker not swept', { key, error });
      }
    }
    if (removed > 0) log.info('abandoned uploads removed', { removed, maxAgeMs });
    if (options.uploadDir !== undefined) {
      const local = await sweepUploadDir(options.uploadDir, maxAgeMs, now, log);
      if (local > 0) log.info('partial upload folders removed', { removed: local, uploadDir: options.uploadDir, maxAgeMs });
      removed += local;
    }
    return removed;
  };
  const sweep = (): Promise<number> => {
    running ??= sweepOnce().finally(() => (running = undefined));
    return running;
  };
  const background = (): void => void sweep().catch((error: unknown) => log.warn('staging sweep failed; retried at the next one', { error }));
  background();
  const timer = setInterval(background, options.intervalMs ?? Math.min(maxAgeMs, MAX_INTERVAL_MS));
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
