import { InvalidInputError, MitosisError } from '@mitosis/core';
import type { Job, JobError, JobState, NewJobInput, StageStatus } from './job';
import { isFinalJobState, isJob } from './job';
import type { JobStore } from './job-store';
import type { Stage } from './names';
import { STAGES, checkJobId, checkStage } from './names';

/**
 * The job lifecycle, the one place that writes a job's state. A job is QUEUED, runs its stages
 * in order (each QUEUED -> RUNNING -> SUCCEEDED, back to QUEUED for a retry), and ends SUCCEEDED
 * (its last stage done), FAILED (a stage failed for good and was dead-lettered, or its first
 * stage could not be queued) or CANCELLED. Each transition is a pure function from a record to
 * the next one (the input is never modified) and throws IllegalTransitionError for a transition
 * the record does not allow. recordTransition applies one to the job store.
 */

/** Why a transition was refused; the expected races (a job that ended, a stale delivery) have their own code. */
export type RefusalCode = 'job-ended' | 'stale-delivery' | 'unknown-stage' | 'stage-ended' | 'not-cancelled';

/** A transition the record does not allow: FAILED_PRECONDITION, naming the job, the stage and why. */
export class IllegalTransitionError extends MitosisError {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly code: RefusalCode,
    readonly job: Job,
    message: string,
  ) {
    super('FAILED_PRECONDITION', message);
  }
}

/** A pure step from one record to the next (what recordTransition applies). */
export type Transition = (job: Job) => Job;

/** A QUEUED job with every listed stage QUEUED and nothing done. */
export function newJob(input: NewJobInput): Job {
  const at = (input.now ?? new Date()).toISOString();
  const stages: Partial<Record<Stage, StageStatus>> = {};
  for (const stage of input.stages) {
    stages[checkStage(stage)] = { state: 'QUEUED', done: 0, total: 0, attempts: 0 };
  }
  return {
    id: checkJobId(input.id),
    kind: input.kind,
    state: 'QUEUED',
    createdAt: at,
    updatedAt: at,
    stages,
    outputs: {},
    params: input.params ?? {},
  };
}

/** The job's stages in the order they run (the method's order). */
export function jobStages(job: Pick<Job, 'stages'>): Stage[] {
  return STAGES.filter((stage) => job.stages[stage] !== undefined);
}

/** The stage that runs after `after` in this job (the first one without `after`); undefined after the last. */
export function nextStage(job: Pick<Job, 'stages'>, after?: Stage): Stage | undefined {
  const stages = jobStages(job);
  if (after === undefined) return stages[0];
  const index = stages.indexOf(after);
  if (index < 0) throw new InvalidInputError(`stage ${after} is not a stage of this job (${stages.join(', ')})`);
  return stages[index + 1];
}

/** One delivery of a stage's work message. */
export interface DeliveryEvent {
  readonly stage: Stage;
  /** The delivery (from 1): a record written by a later delivery is not rolled back by an earlier one. */
  readonly delivery: number;
  readonly at?: Date;
}

/** A delivery begins: the stage RUNNING (attempts = delivery), the job RUNNING if it was QUEUED. */
export function startStage(job: Job, event: DeliveryEvent): Job {
  return edit(job, event.at, (next, at) => {
    const status = liveStatus(next, event, 'start');
    status.state = 'RUNNING';
    status.attempts = event.delivery;
    status.startedAt ??= at;
    if (next.state === 'QUEUED') {
      next.state = 'RUNNING';
      next.startedAt ??= at;
    }
  });
}

/** Progress inside a running stage (step, done of total, detail). */
export function reportStageProgress(
  job: Job,
  event: DeliveryEvent & { readonly step: string; readonly done: number; readonly total: number; readonly detail?: string | undefined },
): Job {
  return edit(job, event.at, (next) => {
    const status = liveStatus(next, event, 'report progress of');
    status.step = event.step;
    status.done = event.done;
    status.total = event.total;
    if (event.detail === undefined) delete status.detail;
    else status.detail = event.detail;
  });
}

/** A delivery failed and will be redelivered: the stage back to QUEUED with the error. */
export function retryStage(job: Job, event: DeliveryEvent & { readonly error: JobError }): Job {
  return edit(job, event.at, (next) => {
    const status = liveStatus(next, event, 'retry');
    status.state = 'QUEUED';
    status.error = event.error;
    status.attempts = event.delivery;
  });
}

/**
 * A delivery's work succeeded (the consumer's record before the ack): the stage SUCCEEDED. The
 * job goes on; finishStage, the chaining's step, records outputs and ends it.
 */
export function succeedStage(job: Job, event: DeliveryEvent): Job {
  return edit(job, event.at, (next, at) => {
    if (next.state === 'CANCELLED' || next.state === 'FAILED') throw refuse('job-ended', next, event.stage, 'record the success of');
    const status = ownStatus(next, event, 'record the success of');
    if (status.attempts > event.delivery) throw stale(next, event.stage, event.delivery, status.attempts);
    if (status.state === 'CANCELLED' || status.state === 'FAILED') {
      throw new IllegalTransitionError('stage-ended', next, `stage ${event.stage} of job ${next.id} is ${status.state}: its success is not recorded`);
    }
    status.state = 'SUCCEEDED';
    status.attempts = event.delivery;
    if (status.total > 0) status.done = status.total;
    delete status.error;
    status.endedAt = at;
  });
}

/**
 * Stage S is done with its outputs: the stage SUCCEEDED, the outputs merged into the job's, and
 * the job SUCCEEDED when S was its last stage (outputs and final state in one record), RUNNING
 * otherwise (nextStage names what comes next).
 */
export function finishStage(job: Job, event: { readonly stage: Stage; readonly outputs: Readonly<Record<string, string>>; readonly delivery?: number; readonly at?: Date }): Job {
  return edit(job, event.at, (next, at) => {
    if (isFinalJobState(next.state)) throw refuse('job-ended', next, event.stage, 'finish');
    const status = ownStatus(next, event, 'finish');
    if (event.delivery !== undefined && status.attempts > event.delivery) throw stale(next, event.stage, event.delivery, status.attempts);
    Object.assign(next.outputs, event.outputs);
    status.state = 'SUCCEEDED';
    status.attempts = Math.max(status.attempts, event.delivery ?? 0);
    if (status.total > 0) status.done = status.total;
    delete status.error;
    status.startedAt ??= at;
    status.endedAt = at;
    if (nextStage(next, event.stage) === undefined) {
      next.state = 'SUCCEEDED';
      next.startedAt ??= at;
      next.endedAt = at;
    } else if (next.state === 'QUEUED') {
      next.state = 'RUNNING';
      next.startedAt ??= at;
    }
  });
}

/**
 * Stage S failed for good (its message dead-lettered): the stage FAILED with the reason, and the
 * job FAILED with it unless it had ended already. A stage the job does not list fails the job.
 */
export function failStage(job: Job, event: DeliveryEvent & { readonly error: JobError }): Job {
  return edit(job, event.at, (next, at) => {
    const status = next.stages[event.stage];
    if (status !== undefined) {
      if (status.attempts > event.delivery) throw stale(next, event.stage, event.delivery, status.attempts);
      status.state = 'FAILED';
      status.error = event.error;
      status.attempts = Math.max(status.attempts, event.delivery);
      status.endedAt = at;
    }
    if (!isFinalJobState(next.state)) {
      next.state = 'FAILED';
      next.error = { ...event.error, stage: event.stage };
      next.endedAt = at;
    }
  });
}

/** The consumer saw the job cancelled: its stage CANCELLED too (unless it had ended). */
export function cancelStage(job: Job, event: { readonly stage: Stage; readonly at?: Date }): Job {
  return edit(job, event.at, (next, at) => {
    if (next.state !== 'CANCELLED') {
      throw new IllegalTransitionError('not-cancelled', next, `job ${next.id} is ${next.state}, not CANCELLED: stage ${event.stage} is not cancelled`);
    }
    const status = ownStatus(next, event, 'cancel');
    if (!isFinalJobState(status.state)) {
      status.state = 'CANCELLED';
      status.endedAt = at;
    }
  });
}

/** CancelJob: the job and every stage not yet ended CANCELLED. An ended job cannot be cancelled. */
export function cancelJob(job: Job, event: { readonly at?: Date } = {}): Job {
  return edit(job, event.at, (next, at) => {
    if (isFinalJobState(next.state)) throw new IllegalTransitionError('job-ended', next, `job ${next.id} is ${next.state}: it cannot be cancelled`);
    next.state = 'CANCELLED';
    next.endedAt = at;
    for (const status of Object.values(next.stages)) {
      if (status === undefined || isFinalJobState(status.state)) continue;
      status.state = 'CANCELLED';
      status.endedAt = at;
    }
  });
}

/** The job fails before a stage ran (its first stage could not be queued): the job and its QUEUED stages FAILED. */
export function failJob(job: Job, event: { readonly error: JobError; readonly at?: Date }): Job {
  return edit(job, event.at, (next, at) => {
    if (isFinalJobState(next.state)) throw new IllegalTransitionError('job-ended', next, `job ${next.id} is ${next.state}: it cannot fail`);
    next.state = 'FAILED';
    next.endedAt = at;
    next.error = event.error;
    for (const status of Object.values(next.stages)) {
      if (status !== undefined && status.state === 'QUEUED') status.state = 'FAILED';
    }
  });
}

export interface TransitionResult {
  /** The record as stored after the transition (unchanged when it was refused). */
  readonly job: Job;
  /** False when the transition was refused with one of the tolerated codes. */
  readonly applied: boolean;
  readonly refused?: IllegalTransitionError;
}

/**
 * Applies `transition` to job `jobId` in the store (compare-and-set, re-applied on a conflict).
 * A refusal whose code is in `tolerate` (the races a caller expects) writes nothing and comes
 * back as `applied: false`; any other refusal is thrown.
 */
export async function recordTransition(jobs: JobStore, jobId: string, transition: Transition, tolerate: readonly RefusalCode[] = []): Promise<TransitionResult> {
  let refused: IllegalTransitionError | undefined;
  const job = await jobs.update(jobId, (current) => {
    refused = undefined;
    try {
      return transition(current);
    } catch (error) {
      if (error instanceof IllegalTransitionError && tolerate.includes(error.code)) {
        refused = error;
        return current;
      }
      throw error;
    }
  });
  return refused === undefined ? { job, applied: true } : { job, applied: false, refused };
}

/** Stores a new QUEUED job (from newJob); ALREADY_EXISTS when the id is taken. */
export async function recordNewJob(jobs: JobStore, job: Job): Promise<Job> {
  if (job.state !== 'QUEUED' || Object.values(job.stages).some((s) => s?.state !== 'QUEUED')) {
    throw new MitosisError('INVALID_ARGUMENT', `job ${job.id} is ${job.state}: a new job starts QUEUED with every stage QUEUED`);
  }
  return jobs.create(job);
}

/** A copy to change (the input record stays as it was), with the event's time. */
function edit(job: Job, when: Date | undefined, change: (next: Job, at: string) => void): Job {
  if (!isJob(job)) throw new MitosisError('INVALID_ARGUMENT', 'the job lifecycle got something that is not a job record');
  const next = structuredClone(job);
  change(next, (when ?? new Date()).toISOString());
  return next;
}

function ownStatus(job: Job, event: { readonly stage: Stage }, what: string): StageStatus {
  const status = job.stages[event.stage];
  if (status === undefined) {
    throw new IllegalTransitionError('unknown-stage', job, `cannot ${what} stage ${event.stage}: it is not a stage of job ${job.id} (${jobStages(job).join(', ') || 'none'})`);
  }
  return status;
}

/** The stage of a job still running, for this delivery: refused when the job ended or a later delivery wrote the stage. */
function liveStatus(job: Job, event: DeliveryEvent, what: string): StageStatus {
  const status = ownStatus(job, event, what);
  if (status.attempts > event.delivery) throw stale(job, event.stage, event.delivery, status.attempts);
  if (isFinalJobState(job.state)) throw refuse('job-ended', job, event.stage, what);
  return status;
}

function refuse(code: 'job-ended', job: Job, stage: Stage, what: string): IllegalTransitionError {
  return new IllegalTransitionError(code, job, `job ${job.id} is ${job.state satisfies JobState}: cannot ${what} stage ${stage}`);
}

function stale(job: Job, stage: Stage, delivery: number, attempts: number): IllegalTransitionError {
  return new IllegalTransitionError('stale-delivery', job, `delivery ${delivery} of stage ${stage} of job ${job.id} is stale: delivery ${attempts} wrote the stage since`);
}
