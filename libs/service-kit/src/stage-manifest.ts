import { createHash } from 'node:crypto';
import type { BlobStore } from '@mitosis/core';
import { NotFoundError } from '@mitosis/core';
import type { Stage } from '@mitosis/events';
import { keys } from './keys';
import type { StageOutcome, StageTask } from './stage-task';

/**
 * A stage's proof of completion in the store (`keys.stageManifest`): every file the stage wrote,
 * with its size and SHA-256, and the outcome to record in the job. It is written last, after the
 * outputs, so a stage whose manifest exists and matches the stored files is done, even when the
 * job record never heard of it (its completion was lost to a NATS outage): a redelivery then
 * only records the completion instead of training again.
 * Ingest has none: its frames belong to the video, not the job, and runIngest already reuses them.
 */
export interface StageManifest {
  readonly version: 1;
  readonly jobId: string;
  readonly stage: Stage;
  /** The outcome's output keys by name, for the job record. */
  readonly outputs: Record<string, string>;
  readonly metrics: Record<string, number>;
  /** Every file the stage wrote, sorted by key. */
  readonly files: readonly ManifestFile[];
}

export interface ManifestFile {
  readonly key: string;
  readonly size: number;
  readonly sha256: string;
}

/** What is stored of a stage: complete (its outcome), nothing, or a manifest the files do not match. */
export type StoredStage = { readonly state: 'complete'; readonly outcome: StageOutcome } | { readonly state: 'absent' } | { readonly state: 'mismatch'; readonly reason: string };

/** Whether a stage keeps a manifest (every one but ingest). */
export function hasManifest(stage: Stage): boolean {
  return stage !== 'ingest';
}

/** A store that notes every file written through it (a later put of a key replaces, a delete forgets). */
export interface OutputRecorder {
  readonly store: BlobStore;
  files(): ManifestFile[];
}

export function recordOutputs<S extends BlobStore>(store: S): OutputRecorder {
  const written = new Map<string, ManifestFile>();
  const wrapped: Pick<BlobStore, 'put' | 'delete'> = {
    put: async (key, bytes) => {
      const file = { key, size: bytes.byteLength, sha256: sha256(bytes) };
      await store.put(key, bytes);
      written.set(key, file);
    },
    delete: async (keyOrPrefix) => {
      await store.delete(keyOrPrefix);
      for (const key of [...written.keys()]) if (key === keyOrPrefix || (keyOrPrefix.endsWith('/') && key.startsWith(keyOrPrefix))) written.delete(key);
    },
  };
  return {
    // Everything else (get, list, location...) is the store's own.
    store: Object.assign(Object.create(store) as S, wrapped),
    files: () => [...written.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  };
}

/** Writes the manifest of a finished stage; call it after every output is stored. */
export async function writeStageManifest(store: BlobStore, task: Pick<StageTask, 'jobId' | 'stage'>, outcome: StageOutcome, files: readonly ManifestFile[]): Promise<void> {
  const manifest: StageManifest = { version: 1, jobId: task.jobId, stage: task.stage, outputs: outcome.outputs, metrics: outcome.metrics, files };
  await store.put(keys.stageManifest(task.jobId, task.stage), new TextEncoder().encode(`${JSON.stringify(manifest, null, 1)}\n`));
}

/** Removes a stage's manifest before it runs again, so outputs being rewritten never sit beside an old one. */
export async function discardStageManifest(store: BlobStore, task: Pick<StageTask, 'jobId' | 'stage'>): Promise<void> {
  await store.delete(keys.stageManifest(task.jobId, task.stage));
}

/** Files checked at once when a manifest is verified. */
const VERIFY_CONCURRENCY = 8;

/**
 * Whether the stage's outputs for this job are stored and complete: its manifest exists, and
 * every file it lists has the size and SHA-256 it lists. A store that does not answer throws
 * (the delivery is retried later) rather than passing for missing outputs.
 */
export async function storedStage(store: BlobStore, task: Pick<StageTask, 'jobId' | 'stage'>): Promise<StoredStage> {
  if (!hasManifest(task.stage)) return { state: 'absent' };
  const key = keys.stageManifest(task.jobId, task.stage);
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (error: unknown) {
    if (error instanceof NotFoundError) return { state: 'absent' };
    throw error;
  }
  const manifest = parseManifest(bytes);
  if (manifest === undefined || manifest.jobId !== task.jobId || manifest.stage !== task.stage) {
    return { state: 'mismatch', reason: `${key} is not the manifest of stage ${task.stage} of job ${task.jobId}` };
  }
  const problems: string[] = [];
  const queue = [...manifest.files];
  const check = async (): Promise<void> => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      let stored: Uint8Array;
      try {
        stored = await store.get(file.key);
      } catch (error: unknown) {
        if (!(error instanceof NotFoundError)) throw error;
        problems.push(`${file.key} is missing`);
        continue;
      }
      if (stored.byteLength !== file.size) problems.push(`${file.key} has ${stored.byteLength} bytes, not ${file.size}`);
      else if (sha256(stored) !== file.sha256) problems.push(`${file.key} does not match its SHA-256`);
    }
  };
  await Promise.all(Array.from({ length: VERIFY_CONCURRENCY }, check));
  if (problems.length > 0) return { state: 'mismatch', reason: `${problems.sort()[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}` };
  return { state: 'complete', outcome: { stage: manifest.stage, outputs: manifest.outputs, metrics: { ...manifest.metrics, reused: 1 } } };
}

function parseManifest(bytes: Uint8Array): StageManifest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Partial<StageManifest>;
  const record = (r: unknown, type: 'string' | 'number'): boolean => typeof r === 'object' && r !== null && Object.values(r).every((v) => typeof v === type);
  const fileOk = (f: unknown): boolean => {
    const file = f as Partial<ManifestFile> | null;
    return typeof file === 'object' && file !== null && typeof file.key === 'string' && Number.isInteger(file.size) && typeof file.sha256 === 'string';
  };
  if (m.version !== 1 || typeof m.jobId !== 'string' || typeof m.stage !== 'string' || !record(m.outputs, 'string') || !record(m.metrics, 'number')) return undefined;
  if (!Array.isArray(m.files) || !m.files.every(fileOk)) return undefined;
  return m as StageManifest;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
