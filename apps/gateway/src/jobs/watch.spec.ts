import type { Job } from '@mitosis/events';
import { newJob } from '@mitosis/events';
import { JobState, Stage } from '@mitosis/proto';
import { watchMessages } from './watch';

const base = (): Job => newJob({ id: 'job-1', kind: 'analysis', stages: ['ingest', 'm1', 'm2'], params: { videoId: 'vid-1' }, now: new Date('2024-01-01T00:00:00Z') });
const copy = (job: Job): Job => JSON.parse(JSON.stringify(job)) as Job;
const summary = (job: Job, previous?: Job) =>
  watchMessages(previous, job).map((m) => [Stage[m.progress!.stage], JobState[m.progress!.state], m.progress!.done, JobState[m.jobState]]);

describe('watchMessages', () => {
  it('sends every stage, in pipeline order, for the first snapshot', () => {
    expect(summary(base())).toEqual([
      ['STAGE_INGEST', 'JOB_STATE_QUEUED', 0, 'JOB_STATE_QUEUED'],
      ['STAGE_M1', 'JOB_STATE_QUEUED', 0, 'JOB_STATE_QUEUED'],
      ['STAGE_M2', 'JOB_STATE_QUEUED', 0, 'JOB_STATE_QUEUED'],
    ]);
  });

  it('sends only the stages that changed afterwards', () => {
    const before = base();
    const after = copy(before);
    after.state = 'RUNNING';
    Object.assign(after.stages.m1!, { state: 'RUNNING', done: 3, total: 10, step: 'm1.train', attempts: 2 });
    expect(summary(after, before)).toEqual([['STAGE_M1', 'JOB_STATE_RUNNING', 3, 'JOB_STATE_RUNNING']]);
    expect(watchMessages(before, after)[0]!.progress).toMatchObject({ step: 'm1.train', total: 10, attempt: 2, jobId: 'job-1' });
    // Only the record's time changed: nothing to say.
    const touched = copy(after);
    touched.updatedAt = '2024-01-01T00:00:05Z';
    expect(watchMessages(after, touched)).toEqual([]);
  });

  it('reports a job-only change on the stage it concerns', () => {
    const before = base();
    before.stages.ingest!.state = 'SUCCEEDED';
    const failed = copy(before);
    failed.state = 'FAILED';
    failed.error = { kind: 'INTERNAL', message: 'no worker finished stage m1 in 6 deliveries', stage: 'm1' };
    const [message] = watchMessages(before, failed);
    expect(message).toMatchObject({ jobState: JobState.JOB_STATE_FAILED, progress: { stage: Stage.STAGE_M1 } });
  });

  it('names the failure on a failed stage', () => {
    const before = base();
    const after = copy(before);
    after.state = 'FAILED';
    Object.assign(after.stages.ingest!, { state: 'FAILED', error: { kind: 'INVALID_ARGUMENT', message: 'page 3: corrupt strip' } });
    expect(watchMessages(before, after)[0]!.progress!.failureReason).toBe('page 3: corrupt strip');
  });
});
