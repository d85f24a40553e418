import type { Stage } from './names';

/**
 * The job record kept in the KV bucket: plain JSON, so any service (or a person with the `nats`
 * CLI) can read it. States follow mitosis.v1.JobState; a stage uses the same states.
 */
export type JobState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export const FINAL_JOB_STATES: readonly JobState[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export function isFinalJobState(state: JobState): boolean {
  return FINAL_JOB_STATES.includes(state);
}

/** Why a stage or job failed: the error kind (an @mitosis/core ErrorKind) and its message. */
export interface JobError {
  readonly kind: string;
  readonly message: string;
  /** The stage that failed, on the job-level error. */
  readonly stage?: Stage;
}

export interface StageStatus {
  state: JobState;
  /** Finer step inside the stage, e.g. 'm1.train'. */
  step?: string;
  done: number;
  total: number;
  detail?: string;
  /** Deliveries of the stage's work message so far, from 1; a retried stage counts up. */
  attempts: number;
  error?: JobError;
  startedAt?: string;
  endedAt?: string;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Job {
  readonly id: string;
  /** What the job computes, e.g. 'analysis', 'training', 'detection'. */
  kind: string;
  state: JobState;
  /** ISO-8601 times. */
  readonly createdAt: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
  stages: Partial<Record<Stage, StageStatus>>;
  error?: JobError;
  /** Keys of the job's results in object storage, by name. */
  outputs: Record<string, string>;
  params: { [key: string]: JsonValue };
}

export interface NewJobInput {
  readonly id: string;
  readonly kind: string;
  /** The stages this job will run, in order; each starts QUEUED (lifecycle.ts, newJob). */
  readonly stages: readonly Stage[];
  readonly params?: { [key: string]: JsonValue };
  /** Creation time; default now. */
  readonly now?: Date;
}

const JOB_STATES: readonly string[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

/** Shape check for a record read back from the bucket (another version may have written it). */
export function isJob(value: unknown): value is Job {
  if (typeof value !== 'object' || value === null) return false;
  const job = value as Record<string, unknown>;
  return (
    typeof job['id'] === 'string' &&
    typeof job['kind'] === 'string' &&
    typeof job['state'] === 'string' &&
    JOB_STATES.includes(job['state']) &&
    typeof job['createdAt'] === 'string' &&
    typeof job['updatedAt'] === 'string' &&
    typeof job['stages'] === 'object' &&
    job['stages'] !== null &&
    typeof job['outputs'] === 'object' &&
    job['outputs'] !== null &&
    typeof job['params'] === 'object' &&
    job['params'] !== null
  );
}
