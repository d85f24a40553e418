import { Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { Job as JobRecord } from '@mitosis/events';
import type { ExportDetectionsResponse, SubmitAnnotationsRequest } from '@mitosis/proto';
import { DetectionVote, JobKind, JobState, RunDetectionRequest, Stage, StartTrainingRequest } from '@mitosis/proto';
import { keys } from '@mitosis/service-kit';
import { storePreprocessedVideo } from '@mitosis/stages';
import { call, gatewayForSpec, syntheticTiff, upload } from '../testing/harness';

const gateway = gatewayForSpec();
let videoId: string;

// A 10-frame 48x40 video.
beforeAll(async () => {
  videoId = (await upload(gateway.clients.video, syntheticTiff({ frames: 10, width: 48, height: 40 }))).videoId;
});

const submit = (request: Partial<SubmitAnnotationsRequest>) =>
  call(gateway.clients.annotation.submitAnnotations.bind(gateway.clients.annotation), { videoId, ...request } as SubmitAnnotationsRequest);
const startTraining = (request: Partial<StartTrainingRequest>) => call(gateway.clients.model.startTraining.bind(gateway.clients.model), StartTrainingRequest.fromPartial(request));
const getModel = (modelId: string) => call(gateway.clients.model.getModel.bind(gateway.clients.model), { modelId });
const runDetection = (request: Partial<RunDetectionRequest>) =>
  call(gateway.clients.detection.runDetection.bind(gateway.clients.detection), RunDetectionRequest.fromPartial(request));
const points = (list: [number, number, number][]) => ({ $case: 'points' as const, value: { points: list.map(([frame, x, y]) => ({ frame, x, y })) } });

/** Marks every stage and the job SUCCEEDED, as the workers would at the end. */
const finish = (jobId: string) =>
  gateway.jobs.update(jobId, (job: JobRecord) => {
    for (const status of Object.values(job.stages)) Object.assign(status!, { state: 'SUCCEEDED', attempts: 1 });
    job.state = 'SUCCEEDED';
    job.endedAt = new Date().toISOString();
  });
const putJson = (key: string, value: unknown) => gateway.store.put(key, new TextEncoder().encode(JSON.stringify(value)));

describe('AnnotationService.SubmitAnnotations', () => {
  it('stores points inside the video and the annotated frames', async () => {
    const before = await gateway.keys();
    const response = await submit({
      annotatedFrames: { first: 3, last: 8 },
      source: points([
        [3, 10.5, 20],
        [8, 47.9, 0],
      ]),
    });
    expect(response).toMatchObject({ pointCount: 2, annotatedFrames: { first: 3, last: 8 } });
    expect((await gateway.keys()).filter((key) => !before.includes(key))).toEqual([`annotations/${response.annotationSetId}.json`]);
    const stored = JSON.parse(new TextDecoder().decode(await gateway.store.get(`annotations/${response.annotationSetId}.json`)));
    expect(stored).toMatchObject({
      setId: response.annotationSetId,
      videoId,
      annotatedFrames: { first: 3, last: 8 },
      points: [
        { frame: 3, x: 10.5, y: 20 },
        { frame: 8, x: 47.9, y: 0 },
      ],
    });
  });

  it('parses CSV bytes, the whole video being the annotated frames by default', async () => {
    const response = await submit({ source: { $case: 'csv', value: Buffer.from('frame,x,y\n1,5,5\n10,40,30\n') } });
    expect(response).toMatchObject({ pointCount: 2, annotatedFrames: { first: 1, last: 10 } });
  });

  it('refuses points outside the video or the annotated frames with INVALID_ARGUMENT, storing nothing', async () => {
    const before = await gateway.keys();
    await expect(
      submit({
        source: points([
          [2, 5, 5],
          [3, 48, 10],
        ]),
      }),
    ).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringMatching(/1 of 2 points lie outside the video.*#2 frame 3 x 48 y 10 \(x outside 0\.\.48\)/),
    });
    await expect(submit({ annotatedFrames: { first: 4, last: 6 }, source: points([[3, 5, 5]]) })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('frame before 4'),
    });
    await expect(submit({ source: points([[11, 5, 5]]) })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('frame after 10') });
    await expect(submit({ source: { $case: 'csv', value: Buffer.from('frame,x,y\n1,5,5\n2,abc,5\n') } })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'csv line 3: x "abc" is not a number',
    });
    await expect(submit({ source: points([]) })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('no points') });
    await expect(submit({ videoId: 'vid-unknown', source: points([[1, 1, 1]]) })).rejects.toMatchObject({ code: status.NOT_FOUND });
    expect(await gateway.keys()).toEqual(before);
  });
});

describe('ModelService and DetectionService', () => {
  let setId: string;
  beforeAll(async () => {
    setId = (
      await submit({
        annotatedFrames: { first: 3, last: 8 },
        source: points([
          [4, 10, 10],
          [6, 30, 20],
        ]),
      })
    ).annotationSetId;
  });

  it('StartTraining refuses k larger than the training frames (FAILED_PRECONDITION) and unknown ids (NOT_FOUND)', async () => {
    const before = await gateway.workCount();
    await expect(startTraining({ videoId, annotationSetId: setId, trainingFrames: { first: 3, last: 8 }, k: 7, iterations: 0, seed: 0 })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: expect.stringContaining('k = 7 is larger than the training frames 3:8 (6 frames)'),
    });
    // Absent training frames mean the set's annotated frames: still 6.
    await expect(startTraining({ videoId, annotationSetId: setId, k: 7, iterations: 0, seed: 0 })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    await expect(startTraining({ videoId, annotationSetId: 'ann-unknown', k: 2, iterations: 0, seed: 0 })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(startTraining({ videoId: 'vid-unknown', annotationSetId: setId, k: 2, iterations: 0, seed: 0 })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(startTraining({ videoId, annotationSetId: setId, trainingFrames: { first: 2, last: 8 }, k: 2, iterations: 0, seed: 0 })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('not inside the annotated frames 3:8'),
    });
    await expect(startTraining({ videoId, annotationSetId: setId, k: 0, iterations: 0, seed: 0 })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await gateway.workCount()).toBe(before);
  });

  it('trains, then detects, lists and exports detections (the workers simulated through KV and the store)', async () => {
    const { job, modelId } = await startTraining({ videoId, annotationSetId: setId, trainingFrames: { first: 3, last: 8 }, k: 4, iterations: 12, seed: 5 });
    expect(job).toMatchObject({ kind: JobKind.JOB_KIND_TRAINING, state: JobState.JOB_STATE_QUEUED });
    expect(job!.stages.map((s) => s.stage)).toEqual([Stage.STAGE_INGEST, Stage.STAGE_M3_TRAIN]);
    const { model } = await getModel(modelId);
    expect(model).toMatchObject({
      modelId,
      videoId,
      annotationSetId: setId,
      trainingFrames: { first: 3, last: 8 },
      k: 4,
      iterations: 12,
      seed: 5,
      trainingJobId: job!.jobId,
      state: JobState.JOB_STATE_QUEUED,
    });
    await expect(getModel('mdl-unknown')).rejects.toMatchObject({ code: status.NOT_FOUND });

    // Detection needs a trained model.
    await expect(runDetection({ videoId, modelId })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringContaining('QUEUED') });
    await putJson(`models/${modelId}/training.json`, { k: 4, factor: 4, trainingFrames: { first: 3, last: 8 }, annotations: 2, iterations: 12, finalLoss: 0.25, source: 'x' });
    await finish(job!.jobId);
    expect((await getModel(modelId)).model!.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    const { job: trained } = await call(gateway.clients.job.getJob.bind(gateway.clients.job), { jobId: job!.jobId });
    expect(trained!.result).toEqual({ $case: 'training', value: { modelId, finalLoss: 0.25 } });

    await expect(runDetection({ videoId, modelId, frames: { first: 5, last: 7 } })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining("fewer than the model's k = 4"),
    });
    await expect(runDetection({ videoId, modelId: 'mdl-unknown' })).rejects.toMatchObject({ code: status.NOT_FOUND });
    const { job: detection } = await runDetection({ videoId, modelId, frames: { first: 2, last: 9 } });
    expect(detection!.kind).toBe(JobKind.JOB_KIND_DETECTION);
    const { request } = await gateway.lastWork(detection!.stages[0]!.stage === Stage.STAGE_INGEST ? 'ingest' : 'm3-detect');
    expect(request.jobId).toBe(detection!.jobId);
    const jobId = detection!.jobId;

    const listDetections = gateway.clients.detection.listDetections.bind(gateway.clients.detection);
    await expect(call(listDetections, { jobId, pageSize: 0, pageToken: '' })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    // What the detection stage writes: a DetectionsFile, in no particular order here.
    const found = [
      { frame: 6, x: 30.25, y: 20, score: 0.91 },
      { frame: 4, x: 10, y: 12.5, score: 0.8 },
      { frame: 4, x: 40, y: 3, score: 0.55556 },
    ];
    await putJson(`detections/${jobId}/detections.json`, { jobId, videoId, modelId, frames: { first: 2, last: 9 }, k: 4, factor: 4, count: 3, detections: found });
    await finish(jobId);

    const page1 = await call(listDetections, { jobId, pageSize: 2, pageToken: '' });
    expect(page1.totalCount).toBe(3);
    expect(page1.detections.map((d) => [d.frame, d.x, d.y])).toEqual([
      [4, 40, 3],
      [4, 10, 12.5],
    ]);
    const page2 = await call(listDetections, { jobId, pageSize: 2, pageToken: page1.nextPageToken });
    expect(page2).toMatchObject({ nextPageToken: '', totalCount: 3, detections: [{ frame: 6, x: 30.25, y: 20, score: 0.91, voxelCount: 0 }] });
    // A plain TIFF states no physical sizes: no minutes nor micrometres.
    expect([page1.detections[0]!.timeMin, page1.detections[0]!.xUm, page1.detections[0]!.yUm]).toEqual([undefined, undefined, undefined]);
    // Where the video's record states them (as an OME-TIFF's does), each detection carries them.
    const recordKey = `videos/${videoId}/video.json`;
    const record = await gateway.store.get(recordKey);
    await putJson(recordKey, { ...JSON.parse(new TextDecoder().decode(record)), physical: { pixelSizeUm: { x: 0.5, y: 0.25 }, frameIntervalS: 90 } });
    try {
      const physical = await call(listDetections, { jobId, pageSize: 1, pageToken: '' });
      expect(physical.detections[0]).toMatchObject({ frame: 4, x: 40, y: 3, timeMin: 4.5, xUm: 20, yUm: 0.75 });
    } finally {
      await gateway.store.put(recordKey, record);
    }
    await expect(call(listDetections, { jobId, pageSize: 2, pageToken: 'garbage!' })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(call(listDetections, { jobId: trained!.jobId, pageSize: 0, pageToken: '' })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });

    const csv = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const stream = gateway.clients.detection.exportDetections({ jobId }, new Metadata());
      stream.on('data', (message: ExportDetectionsResponse) => chunks.push(message.chunk));
      stream.on('error', (error: ServiceError) => reject(error));
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    expect(csv).toBe('frame,x,y,score\n4,40,3,0.5556\n4,10,12.5,0.8\n6,30.25,20,0.91\n');
    const { job: done } = await call(gateway.clients.job.getJob.bind(gateway.clients.job), { jobId });
    expect(done!.result).toEqual({ $case: 'detection', value: { detectionCount: 3 } });
  });

  it("RunDetection refuses frames stored at another scale than the model's, and ingests new ones at the model's", async () => {
    const frames = { first: 3, last: 8 };
    const { job, modelId } = await startTraining({ videoId, annotationSetId: setId, trainingFrames: frames, k: 4 });
    await putJson(`models/${modelId}/training.json`, { k: 4, factor: 4, flatField: false, trainingFrames: frames, annotations: 2, iterations: 12, finalLoss: 0.25, source: 'x' });
    await finish(job!.jobId);

    // A video not ingested yet: its detection job's ingest is told the model's factor.
    const fresh = (await upload(gateway.clients.video, syntheticTiff({ frames: 10, width: 48, height: 40, seed: 21 }))).videoId;
    const { job: detection } = await runDetection({ videoId: fresh, modelId });
    expect((await gateway.jobs.get(detection!.jobId)).params).toMatchObject({ downscaleFactor: 4 });

    // Frames already stored at factor 2 (12x10 px): FAILED_PRECONDITION naming both factors, nothing queued.
    const volume = { data: new Float32Array(10 * 10 * 12), frames: 10, height: 10, width: 12 };
    const preprocessed = { volume, factor: 2, originalWidth: 48, originalHeight: 40, bitDepth: 8 as const, firstFrame: 1, flatField: false };
    await storePreprocessedVideo(
      gateway.store,
      keys.videoFrames(fresh),
      { ...preprocessed, volume: { ...volume, height: 20, width: 24, data: new Float32Array(10 * 20 * 24) } },
      'x',
    );
    const before = await gateway.workCount();
    await expect(runDetection({ videoId: fresh, modelId })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: expect.stringMatching(/stored downscaled by 2 \(24x20 px\), model "[^"]+" was trained on frames downscaled by 4/),
    });
    // The same scale but flat-field corrected: refused as well.
    await storePreprocessedVideo(gateway.store, keys.videoFrames(fresh), { ...preprocessed, factor: 4, flatField: true }, 'x');
    await expect(runDetection({ videoId: fresh, modelId })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: expect.stringContaining('without flat-field correction'),
    });
    expect(await gateway.workCount()).toBe(before);
    await storePreprocessedVideo(gateway.store, keys.videoFrames(fresh), { ...preprocessed, factor: 4 }, 'x');
    await expect(runDetection({ videoId: fresh, modelId })).resolves.toMatchObject({ job: { kind: JobKind.JOB_KIND_DETECTION } });
  });

  it("carries StartTraining's and RunDetection's options into the job, leaving out the defaults, and refuses bad ones", async () => {
    const frames = { first: 3, last: 8 };
    const { job, modelId } = await startTraining({ videoId, annotationSetId: setId, trainingFrames: frames, k: 4, crop: 48, batch: 3, positiveWeight: 7.5, threshold: 0.35 });
    expect((await gateway.jobs.get(job!.jobId)).params).toMatchObject({ crop: 48, batch: 3, positiveWeight: 7.5, threshold: 0.35 });
    const plain = await startTraining({ videoId, annotationSetId: setId, trainingFrames: frames, k: 4 });
    for (const key of ['crop', 'batch', 'positiveWeight', 'threshold']) expect((await gateway.jobs.get(plain.job!.jobId)).params).not.toHaveProperty(key);
    const before = await gateway.workCount();
    await expect(startTraining({ videoId, annotationSetId: setId, trainingFrames: frames, k: 4, threshold: 1.5 })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('threshold must be a number between 0 and 1'),
    });
    await expect(startTraining({ videoId, annotationSetId: setId, trainingFrames: frames, k: 4, positiveWeight: -1 })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('positiveWeight must be a number > 0'),
    });
    await expect(startTraining({ videoId, annotationSetId: setId, trainingFrames: frames, k: 4, crop: 2 })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('crop'),
    });
    expect(await gateway.workCount()).toBe(before);

    await putJson(`models/${modelId}/training.json`, { k: 4, factor: 4, trainingFrames: frames, annotations: 2, iterations: 12, finalLoss: 0.25, source: 'x' });
    await finish(job!.jobId);
    const { job: detection } = await runDetection({ videoId, modelId, threshold: 0.6, vote: DetectionVote.DETECTION_VOTE_MEAN, mergeDistance: 0 });
    expect((await gateway.jobs.get(detection!.jobId)).params).toMatchObject({ threshold: 0.6, vote: 'mean', mergeDistance: 0 });
    const { job: byModel } = await runDetection({ videoId, modelId });
    for (const key of ['threshold', 'vote', 'mergeDistance']) expect((await gateway.jobs.get(byModel!.jobId)).params).not.toHaveProperty(key);
    await expect(runDetection({ videoId, modelId, threshold: -0.2 })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('threshold') });
    await expect(runDetection({ videoId, modelId, vote: 7 as DetectionVote })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('vote') });
  });
});
