import type { BlobStore } from '@mitosis/core';
import type { Job } from '@mitosis/events';
import type { GatewayLogger } from '../logger';
import { keys } from '../storage/keys';
import type { StoredDetection } from '../storage/records';
import { isStoredAnalysisStats, isStoredDetections, isStoredDetectorMeta, readRecord } from '../storage/records';
import type { JobResult } from './to-proto';

/** Reads the outcome summary of SUCCEEDED jobs from the files their last stage wrote. */
export interface JobResults {
  /** Job.result for a SUCCEEDED job; undefined for other states or when its files are unreadable. */
  resultOf(job: Job): Promise<JobResult | undefined>;
  /** Every detection of a detection job, ordered by frame, then y, then x (ListDetections order). */
  detectionsOf(jobId: string): Promise<readonly StoredDetection[]>;
}

/** A tiny least-recently-used map: results of a finished job never change, so caching is safe. */
function lru<V>(capacity: number): { get(key: string): V | undefined; set(key: string, value: V): void } {
  const entries = new Map<string, V>();
  return {
    get(key) {
      const value = entries.get(key);
      if (value !== undefined) {
        entries.delete(key);
        entries.set(key, value);
      }
      return value;
    },
    set(key, value) {
      entries.delete(key);
      entries.set(key, value);
      if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
    },
  };
}

export function byFrameThenRowThenColumn(a: StoredDetection, b: StoredDetection): number {
  return a.frame - b.frame || a.y - b.y || a.x - b.x;
}

export function createJobResults(store: BlobStore, log: GatewayLogger, options: { cacheSize?: number } = {}): JobResults {
  const results = lru<JobResult>(options.cacheSize ?? 10_000);
  // Detection lists can be long: keep only a few, the ones being paged through.
  const detections = lru<readonly StoredDetection[]>(8);

  async function detectionsOf(jobId: string): Promise<readonly StoredDetection[]> {
    const cached = detections.get(jobId);
    if (cached !== undefined) return cached;
    const stored = await readRecord(store, keys.detections(jobId), isStoredDetections, `detections of job "${jobId}" not found`);
    const list = [...(Array.isArray(stored) ? stored : (stored as { detections: readonly StoredDetection[] }).detections)].sort(byFrameThenRowThenColumn);
    detections.set(jobId, list);
    return list;
  }

  async function read(job: Job): Promise<JobResult> {
    switch (job.kind) {
      case 'analysis': {
        const stats = await readRecord(store, keys.analysisStats(job.id), isStoredAnalysisStats, `stats of job "${job.id}" not found`);
        return { $case: 'analysis', value: { normalCellMapIndex: stats.normalCellMap, recommendedK: stats.recommendedK, warnings: [...(stats.warnings ?? [])] } };
      }
      case 'training': {
        const modelId = String(job.params['modelId']);
        const meta = await readRecord(store, keys.modelTraining(modelId), isStoredDetectorMeta, `model "${modelId}" has no training.json`);
        return { $case: 'training', value: { modelId, finalLoss: meta.finalLoss ?? 0 } };
      }
      default:
        return { $case: 'detection', value: { detectionCount: (await detectionsOf(job.id)).length } };
    }
  }

  return {
    async resultOf(job) {
      if (job.state !== 'SUCCEEDED' || !['analysis', 'training', 'detection'].includes(job.kind)) return undefined;
      const cached = results.get(job.id);
      if (cached !== undefined) return cached;
      try {
        const result = await read(job);
        results.set(job.id, result);
        return result;
      } catch (error: unknown) {
        // The job record says SUCCEEDED; a missing summary must not hide the job itself.
        log.warn('job SUCCEEDED but its result cannot be read', { jobId: job.id, error });
        return undefined;
      }
    },
    detectionsOf,
  };
}
