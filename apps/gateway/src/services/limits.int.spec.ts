import { status } from '@grpc/grpc-js';
import type { Job as JobRecord } from '@mitosis/events';
import type { AnalysisOptions, SubmitAnnotationsRequest } from '@mitosis/proto';
import { RunDetectionRequest, StartAnalysisRequest, StartTrainingRequest } from '@mitosis/proto';
import { WORK_LIMITS } from '@mitosis/stages';
import { encodeTiff } from '@mitosis/video';
import { call, gatewayForSpec, syntheticTiff, upload } from '../testing/harness';

const gateway = gatewayForSpec();
// What a JS client sending -1 on a uint32 field sends.
const WRAPPED = 4294967295;
let videoId = '';
let setId = '';

beforeAll(async () => {
  videoId = (await upload(gateway.clients.video, syntheticTiff({ frames: 10 }))).videoId;
  const submit = gateway.clients.annotation.submitAnnotations.bind(gateway.clients.annotation);
  const request: SubmitAnnotationsRequest = { videoId, annotatedFrames: { first: 1, last: 10 }, source: { $case: 'csv', value: Buffer.from('frame,x,y\n3,10,10\n') } };
  setId = (await call(submit, request)).annotationSetId;
});

/** A request with any of its fields, nested ones too, as a client may send it. */
type Loose<T> = { [K in keyof T]?: NonNullable<T[K]> extends object ? Loose<NonNullable<T[K]>> : T[K] };

const startAnalysis = (request: Loose<StartAnalysisRequest>) =>
  call(gateway.clients.analysis.startAnalysis.bind(gateway.clients.analysis), StartAnalysisRequest.fromPartial(request as StartAnalysisRequest));
const startTraining = (request: Loose<StartTrainingRequest>) =>
  call(
    gateway.clients.model.startTraining.bind(gateway.clients.model),
    StartTrainingRequest.fromPartial({ videoId, annotationSetId: setId, k: 4, ...request } as StartTrainingRequest),
  );
const runDetection = (request: Loose<RunDetectionRequest>) =>
  call(gateway.clients.detection.runDetection.bind(gateway.clients.detection), RunDetectionRequest.fromPartial(request as RunDetectionRequest));

/** Expects `act` to be refused with `code` and `message`, with no job created and no work queued. */
async function expectRefusedBeforeQueueing(act: () => Promise<unknown>, code: status, message: string | RegExp): Promise<void> {
  const [work, jobs] = [await gateway.workCount(), (await gateway.jobs.list()).length];
  await expect(act()).rejects.toMatchObject({ code, details: typeof message === 'string' ? message : expect.stringMatching(message) });
  expect([await gateway.workCount(), (await gateway.jobs.list()).length]).toEqual([work, jobs]);
}

describe('work limits at StartAnalysis', () => {
  it.each<[keyof AnalysisOptions, string, number]>([
    ['m1Iterations', 'options.m1_iterations', WORK_LIMITS.m1Iterations],
    ['m2Iterations', 'options.m2_iterations', WORK_LIMITS.m2Iterations],
    ['m2Runs', 'options.m2_runs', WORK_LIMITS.m2Runs],
    ['featureMaps', 'options.feature_maps', WORK_LIMITS.featureMaps],
    ['crop', 'options.crop', WORK_LIMITS.crop],
    ['m2Crop', 'options.m2_crop', WORK_LIMITS.crop],
    ['m2Batch', 'options.m2_batch', WORK_LIMITS.batch],
    ['sequenceLength', 'options.sequence_length', WORK_LIMITS.sequenceLength],
  ])('refuses %s = 4294967295 with INVALID_ARGUMENT naming %s and its limit', async (option, field, limit) => {
    await expectRefusedBeforeQueueing(
      () => startAnalysis({ videoId, options: { [option]: WRAPPED } }),
      status.INVALID_ARGUMENT,
      `${field} ${WRAPPED} is above the limit of ${limit}`,
    );
    await expectRefusedBeforeQueueing(
      () => startAnalysis({ videoId, options: { [option]: limit + 1 } }),
      status.INVALID_ARGUMENT,
      `${field} ${limit + 1} is above the limit of ${limit}`,
    );
  });

  it('accepts iterations at the limit', async () => {
    const { job } = await startAnalysis({ videoId, options: { m1Iterations: WORK_LIMITS.m1Iterations, m2Iterations: WORK_LIMITS.m2Iterations } });
    expect((await gateway.jobs.get(job!.jobId)).params).toMatchObject({ m1Iterations: WORK_LIMITS.m1Iterations, m2Iterations: WORK_LIMITS.m2Iterations });
  });
});

describe('work limits at StartTraining', () => {
  it.each<[keyof StartTrainingRequest, number]>([
    ['iterations', WORK_LIMITS.m3Iterations],
    ['k', WORK_LIMITS.k],
    ['crop', WORK_LIMITS.crop],
    ['batch', WORK_LIMITS.batch],
  ])('refuses %s = 4294967295 with INVALID_ARGUMENT naming it and its limit', async (field, limit) => {
    await expectRefusedBeforeQueueing(() => startTraining({ [field]: WRAPPED }), status.INVALID_ARGUMENT, `${field} ${WRAPPED} is above the limit of ${limit}`);
  });
});

describe('frame preconditions at the door', () => {
  let oneFrame = '';
  let threeFrames = '';
  beforeAll(async () => {
    // The synthetic generator makes 3 frames at least: one page of a gradient instead.
    const page = { data: Uint8Array.from({ length: 48 * 40 }, (_, i) => i % 251), width: 48, height: 40 };
    oneFrame = (await upload(gateway.clients.video, encodeTiff([page]))).videoId;
    threeFrames = (await upload(gateway.clients.video, syntheticTiff({ frames: 3 }))).videoId;
  });

  it('refuses an analysis of a 1-frame video with FAILED_PRECONDITION, queueing nothing', async () => {
    await expectRefusedBeforeQueueing(
      () => startAnalysis({ videoId: oneFrame }),
      status.FAILED_PRECONDITION,
      `video "${oneFrame}" has 1 frame; an analysis needs at least 2 (M2 learns how cells change from frame to frame)`,
    );
  });

  it('refuses an analysis of a 1-frame range of a longer video with INVALID_ARGUMENT', async () => {
    await expectRefusedBeforeQueueing(
      () => startAnalysis({ videoId, frames: { first: 4, last: 4 } }),
      status.INVALID_ARGUMENT,
      /^frames 4:4 hold 1 frame; an analysis needs at least 2/,
    );
  });

  it('refuses training with k above the video or the annotated frames, naming both numbers', async () => {
    const shortSet = (
      await call(gateway.clients.annotation.submitAnnotations.bind(gateway.clients.annotation), {
        videoId,
        annotatedFrames: { first: 2, last: 4 },
        source: { $case: 'csv', value: Buffer.from('frame,x,y\n3,10,10\n') },
      })
    ).annotationSetId;
    await expectRefusedBeforeQueueing(
      () => startTraining({ annotationSetId: shortSet, k: 4 }),
      status.FAILED_PRECONDITION,
      'k = 4 is larger than the training frames 2:4 (3 frames): annotate at least k consecutive frames, or lower k',
    );
    await expectRefusedBeforeQueueing(
      () => startTraining({ k: 11 }),
      status.FAILED_PRECONDITION,
      `video "${videoId}" has 10 frames; training with k = 11 needs at least 11 (one window of k consecutive frames)`,
    );
  });

  it('refuses detection on a video shorter than the model k with FAILED_PRECONDITION', async () => {
    const { job, modelId } = await startTraining({ k: 4, iterations: 12 });
    const training = new TextEncoder().encode(
      JSON.stringify({ k: 4, factor: 4, trainingFrames: { first: 1, last: 10 }, annotations: 1, iterations: 12, finalLoss: 0.25, source: 'x' }),
    );
    await gateway.store.put(`models/${modelId}/training.json`, training);
    await gateway.jobs.update(job!.jobId, (record: JobRecord) => {
      for (const stage of Object.values(record.stages)) Object.assign(stage!, { state: 'SUCCEEDED', attempts: 1 });
      record.state = 'SUCCEEDED';
      record.endedAt = new Date().toISOString();
    });
    await expectRefusedBeforeQueueing(
      () => runDetection({ videoId: threeFrames, modelId }),
      status.FAILED_PRECONDITION,
      `video "${threeFrames}" has 3 frames; detection with k = 4 needs at least 4 (one window of k consecutive frames)`,
    );
  });
});
