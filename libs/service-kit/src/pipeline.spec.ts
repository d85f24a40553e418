import { InvalidInputError } from '@mitosis/core';
import { newJob } from '@mitosis/events';
import { Stage as ProtoStage, StageRequest, VideoFormat } from '@mitosis/proto';
import { METHOD_DEFAULTS } from '@mitosis/stages';
import { DEFAULT_STAGE_DEFAULTS } from './config';
import { checkJobParams } from './job-params';
import { buildStageRequest, jobStages, nextStage, stagesFor, topologyConfig } from './pipeline';
import { resolveStageTask } from './task-resolution';
import { fromProtoStage, stageRequestCodec, toProtoStage } from './stage-codec';

const analysis = newJob({
  id: 'a1',
  kind: 'analysis',
  stages: stagesFor('analysis'),
  params: { videoId: 'v1', frames: { first: 3, last: 20 }, seed: 7, m1Iterations: 5, m2Iterations: 6, crop: 32, sequenceLength: 8 },
});
const training = newJob({
  id: 't1',
  kind: 'training',
  stages: stagesFor('training'),
  params: { videoId: 'v1', annotationSetId: 's1', modelId: 'mod1', trainingFrames: { first: 1, last: 8 }, k: 4, iterations: 3, batch: 1, positiveWeight: 4 },
});
const detection = newJob({ id: 'd1', kind: 'detection', stages: stagesFor('detection', { ingest: true }), params: { videoId: 'v2', modelId: 'mod1', vote: 'mean' } });

describe('stages of a job', () => {
  it('lists them in the method order whatever order they were given in', () => {
    expect(stagesFor('analysis')).toEqual(['ingest', 'm1', 'm2']);
    expect(stagesFor('analysis', { ingest: false })).toEqual(['m1', 'm2']);
    expect(stagesFor('training')).toEqual(['m3-train']);
    expect(stagesFor('detection', { ingest: true })).toEqual(['ingest', 'm3-detect']);
    const shuffled = newJob({ id: 'x', kind: 'analysis', stages: ['m2', 'ingest', 'm1'] });
    expect(jobStages(shuffled)).toEqual(['ingest', 'm1', 'm2']);
  });

  it('nextStage walks them and ends after the last', () => {
    expect(nextStage(analysis)).toBe('ingest');
    expect(nextStage(analysis, 'ingest')).toBe('m1');
    expect(nextStage(analysis, 'm1')).toBe('m2');
    expect(nextStage(analysis, 'm2')).toBeUndefined();
    expect(nextStage(detection, 'ingest')).toBe('m3-detect');
    expect(() => nextStage(training, 'm1')).toThrow('stage m1 is not a stage of this job (m3-train)');
  });
});

describe('buildStageRequest', () => {
  it('builds each analysis stage from the job params and the key layout', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    expect(buildStageRequest(analysis, 'ingest', { now })).toEqual({
      jobId: 'a1',
      videoId: 'v1',
      stage: ProtoStage.STAGE_INGEST,
      inputKeys: { source: 'videos/v1/source' },
      outputPrefix: 'videos/v1',
      attempt: 1,
      requestTime: now,
      params: { $case: 'ingest', value: { hints: undefined, downscaleFactor: 0 } },
    });
    const m1 = buildStageRequest(analysis, 'm1', { now });
    expect(m1).toMatchObject({ outputPrefix: 'analyses/a1', inputKeys: { frames: 'videos/v1/frames' } });
    expect(m1.params).toEqual({ $case: 'm1', value: { frames: { first: 3, last: 20 }, iterations: 5, seed: 7, featureMaps: 0, normalCellMapOverride: undefined } });
    const m2 = buildStageRequest(analysis, 'm2', { now, attempt: 2 });
    expect(m2).toMatchObject({ attempt: 2, inputKeys: { normal_cell_map: 'analyses/a1/normal-cell-map' } });
    expect(m2.params).toEqual({ $case: 'm2', value: { frames: { first: 3, last: 20 }, iterations: 6, seed: 7 } });
  });

  it('builds training and detection stages', () => {
    expect(buildStageRequest(training, 'm3-train')).toMatchObject({
      outputPrefix: 'models/mod1',
      inputKeys: { frames: 'videos/v1/frames', annotations: 'annotations/s1.json' },
      params: { $case: 'm3Train', value: { modelId: 'mod1', annotationSetId: 's1', trainingFrames: { first: 1, last: 8 }, k: 4, iterations: 3, seed: 1 } },
    });
    expect(buildStageRequest(detection, 'm3-detect')).toMatchObject({
      videoId: 'v2',
      outputPrefix: 'detections/d1',
      inputKeys: { model: 'models/mod1' },
      params: { $case: 'm3Detect', value: { modelId: 'mod1', frames: undefined, windowStep: 0 } },
    });
  });

  it('refuses a stage of another kind of job', () => {
    expect(() => buildStageRequest(training, 'm1')).toThrow('stage m1 is not part of a training job');
    expect(() => buildStageRequest(analysis, 'm3-detect')).toThrow(InvalidInputError);
  });

  it('round-trips through the protobuf codec', () => {
    const request = buildStageRequest(analysis, 'm1', { now: new Date('2030-01-01T00:00:00Z') });
    expect(stageRequestCodec.decode(stageRequestCodec.encode(request))).toEqual(request);
  });
});

describe('stageRequestCodec', () => {
  it('refuses bytes that are no StageRequest, and requests that cannot be run', () => {
    expect(() => stageRequestCodec.decode(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(/does not decode as mitosis.internal.v1.StageRequest/);
    const encode = (request: StageRequest): Uint8Array => StageRequest.encode(request).finish();
    expect(() => stageRequestCodec.decode(encode(StageRequest.fromPartial({ videoId: 'v' })))).toThrow('stage request has no job id');
    expect(() => stageRequestCodec.decode(encode(StageRequest.fromPartial({ jobId: 'j', videoId: 'v', stage: ProtoStage.STAGE_UNSPECIFIED })))).toThrow(
      'is not a stage a worker runs',
    );
    const mismatched = StageRequest.fromPartial({ jobId: 'j', videoId: 'v', stage: ProtoStage.STAGE_M2, params: { $case: 'm1', value: { iterations: 1 } } });
    expect(() => stageRequestCodec.decode(encode(mismatched))).toThrow('stage request of job j is for stage m2 but carries m1 parameters');
  });

  it('maps stage names both ways', () => {
    for (const stage of ['ingest', 'm1', 'm2', 'm3-train', 'm3-detect'] as const) expect(fromProtoStage(toProtoStage(stage))).toBe(stage);
  });
});

describe('checkJobParams', () => {
  it.each([
    ['analysis', { frames: { first: 1, last: 2 } }, 'job params: videoId is required'],
    ['analysis', { videoId: 'v/1' }, 'job params: video id "v/1"'],
    ['analysis', { videoId: 'v', frames: { first: 0, last: 3 } }, 'frames must be {first, last} with 1 <= first <= last'],
    ['analysis', { videoId: 'v', m1Iterations: 1.5 }, 'm1Iterations must be an integer'],
    ['analysis', { videoId: 'v', featureMaps: 4, normalCellMapOverride: 4 }, 'normalCellMapOverride 4 is not one of the 4 feature maps (0..3)'],
    ['analysis', { videoId: 'v', iterations: 3 }, 'unknown field "iterations"'],
    ['analysis', { videoId: 'v', m2PositiveWeight: -2 }, 'm2PositiveWeight must be a number > 0'],
    ['analysis', { videoId: 'v', m2Crop: 3 }, 'm2Crop must be 0 (the M1 crop) or at least 4'],
    ['analysis', { videoId: 'v', erosions: -1 }, 'erosions must be an integer in 0..64'],
    ['analysis', { videoId: 'v', m2LossMargin: 0.5 }, 'm2LossMargin must be an integer'],
    ['training', { videoId: 'v', annotationSetId: 's', modelId: 'm', trainingFrames: { first: 1, last: 3 }, k: 4 }, 'hold 3 frames, fewer than k = 4'],
    ['training', { videoId: 'v', annotationSetId: 's', modelId: 'm', trainingFrames: { first: 1, last: 3 } }, 'k is required'],
    ['detection', { videoId: 'v', modelId: 'm', vote: 'max' }, 'vote must be "any" or "mean"'],
    ['detection', { videoId: 'v', modelId: 'm', threshold: 1 }, 'threshold must be a number between 0 and 1'],
    ['detection', { videoId: 'v', modelId: 'm', mergeDistance: -1 }, 'mergeDistance must be an integer in 0..1024'],
    ['training', { videoId: 'v', annotationSetId: 's', modelId: 'm', trainingFrames: { first: 1, last: 8 }, k: 4, threshold: -0.5 }, 'threshold must be a number between 0 and 1'],
    ['training', { videoId: 'v', annotationSetId: 's', modelId: 'm', trainingFrames: { first: 1, last: 8 }, k: 4, crop: 2 }, 'crop must be an integer in 4..4096'],
  ] as const)('%s %j: %s', (kind, params, message) => {
    expect(() => checkJobParams(kind, params)).toThrow(message);
  });

  it('accepts and types good params', () => {
    expect(checkJobParams('detection', { videoId: 'v', modelId: 'm', frames: { first: 2, last: 9 } }).frames).toEqual({ first: 2, last: 9 });
  });
});

describe('resolveStageTask', () => {
  it('takes the request first, the job params for what the proto lacks, the defaults last', () => {
    const m1 = resolveStageTask(buildStageRequest(analysis, 'm1'), { job: analysis });
    expect(m1).toEqual({
      stage: 'm1',
      jobId: 'a1',
      videoId: 'v1',
      framesKey: 'videos/v1/frames',
      prefix: 'analyses/a1',
      range: { first: 3, last: 20 },
      iterations: 5,
      crop: 32,
      seed: 7,
    });
    const m2 = resolveStageTask(buildStageRequest(analysis, 'm2'), { job: analysis });
    expect(m2).toMatchObject({ stage: 'm2', iterations: 6, crop: 32, sequenceLength: 8, seed: 7 });
    // M2's and the map cleaning's knobs come from the job params alone; absent, the stage defaults.
    const tuned = newJob({
      id: 'a3',
      kind: 'analysis',
      stages: ['m1', 'm2'],
      params: { videoId: 'v1', crop: 64, erosions: 0, minArea: 5, minFrames: 3, m2Crop: 32, m2Batch: 4, m2PositiveWeight: 2.5, m2LossMargin: 4 },
    });
    expect(resolveStageTask(buildStageRequest(tuned, 'm1'), { job: tuned })).toMatchObject({ crop: 64, erosions: 0, minArea: 5, minFrames: 3 });
    expect(resolveStageTask(buildStageRequest(tuned, 'm2'), { job: tuned })).toMatchObject({ crop: 32, batch: 4, positiveWeight: 2.5, lossMargin: 4 });
    for (const key of ['erosions', 'minArea', 'minFrames']) expect(m1).not.toHaveProperty(key);
    // min_area 0 is the paper's "keep all", not the automatic default of an absent one.
    const keepAll = newJob({ id: 'a4', kind: 'analysis', stages: ['m1'], params: { videoId: 'v1', minArea: 0 } });
    expect(resolveStageTask(buildStageRequest(keepAll, 'm1'), { job: keepAll })).toMatchObject({ minArea: 0 });
    for (const key of ['batch', 'positiveWeight', 'lossMargin']) expect(m2).not.toHaveProperty(key);
    const bare = newJob({ id: 'a2', kind: 'analysis', stages: ['m1'], params: { videoId: 'v1' } });
    expect(resolveStageTask(buildStageRequest(bare, 'm1'))).toMatchObject({ iterations: DEFAULT_STAGE_DEFAULTS.m1Iterations, crop: 96, seed: 1 });
    expect(resolveStageTask(buildStageRequest(bare, 'ingest'), { defaults: { ...DEFAULT_STAGE_DEFAULTS, downscaleFactor: 2 } })).toEqual({
      stage: 'ingest',
      jobId: 'a2',
      videoId: 'v1',
      framesKey: 'videos/v1/frames',
      sourceKey: 'videos/v1/source',
      factor: 2,
      factorChosen: false,
      hints: {},
    });
    // The channel chosen at upload travels with every kind of job to its ingest.
    const gfp = newJob({ id: 'd2', kind: 'detection', stages: ['ingest', 'm3-detect'], params: { videoId: 'v1', modelId: 'mdl-1', channel: 1 } });
    expect(buildStageRequest(gfp, 'ingest').params).toEqual({ $case: 'ingest', value: { downscaleFactor: 0, channel: 1 } });
    expect(resolveStageTask(buildStageRequest(gfp, 'ingest'))).toMatchObject({ stage: 'ingest', channel: 1 });
    expect(checkJobParams('detection', { videoId: 'v1', modelId: 'mdl-1', channel: 1 })).toMatchObject({ channel: 1 });
    expect(() => checkJobParams('detection', { videoId: 'v1', modelId: 'mdl-1', channel: -1 })).toThrow(/channel/);
  });

  it('resolves training and detection tasks', () => {
    expect(resolveStageTask(buildStageRequest(training, 'm3-train'), { job: training })).toEqual({
      stage: 'm3-train',
      jobId: 't1',
      videoId: 'v1',
      framesKey: 'videos/v1/frames',
      annotationsKey: 'annotations/s1.json',
      modelPrefix: 'models/mod1',
      range: { first: 1, last: 8 },
      k: 4,
      iterations: 3,
      crop: METHOD_DEFAULTS.m3.crop,
      batch: 1,
      seed: 1,
      positiveWeight: 4,
      threshold: 'auto',
    });
    // The public request's knobs (StartTraining, RunDetection) reach the stage from the job params.
    const tuned = newJob({ id: 't2', kind: 'training', stages: ['m3-train'], params: { ...training.params, crop: 48, threshold: 0.3 } });
    expect(resolveStageTask(buildStageRequest(tuned, 'm3-train'), { job: tuned })).toMatchObject({ crop: 48, batch: 1, positiveWeight: 4, threshold: 0.3 });
    const bare = newJob({
      id: 't3',
      kind: 'training',
      stages: ['m3-train'],
      params: { videoId: 'v1', annotationSetId: 's1', modelId: 'mod1', trainingFrames: { first: 1, last: 8 }, k: 4 },
    });
    expect(resolveStageTask(buildStageRequest(bare, 'm3-train'), { job: bare })).toMatchObject({
      iterations: METHOD_DEFAULTS.m3.iterations,
      crop: METHOD_DEFAULTS.m3.crop,
      batch: METHOD_DEFAULTS.m3.batch,
      positiveWeight: METHOD_DEFAULTS.m3.positiveWeight,
      threshold: 'auto',
    });
    const fixed = newJob({ id: 'd2', kind: 'detection', stages: ['m3-detect'], params: { videoId: 'v2', modelId: 'mod1', threshold: 0.4, mergeDistance: 0 } });
    const fixedTask = resolveStageTask(buildStageRequest(fixed, 'm3-detect'), { job: fixed });
    expect(fixedTask).toMatchObject({ threshold: 0.4, mergeDistance: 0 });
    expect(fixedTask).not.toHaveProperty('vote');
    expect(resolveStageTask(buildStageRequest(detection, 'm3-detect'), { job: detection })).toEqual({
      stage: 'm3-detect',
      jobId: 'd1',
      videoId: 'v2',
      framesKey: 'videos/v2/frames',
      modelPrefix: 'models/mod1',
      modelId: 'mod1',
      step: 2,
      vote: 'mean',
      mergeDistance: METHOD_DEFAULTS.m3.mergeDistance,
      detectionsKey: 'detections/d1/detections.json',
      probabilityKey: 'detections/d1/probability',
    });
  });

  it('carries the upload hints of an ingest request', () => {
    const request = StageRequest.fromPartial({
      jobId: 'j',
      videoId: 'v',
      stage: ProtoStage.STAGE_INGEST,
      params: { $case: 'ingest', value: { downscaleFactor: 4, hints: { format: VideoFormat.VIDEO_FORMAT_FRAME_ARCHIVE, frameCount: 12, bitDepth: 16 } } },
    });
    expect(resolveStageTask(request)).toMatchObject({ factor: 4, factorChosen: true, hints: { format: 'frame-archive', frameCount: 12, bitDepth: 16 } });
  });
});

describe('topologyConfig', () => {
  it('gives every stage the configured delivery settings', () => {
    const config = topologyConfig({ prefix: 'p', ackWaitMs: 2000, maxDeliver: 3 });
    expect(config.prefix).toBe('p');
    expect(Object.keys(config.stages ?? {})).toEqual(['ingest', 'm1', 'm2', 'm3-train', 'm3-detect']);
    expect(config.stages?.m1).toEqual({ ackWaitMs: 2000, maxDeliver: 3 });
  });
});
