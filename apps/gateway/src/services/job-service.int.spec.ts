import { Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { Job as JobRecord } from '@mitosis/events';
import type { StartAnalysisRequest, WatchJobResponse } from '@mitosis/proto';
import { AnalysisOptions, JobKind, JobState, Stage } from '@mitosis/proto';
import { uploadAndAnalyze } from '../examples/upload-and-watch';
import { call, gatewayForSpec, syntheticTiff, upload } from '../testing/harness';

const gateway = gatewayForSpec();
let videoId: string;

beforeAll(async () => {
  videoId = (await upload(gateway.clients.video, syntheticTiff({ frames: 8 }))).videoId;
});

/** StartAnalysis with the options completed by the proto's defaults (ts-proto's fields are all required). */
const startAnalysis = (request: Omit<StartAnalysisRequest, 'options'> & { options?: Partial<AnalysisOptions> }) =>
  call(gateway.clients.analysis.startAnalysis.bind(gateway.clients.analysis), {
    ...request,
    ...(request.options ? { options: AnalysisOptions.fromPartial(request.options) } : {}),
  } as StartAnalysisRequest);
const getJob = (jobId: string) => call(gateway.clients.job.getJob.bind(gateway.clients.job), { jobId });

/** Collects a WatchJob stream until it ends; rejects with the stream's error. */
function watch(jobId: string, deadline?: Date, onMessage?: (message: WatchJobResponse) => void): Promise<WatchJobResponse[]> {
  return new Promise((resolve, reject) => {
    const messages: WatchJobResponse[] = [];
    const stream = gateway.clients.job.watchJob({ jobId }, new Metadata(), deadline ? { deadline } : {});
    stream.on('data', (message: WatchJobResponse) => {
      messages.push(message);
      onMessage?.(message);
    });
    stream.on('error', (error: ServiceError) => reject(error));
    stream.on('end', () => resolve(messages));
  });
}

/** What a stage worker would write: stage progress and states, through the job store's CAS. */
const worker = {
  progress: (jobId: string, stage: 'ingest' | 'm1' | 'm2', done: number, total: number) =>
    gateway.jobs.update(jobId, (job: JobRecord) => {
      const status = job.stages[stage]!;
      job.state = 'RUNNING';
      job.startedAt ??= new Date().toISOString();
      Object.assign(status, { state: 'RUNNING', step: `${stage}.train`, done, total, attempts: 1, startedAt: status.startedAt ?? new Date().toISOString() });
    }),
  succeed: (jobId: string, stage: 'ingest' | 'm1' | 'm2', last = false) =>
    gateway.jobs.update(jobId, (job: JobRecord) => {
      const status = job.stages[stage]!;
      Object.assign(status, { state: 'SUCCEEDED', attempts: 1, endedAt: new Date().toISOString() });
      if (last) {
        job.state = 'SUCCEEDED';
        job.endedAt = new Date().toISOString();
      }
    }),
};

describe('AnalysisService.StartAnalysis', () => {
  it('creates a QUEUED analysis job and publishes exactly one work message, for its first stage', async () => {
    const before = await gateway.workCount();
    const { job } = await startAnalysis({ videoId, frames: { first: 2, last: 7 }, options: { m1Iterations: 5, m2Iterations: 6, seed: 3, featureMaps: 0 } });
    expect(job).toMatchObject({ kind: JobKind.JOB_KIND_ANALYSIS, videoId, state: JobState.JOB_STATE_QUEUED, failureReason: '' });
    expect(job!.stages.map((s) => [s.stage, s.state])).toEqual([
      [Stage.STAGE_INGEST, JobState.JOB_STATE_QUEUED],
      [Stage.STAGE_M1, JobState.JOB_STATE_QUEUED],
      [Stage.STAGE_M2, JobState.JOB_STATE_QUEUED],
    ]);
    expect(await gateway.workCount()).toBe(before + 1);
    const { request, headers } = await gateway.lastWork('ingest');
    expect(request).toMatchObject({ jobId: job!.jobId, videoId, stage: Stage.STAGE_INGEST, attempt: 1 });
    expect(request.params?.$case).toBe('ingest');
    expect(headers['Nats-Msg-Id']).toBe(`${job!.jobId}:ingest:1`);
    // The record holds the request as params, for the stages that follow.
    const record = await gateway.jobs.get(job!.jobId);
    expect(record.params).toMatchObject({ videoId, frames: { first: 2, last: 7 }, m1Iterations: 5, m2Iterations: 6, seed: 3, featureMaps: 6 });
  });

  it("carries M2's and the map cleaning's options into the job, leaving out the defaults, and refuses bad ones", async () => {
    const { job } = await startAnalysis({
      videoId,
      options: { seed: 2, erosions: 0, minArea: 6, minFrames: 3, m2Crop: 32, m2Batch: 4, m2PositiveWeight: 5, m2LossMargin: 4 },
    });
    const record = await gateway.jobs.get(job!.jobId);
    expect(record.params).toMatchObject({ erosions: 0, minArea: 6, minFrames: 3, m2Crop: 32, m2Batch: 4, m2PositiveWeight: 5, m2LossMargin: 4 });
    const plain = await gateway.jobs.get((await startAnalysis({ videoId, options: { seed: 2 } })).job!.jobId);
    for (const key of ['erosions', 'minArea', 'minFrames', 'm2Crop', 'm2Batch', 'm2PositiveWeight', 'm2LossMargin']) expect(plain.params).not.toHaveProperty(key);
    const before = await gateway.workCount();
    await expect(startAnalysis({ videoId, options: { m2PositiveWeight: -1 } })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('m2PositiveWeight must be a number > 0'),
    });
    await expect(startAnalysis({ videoId, options: { m2Crop: 2 } })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('m2Crop') });
    expect(await gateway.workCount()).toBe(before);
  });

  it('skips ingest for a video whose frames are stored already', async () => {
    await gateway.store.put(`videos/${videoId}/frames/zarr.json`, new TextEncoder().encode('{}'));
    try {
      const { job } = await startAnalysis({ videoId });
      expect(job!.stages.map((s) => s.stage)).toEqual([Stage.STAGE_M1, Stage.STAGE_M2]);
      const { request } = await gateway.lastWork('m1');
      expect(request.jobId).toBe(job!.jobId);
      expect(request.params).toMatchObject({ $case: 'm1', value: { frames: { first: 1, last: 8 } } });
    } finally {
      await gateway.store.delete(`videos/${videoId}/frames/zarr.json`);
    }
  });

  it('refuses an unknown video (NOT_FOUND) and frames outside the video (INVALID_ARGUMENT), publishing nothing', async () => {
    const before = await gateway.workCount();
    const jobsBefore = (await gateway.jobs.list()).length;
    await expect(startAnalysis({ videoId: 'vid-nope' })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(startAnalysis({ videoId, frames: { first: 3, last: 9 } })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "frames 3:9 ends after the video's last frame (8)",
    });
    await expect(startAnalysis({ videoId, frames: { first: 0, last: 4 } })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(startAnalysis({ videoId, options: { m1Iterations: 0, m2Iterations: 0, seed: 0, featureMaps: 4, normalCellMapOverride: 4 } })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('0..3'),
    });
    expect(await gateway.workCount()).toBe(before);
    expect((await gateway.jobs.list()).length).toBe(jobsBefore);
  });
});

describe('JobService', () => {
  it('GetJob returns the job and NOT_FOUND for an unknown id', async () => {
    const { job } = await startAnalysis({ videoId });
    const { job: got } = await getJob(job!.jobId);
    expect(got).toEqual(job);
    await expect(getJob('job-unknown')).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('ListJobs pages newest first with filters, and refuses a malformed token', async () => {
    const other = (await upload(gateway.clients.video, syntheticTiff({ frames: 5, seed: 9 }))).videoId;
    const created: string[] = [];
    for (let i = 0; i < 3; i++) created.push((await startAnalysis({ videoId: other })).job!.jobId);
    const listJobs = gateway.clients.job.listJobs.bind(gateway.clients.job);
    const first = await call(listJobs, { videoId: other, pageSize: 2, pageToken: '', state: 0, kind: 0 });
    expect(first.jobs.map((j) => j.jobId)).toEqual([created[2], created[1]]);
    expect(first.nextPageToken).not.toBe('');
    const second = await call(listJobs, { videoId: other, pageSize: 2, pageToken: first.nextPageToken, state: 0, kind: 0 });
    expect(second.jobs.map((j) => j.jobId)).toEqual([created[0]]);
    expect(second.nextPageToken).toBe('');
    const none = await call(listJobs, { videoId: other, pageSize: 0, pageToken: '', state: JobState.JOB_STATE_SUCCEEDED, kind: 0 });
    expect(none.jobs).toEqual([]);
    await expect(call(listJobs, { videoId: '', pageSize: 0, pageToken: 'not a token', state: 0, kind: 0 })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(call(listJobs, { videoId: '', pageSize: 5000, pageToken: '', state: 0, kind: 0 })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('WatchJob replays the current state, streams KV updates and ends at the final state', async () => {
    const { job } = await startAnalysis({ videoId });
    const jobId = job!.jobId;
    let replayed!: () => void;
    const caughtUp = new Promise<void>((resolve) => (replayed = resolve));
    let count = 0;
    const stream = watch(jobId, undefined, () => {
      if (++count === 3) replayed();
    });
    await caughtUp; // the three stages as they are now
    await worker.progress(jobId, 'ingest', 1, 3);
    await worker.succeed(jobId, 'ingest');
    await worker.progress(jobId, 'm1', 2, 10);
    await worker.succeed(jobId, 'm1');
    await worker.succeed(jobId, 'm2', true);
    const messages = await stream;
    const seen = messages.map((m) => [Stage[m.progress!.stage], JobState[m.progress!.state], m.progress!.done, JobState[m.jobState]]);
    expect(seen).toEqual([
      ['STAGE_INGEST', 'JOB_STATE_QUEUED', 0, 'JOB_STATE_QUEUED'],
      ['STAGE_M1', 'JOB_STATE_QUEUED', 0, 'JOB_STATE_QUEUED'],
      ['STAGE_M2', 'JOB_STATE_QUEUED', 0, 'JOB_STATE_QUEUED'],
      ['STAGE_INGEST', 'JOB_STATE_RUNNING', 1, 'JOB_STATE_RUNNING'],
      ['STAGE_INGEST', 'JOB_STATE_SUCCEEDED', 1, 'JOB_STATE_RUNNING'],
      ['STAGE_M1', 'JOB_STATE_RUNNING', 2, 'JOB_STATE_RUNNING'],
      ['STAGE_M1', 'JOB_STATE_SUCCEEDED', 2, 'JOB_STATE_RUNNING'],
      ['STAGE_M2', 'JOB_STATE_SUCCEEDED', 0, 'JOB_STATE_SUCCEEDED'],
    ]);
    expect(messages[5]!.progress).toMatchObject({ jobId, step: 'm1.train', total: 10, attempt: 1 });
    // Watching an ended job returns its final state and closes at once.
    const again = await watch(jobId);
    expect(again.map((m) => JobState[m.jobState])).toEqual(['JOB_STATE_SUCCEEDED', 'JOB_STATE_SUCCEEDED', 'JOB_STATE_SUCCEEDED']);
  });

  it('WatchJob answers NOT_FOUND for an unknown job and DEADLINE_EXCEEDED at the deadline', async () => {
    await expect(watch('job-missing')).rejects.toMatchObject({ code: status.NOT_FOUND });
    const { job } = await startAnalysis({ videoId });
    const started = Date.now();
    await expect(watch(job!.jobId, new Date(Date.now() + 400))).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('CancelJob marks the job CANCELLED, ends its watchers, and leaves an ended job as it is', async () => {
    const { job } = await startAnalysis({ videoId });
    const jobId = job!.jobId;
    let onFirst!: () => void;
    const first = new Promise<void>((resolve) => (onFirst = resolve));
    const stream = watch(jobId, undefined, onFirst);
    await first;
    const cancelJob = gateway.clients.job.cancelJob.bind(gateway.clients.job);
    const { job: cancelled } = await call(cancelJob, { jobId });
    expect(cancelled!.state).toBe(JobState.JOB_STATE_CANCELLED);
    expect(cancelled!.stages.every((s) => s.state === JobState.JOB_STATE_CANCELLED)).toBe(true);
    expect(cancelled!.endTime).toBeInstanceOf(Date);
    const messages = await stream;
    expect(messages.at(-1)!.jobState).toBe(JobState.JOB_STATE_CANCELLED);
    // Again: nothing changes.
    const { job: again } = await call(cancelJob, { jobId });
    expect(again!.endTime).toEqual(cancelled!.endTime);
    await expect(call(cancelJob, { jobId: 'job-missing' })).rejects.toMatchObject({ code: status.NOT_FOUND });
  });
});

describe('AnalysisService.GetEventLengthReport', () => {
  it('is FAILED_PRECONDITION until the analysis SUCCEEDED, then reads stats.json', async () => {
    const getReport = gateway.clients.analysis.getEventLengthReport.bind(gateway.clients.analysis);
    const { job } = await startAnalysis({
      videoId,
      frames: { first: 1, last: 8 },
      options: { m1Iterations: 0, m2Iterations: 0, seed: 0, featureMaps: 0, normalCellMapOverride: 2 },
    });
    const jobId = job!.jobId;
    await expect(call(getReport, { jobId })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringContaining('is QUEUED') });
    await expect(call(getReport, { jobId: 'job-missing' })).rejects.toMatchObject({ code: status.NOT_FOUND });
    // What the M2 stage writes (AnalysisStats of @mitosis/stages), then the job's end.
    const stats = {
      count: 4,
      mean: 6.38,
      std: 5.63,
      min: 2,
      max: 12,
      p50: 5,
      p75: 8,
      histogram: [
        { length: 8, count: 1 },
        { length: 2, count: 2 },
        { length: 12, count: 1 },
      ],
      recommendedK: 8,
      recommendedAnnotationFrames: 14,
      annotationFramesRange: [14, 18],
      reason: 'p75',
      normalCellMap: 2,
      frames: { first: 1, last: 8 },
      mapChoice: {
        margin: 0.4,
        scores: [
          { index: 1, score: 0.2 },
          { index: 0, score: 0 },
          { index: 2, score: 0.5 },
        ],
      },
      kSpread: { runs: [7, 8, 9], min: 7, max: 9 },
      mapsTried: [{ map: 2, runs: [] }],
      warnings: ['only 4 cell events were measured'],
    };
    await gateway.store.put(`analyses/${jobId}/stats.json`, new TextEncoder().encode(JSON.stringify(stats)));
    await worker.succeed(jobId, 'ingest');
    await worker.succeed(jobId, 'm1');
    await worker.succeed(jobId, 'm2', true);
    const { report } = await call(getReport, { jobId });
    expect(report).toEqual({
      jobId,
      videoId,
      frames: { first: 1, last: 8 },
      count: 4,
      mean: 6.38,
      std: 5.63,
      p50: 5,
      p75: 8,
      histogram: [
        { length: 2, count: 2 },
        { length: 8, count: 1 },
        { length: 12, count: 1 },
      ],
      recommendedK: 8,
      recommendedAnnotationFrames: 14,
      normalCellMapIndex: 2,
      normalCellMapOverridden: true,
      mapScores: [0, 0.2, 0.5],
      mapMargin: 0.4,
      kRuns: [7, 8, 9],
      mapsTried: [2],
      warnings: ['only 4 cell events were measured'],
    });
    const { job: done } = await getJob(jobId);
    expect(done!.result).toEqual({ $case: 'analysis', value: { normalCellMapIndex: 2, recommendedK: 8, warnings: ['only 4 cell events were measured'] } });
  });
});

describe('the README client example', () => {
  it('uploads, starts an analysis and follows it to its end (workers simulated)', async () => {
    const lines: string[] = [];
    const running = uploadAndAnalyze(
      gateway.address,
      { name: 'example.tif', bytes: Buffer.from(syntheticTiff({ frames: 5, seed: 3 })) },
      {
        log: (line) => {
          lines.push(line);
          // The analysis was queued (three stages replayed): play the workers.
          if (lines.length === 4) void finishAnalysis();
        },
      },
    );
    const finishAnalysis = async () => {
      const [job] = await gateway.jobs.list();
      await worker.succeed(job!.id, 'ingest');
      await worker.succeed(job!.id, 'm1');
      await worker.succeed(job!.id, 'm2', true);
    };
    const { state, jobId } = await running;
    expect(state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(lines[0]).toMatch(/^video vid-\S+: 5 frames of 48x40, 8-bit$/);
    expect(lines.at(-1)).toBe('STAGE_M2 JOB_STATE_SUCCEEDED  0/0  (job JOB_STATE_SUCCEEDED)');
    expect((await gateway.jobs.get(jobId)).state).toBe('SUCCEEDED');
  });
});
