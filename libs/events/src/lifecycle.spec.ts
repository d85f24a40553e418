import type { Job } from './job';
import {
  IllegalTransitionError,
  cancelJob,
  cancelStage,
  failJob,
  failStage,
  finishStage,
  jobStages,
  newJob,
  nextStage,
  reportStageProgress,
  retryStage,
  startStage,
  succeedStage,
} from './lifecycle';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1 = new Date('2026-01-01T00:01:00.000Z');
const T2 = new Date('2026-01-01T00:02:00.000Z');
const queued = (): Job => newJob({ id: 'j1', kind: 'analysis', stages: ['ingest', 'm1'], params: { videoId: 'v1' }, now: T0 });

function refusal(run: () => unknown): IllegalTransitionError {
  try {
    run();
  } catch (error) {
    if (error instanceof IllegalTransitionError) return error;
    throw error;
  }
  throw new Error('the transition was not refused');
}

describe('the job lifecycle', () => {
  it('runs a job from QUEUED through each stage to SUCCEEDED, never changing the record it is given', () => {
    const job = queued();
    const frozen = JSON.stringify(job);
    const running = startStage(job, { stage: 'ingest', delivery: 1, at: T1 });
    expect(JSON.stringify(job)).toBe(frozen);
    expect(running).toMatchObject({ state: 'RUNNING', startedAt: T1.toISOString(), stages: { ingest: { state: 'RUNNING', attempts: 1 }, m1: { state: 'QUEUED' } } });
    const progressed = reportStageProgress(running, { stage: 'ingest', delivery: 1, step: 'ingest', done: 2, total: 3, detail: 'decoding' });
    expect(progressed.stages.ingest).toMatchObject({ step: 'ingest', done: 2, total: 3, detail: 'decoding' });
    const ingested = finishStage(progressed, { stage: 'ingest', delivery: 1, outputs: { frames: 'videos/v1/frames' }, at: T2 });
    expect(ingested).toMatchObject({ state: 'RUNNING', outputs: { frames: 'videos/v1/frames' }, stages: { ingest: { state: 'SUCCEEDED', done: 3, endedAt: T2.toISOString() } } });
    expect(nextStage(ingested, 'ingest')).toBe('m1');
    const done = finishStage(startStage(ingested, { stage: 'm1', delivery: 1 }), { stage: 'm1', delivery: 1, outputs: { normalCellMap: 'n' }, at: T2 });
    expect(done).toMatchObject({ state: 'SUCCEEDED', endedAt: T2.toISOString(), outputs: { frames: 'videos/v1/frames', normalCellMap: 'n' } });
    expect(jobStages(done)).toEqual(['ingest', 'm1']);
  });

  it('puts a retried stage back to QUEUED with its error, and the consumer success leaves the job running', () => {
    const retried = retryStage(startStage(queued(), { stage: 'ingest', delivery: 1 }), { stage: 'ingest', delivery: 1, error: { kind: 'UNAVAILABLE', message: 'S3 away' } });
    expect(retried.stages.ingest).toMatchObject({ state: 'QUEUED', attempts: 1, error: { kind: 'UNAVAILABLE', message: 'S3 away' } });
    const succeeded = succeedStage(startStage(retried, { stage: 'ingest', delivery: 2 }), { stage: 'ingest', delivery: 2 });
    expect(succeeded.stages.ingest).toMatchObject({ state: 'SUCCEEDED', attempts: 2 });
    expect(succeeded.stages.ingest?.error).toBeUndefined();
    expect(succeeded.state).toBe('RUNNING');
  });

  it('fails the job with the stage and reason when a stage fails for good', () => {
    const failed = failStage(startStage(queued(), { stage: 'ingest', delivery: 1 }), {
      stage: 'ingest',
      delivery: 1,
      error: { kind: 'INVALID_ARGUMENT', message: 'not a TIFF' },
      at: T1,
    });
    expect(failed).toMatchObject({
      state: 'FAILED',
      endedAt: T1.toISOString(),
      error: { kind: 'INVALID_ARGUMENT', message: 'not a TIFF', stage: 'ingest' },
      stages: { ingest: { state: 'FAILED' } },
    });
    expect(refusal(() => startStage(failed, { stage: 'm1', delivery: 1 }))).toMatchObject({
      code: 'job-ended',
      kind: 'FAILED_PRECONDITION',
      message: 'job j1 is FAILED: cannot start stage m1',
    });
    const unqueued = failJob(queued(), { error: { kind: 'INTERNAL', message: 'the gateway could not queue stage ingest', stage: 'ingest' } });
    expect(unqueued).toMatchObject({ state: 'FAILED', stages: { ingest: { state: 'FAILED' }, m1: { state: 'FAILED' } } });
    expect(refusal(() => failJob(unqueued, { error: { kind: 'INTERNAL', message: 'again' } })).code).toBe('job-ended');
  });

  it('cancels the job and its unfinished stages, then the running stage; an ended job cannot be cancelled', () => {
    const ingested = finishStage(startStage(queued(), { stage: 'ingest', delivery: 1 }), { stage: 'ingest', outputs: {} });
    const running = startStage(ingested, { stage: 'm1', delivery: 1 });
    expect(refusal(() => cancelStage(running, { stage: 'm1' })).code).toBe('not-cancelled');
    const cancelled = cancelJob(running, { at: T2 });
    expect(cancelled).toMatchObject({ state: 'CANCELLED', endedAt: T2.toISOString(), stages: { ingest: { state: 'SUCCEEDED' }, m1: { state: 'CANCELLED' } } });
    expect(cancelStage(cancelled, { stage: 'm1' }).stages.m1?.state).toBe('CANCELLED');
    expect(refusal(() => cancelJob(cancelled))).toMatchObject({ code: 'job-ended', message: 'job j1 is CANCELLED: it cannot be cancelled' });
    expect(refusal(() => finishStage(cancelled, { stage: 'm1', outputs: { normalCellMap: 'n' } })).code).toBe('job-ended');
    expect(refusal(() => succeedStage(cancelled, { stage: 'm1', delivery: 1 })).code).toBe('job-ended');
  });

  it('refuses a stale delivery and a stage the job does not have, naming them', () => {
    const second = startStage(queued(), { stage: 'ingest', delivery: 2 });
    expect(refusal(() => reportStageProgress(second, { stage: 'ingest', delivery: 1, step: 'ingest', done: 1, total: 3 }))).toMatchObject({
      code: 'stale-delivery',
      message: 'delivery 1 of stage ingest of job j1 is stale: delivery 2 wrote the stage since',
    });
    expect(refusal(() => finishStage(second, { stage: 'ingest', delivery: 1, outputs: {} })).code).toBe('stale-delivery');
    expect(refusal(() => succeedStage(second, { stage: 'ingest', delivery: 1 })).code).toBe('stale-delivery');
    expect(refusal(() => retryStage(second, { stage: 'ingest', delivery: 1, error: { kind: 'INTERNAL', message: 'late' } })).code).toBe('stale-delivery');
    expect(refusal(() => failStage(second, { stage: 'ingest', delivery: 1, error: { kind: 'INTERNAL', message: 'late' } })).code).toBe('stale-delivery');
    expect(refusal(() => startStage(second, { stage: 'm3-train', delivery: 1 }))).toMatchObject({
      code: 'unknown-stage',
      message: 'cannot start stage m3-train: it is not a stage of job j1 (ingest, m1)',
    });
    expect(() => nextStage(second, 'm2')).toThrow('stage m2 is not a stage of this job (ingest, m1)');
  });
});
