import type { JetStreamClient, KV, KvEntry } from 'nats';
import { InvalidInputError, MitosisError, NotFoundError, PreconditionError } from '@mitosis/core';
import { jsonCodec } from './codec';
import type { Job } from './job';
import { isFinalJobState, isJob } from './job';
import { checkJobId } from './names';
import { jsErrorCode, JS_ERR_WRONG_LAST_SEQUENCE } from './nats-errors';

/**
 * Job records in a JetStream KV bucket. Several workers and the gateway update one job at the
 * same time (progress of one stage, failure of another, a cancel), so every write is a
 * compare-and-set on the revision it read, retried on conflict: no update is ever lost.
 */
export interface JobStore {
  readonly bucket: string;
  /** Stores a new job; ALREADY_EXISTS when the id is taken. Returns it as stored. */
  create(job: Job): Promise<Job>;
  /** The job; NotFoundError when there is none. */
  get(id: string): Promise<Job>;
  /**
   * Reads the job, applies `mutate` (to a fresh copy: change it in place or return a new one)
   * and writes it back only if nobody wrote in between; otherwise reads again and re-applies.
   * `mutate` may run several times, so it must not have side effects; it may throw to refuse.
   * A mutation that changes nothing writes nothing. Returns the job as stored.
   */
  update(id: string, mutate: (job: Job) => Job | void): Promise<Job>;
  /** Every job, newest first. */
  list(): Promise<Job[]>;
  /**
   * The job's snapshots: first the current one, then one per stored update, in order; ends after
   * the first snapshot in a final state (SUCCEEDED, FAILED, CANCELLED), when the record is
   * deleted, or when `signal` aborts. NotFoundError (on the first `next()`) for an unknown id.
   */
  watch(id: string, options?: { signal?: AbortSignal }): AsyncGenerator<Job, void, undefined>;
}

export interface JobStoreOptions {
  /** Compare-and-set attempts before giving up on a hot job; default 100. */
  readonly maxUpdateAttempts?: number;
}

const jobCodec = jsonCodec<Job>(isJob, 'job record');

/** Binds to an existing bucket (ensureTopology creates it); PreconditionError when it is missing. */
export async function createJobStore(js: JetStreamClient, bucket: string, options: JobStoreOptions = {}): Promise<JobStore> {
  const maxUpdateAttempts = options.maxUpdateAttempts ?? 100;
  const kv: KV = await js.views.kv(bucket, { bindOnly: true });
  try {
    await kv.status();
  } catch (error) {
    throw new PreconditionError(`job bucket "${bucket}" does not exist; run ensureTopology first`, { cause: error });
  }

  async function read(id: string): Promise<{ job: Job; revision: number }> {
    const entry = await kv.get(checkJobId(id));
    if (entry === null || entry.operation !== 'PUT') throw new NotFoundError(`job "${id}" not found`);
    return { job: decodeEntry(entry), revision: entry.revision };
  }

  function decodeEntry(entry: KvEntry): Job {
    try {
      return jobCodec.decode(entry.value);
    } catch (error) {
      throw new InvalidInputError(`job "${entry.key}" revision ${entry.revision} in bucket "${bucket}" is not a job record`, {
        cause: error,
      });
    }
  }

  return {
    bucket,

    async create(job) {
      const id = checkJobId(job.id);
      if (!isJob(job)) throw new InvalidInputError(`job "${id}" is not a complete job record`);
      try {
        await kv.create(id, jobCodec.encode(job));
      } catch (error) {
        // kv.create is itself a CAS on "no value yet": a conflict means the id is taken.
        if (jsErrorCode(error) === JS_ERR_WRONG_LAST_SEQUENCE) {
          throw new MitosisError('ALREADY_EXISTS', `job "${id}" already exists`, { cause: error });
        }
        throw error;
      }
      return job;
    },

    async get(id) {
      return (await read(id)).job;
    },

    async update(id, mutate) {
      for (let attempt = 1; attempt <= maxUpdateAttempts; attempt++) {
        const { job, revision } = await read(id);
        const before = JSON.stringify(job);
        const result = mutate(job) ?? job;
        if (result.id !== id) throw new InvalidInputError(`update of job "${id}" may not change its id to "${result.id}"`);
        if (!isJob(result)) throw new InvalidInputError(`update of job "${id}" left an incomplete job record`);
        if (JSON.stringify(result) === before) return result;
        result.updatedAt = new Date().toISOString();
        try {
          await kv.update(id, jobCodec.encode(result), revision);
          return result;
        } catch (error) {
          if (jsErrorCode(error) !== JS_ERR_WRONG_LAST_SEQUENCE) throw error;
          // Someone wrote first: back off a little (jittered, growing) and re-apply on their version.
          await sleep(Math.random() * Math.min(50, 2 * attempt));
        }
      }
      throw new MitosisError('INTERNAL', `job "${id}": ${maxUpdateAttempts} concurrent updates kept conflicting`);
    },

    async list() {
      const keys = await kv.keys();
      const ids: string[] = [];
      for await (const key of keys) ids.push(key);
      const jobs: Job[] = [];
      for (const id of ids) {
        try {
          jobs.push((await read(id)).job);
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error; // deleted since the listing
        }
      }
      return jobs.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    },

    async *watch(id, watchOptions = {}) {
      const { signal } = watchOptions;
      const aborted = (): boolean => signal?.aborted === true;
      const first = await read(id);
      if (aborted()) return;
      yield first.job;
      if (isFinalJobState(first.job.state)) return;
      // Resume from the revision just read: the KV stream replays it and every later update of
      // this key in order, so nothing written between the read and the watch is missed.
      const updates = await kv.watch({ key: id, resumeFromRevision: first.revision });
      const onAbort = (): void => updates.stop();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        if (aborted()) return;
        for await (const entry of updates) {
          if (entry.revision <= first.revision) continue;
          if (entry.operation !== 'PUT') return;
          const job = decodeEntry(entry);
          yield job;
          if (isFinalJobState(job.state)) return;
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        updates.stop();
      }
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
