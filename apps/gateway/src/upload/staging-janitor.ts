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
  readonly log: GatewayLogger;
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
 * and then the marker. Sweeps never overlap, and a failed sweep is logged and tried next time.
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
          await unindexVideo(store, marker.sha256, marker.videoId);
          removed++;
        }
        await store.delete(key);
      } catch (error: unknown) {
        // One bad marker (vanished, malformed, a store error) must not stop the sweep of the others.
        log.warn('staging marker not swept', { key, error });
      }
    }
    if (removed > 0) log.info('abandoned uploads removed', { removed, maxAgeMs });
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
