import type { JetStreamClient } from 'nats';
import type { ProgressEvent } from '@mitosis/core';
import { describe } from './consumer-util';
import type { Job, JobError } from './job';
import type { JobStore } from './job-store';
import type { RefusalCode, Transition } from './lifecycle';
import { cancelStage, failStage, recordTransition, reportStageProgress, retryStage, startStage, succeedStage } from './lifecycle';
import type { EventsLogger } from './logger';
import type { EventNames, Stage } from './names';
import type { JobEvent } from './publish';
import { publishJobEvent } from './publish';

/**
 * What a stage consumer writes about one job: each delivery's step of the lifecycle in the job
 * record (through the lifecycle's transitions only) and the job's events. Without a job store or
 * a job id there is nothing to write and every call resolves undefined. The races the consumer
 * expects (the job ended, a later delivery wrote the stage) write nothing.
 */
export interface JobRecorder {
  /** The delivery begins; the job as stored. Throws when the record is missing (NotFoundError) or refuses the stage. */
  start(jobId: string | undefined, delivery: number): Promise<Job | undefined>;
  progress(jobId: string | undefined, delivery: number, event: ProgressEvent): Promise<Job | undefined>;
  retry(jobId: string | undefined, delivery: number, error: JobError): Promise<Job | undefined>;
  succeed(jobId: string | undefined, delivery: number): Promise<Job | undefined>;
  /** Failed for good (after the dead letter). */
  fail(jobId: string | undefined, delivery: number, error: JobError): Promise<Job | undefined>;
  cancel(jobId: string | undefined): Promise<Job | undefined>;
  /** Publishes a job event; best effort: a failure is logged, never thrown. */
  emit(event: Omit<JobEvent, 'stage' | 'at' | 'jobId'> & { jobId: string | undefined }): Promise<void>;
}

export function createJobRecorder(deps: {
  readonly jobs: JobStore | undefined;
  readonly js: JetStreamClient;
  readonly names: EventNames;
  readonly stage: Stage;
  readonly log: EventsLogger;
}): JobRecorder {
  const { jobs, js, names, stage, log } = deps;
  const ended: readonly RefusalCode[] = ['job-ended', 'stale-delivery'];

  async function apply(jobId: string | undefined, transition: Transition, tolerate: readonly RefusalCode[]): Promise<Job | undefined> {
    if (jobs === undefined || jobId === undefined) return undefined;
    return (await recordTransition(jobs, jobId, transition, tolerate)).job;
  }

  return {
    start: (jobId, delivery) => apply(jobId, (job) => startStage(job, { stage, delivery }), ended),
    progress: (jobId, delivery, event) =>
      apply(jobId, (job) => reportStageProgress(job, { stage, delivery, step: event.step, done: event.done, total: event.total, detail: event.detail }), ended),
    retry: (jobId, delivery, error) => apply(jobId, (job) => retryStage(job, { stage, delivery, error }), ended),
    succeed: (jobId, delivery) => apply(jobId, (job) => succeedStage(job, { stage, delivery }), [...ended, 'stage-ended']),
    fail: (jobId, delivery, error) => apply(jobId, (job) => failStage(job, { stage, delivery, error }), ['stale-delivery']),
    cancel: (jobId) => apply(jobId, (job) => cancelStage(job, { stage }), ['not-cancelled']),
    async emit(event) {
      if (event.jobId === undefined) return;
      try {
        await publishJobEvent(js, names, { ...event, jobId: event.jobId, stage, at: new Date().toISOString() });
      } catch (error) {
        log.warn('job event not published', { stage, jobId: event.jobId, type: event.type, error: describe(error) });
      }
    },
  };
}
