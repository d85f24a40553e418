import type { BlobStore } from '@mitosis/core';
import type { EventNames, Job, JobStore } from '@mitosis/events';
import type { StartJobInput as ChainStartJobInput } from '@mitosis/service-kit';
import { startJob as startChainJob } from '@mitosis/service-kit';
import type { JetStreamClient } from 'nats';
import type { GatewayLogger } from '../logger';
import { newId } from '../storage/ids';

/** What starting a job needs: the job bucket, the work stream and the store (for "is it ingested?"). */
export interface JobStarterDeps {
  readonly store: BlobStore;
  readonly jobs: JobStore;
  readonly js: JetStreamClient;
  readonly names: EventNames;
  readonly log: GatewayLogger;
}

/** A job to start; the gateway names it (`job-...`) and decides on ingest from the store. */
export type StartJobInput = Omit<ChainStartJobInput, 'id' | 'ingest'>;

/**
 * Starts a job with a new id through service-kit's startJob, the one way a job starts (the chain
 * tests start theirs through it too): the record QUEUED, ingest first when the video has no
 * preprocessed frames, the first stage's work published, the job FAILED if that fails.
 */
export async function startJob(deps: JobStarterDeps, input: StartJobInput): Promise<Job> {
  return startChainJob(deps, { ...input, id: newId('job') });
}
