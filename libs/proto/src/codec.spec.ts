import { BinaryWriter } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import {
  FrameRange,
  Job,
  JobKind,
  JobState,
  MitosisPoint,
  Stage,
  StageRequest,
  SubmitAnnotationsRequest,
  UploadVideoHeader,
  UploadVideoRequest,
  VideoFormat,
  WatchJobResponse,
  jobStateToJSON,
} from './index';

describe('wire format', () => {
  it('encodes a frame range as the bytes protobuf specifies', () => {
    // field 1 varint (tag 0x08) = 1, field 2 varint (tag 0x10) = 18: the paper's 18 frames.
    const bytes = FrameRange.encode({ first: 1, last: 18 }).finish();
    expect(Buffer.from(bytes).toString('hex')).toBe('08011012');
    expect(FrameRange.decode(Buffer.from('08011012', 'hex'))).toEqual({ first: 1, last: 18 });
  });

  it('leaves proto3 default values off the wire', () => {
    expect(FrameRange.encode({ first: 0, last: 0 }).finish()).toHaveLength(0);
  });

  it('round-trips any mitosis point', () => {
    const coordinate = fc.double({ noNaN: true }).filter((v) => !Object.is(v, -0));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), coordinate, coordinate, (frame, x, y) => {
        const point = { frame, x, y };
        expect(MitosisPoint.decode(MitosisPoint.encode(point).finish())).toEqual(point);
      }),
    );
  });
});

describe('upload messages', () => {
  it('round-trips a header with a size past 32 bits and its hints', () => {
    const header: UploadVideoHeader = {
      filename: 'refdataB_C2.tif',
      sizeBytes: 5_000_000_000,
      sha256: 'ab'.repeat(32),
      hints: { format: VideoFormat.VIDEO_FORMAT_MULTIPAGE_TIFF, frameCount: 200, bitDepth: 8 },
    };
    const request: UploadVideoRequest = { content: { $case: 'header', value: header } };
    expect(UploadVideoRequest.decode(UploadVideoRequest.encode(request).finish())).toEqual(request);
  });

  it('keeps unset optional hints apart from zero', () => {
    const decoded = UploadVideoHeader.decode(UploadVideoHeader.encode({ filename: 'a.tif', sizeBytes: 1, sha256: '', hints: { format: 0, bitDepth: 0 } }).finish());
    expect(decoded.hints).toEqual({ format: VideoFormat.VIDEO_FORMAT_UNSPECIFIED, frameCount: undefined, bitDepth: 0 });
  });

  it('carries chunks as Buffer', () => {
    const chunk = Buffer.from([0, 1, 2, 255]);
    const decoded = UploadVideoRequest.decode(UploadVideoRequest.encode({ content: { $case: 'chunk', value: chunk } }).finish());
    expect(decoded.content?.$case).toBe('chunk');
    expect(Buffer.isBuffer(decoded.content?.value)).toBe(true);
    expect(decoded.content?.value).toEqual(chunk);
  });

  it('refuses a 64-bit size that a JS number cannot hold exactly', () => {
    // forceLong=number: ts-proto throws rather than silently rounding 2^60.
    const bytes = new BinaryWriter()
      .uint32(16)
      .uint64(2n ** 60n)
      .finish();
    expect(() => UploadVideoHeader.decode(bytes)).toThrow(/MAX_SAFE_INTEGER/);
  });
});

describe('job messages', () => {
  const job: Job = {
    jobId: 'job-7',
    kind: JobKind.JOB_KIND_TRAINING,
    videoId: 'vid-1',
    state: JobState.JOB_STATE_SUCCEEDED,
    stages: [
      {
        jobId: 'job-7',
        stage: Stage.STAGE_M3_TRAIN,
        state: JobState.JOB_STATE_SUCCEEDED,
        step: 'm3.train',
        done: 6000,
        total: 6000,
        detail: 'loss 0.0123',
        failureReason: '',
        attempt: 1,
        startTime: new Date('2024-05-01T10:00:00.000Z'),
        updateTime: new Date('2024-05-01T11:30:00.250Z'),
        endTime: new Date('2024-05-01T11:30:00.250Z'),
      },
    ],
    failureReason: '',
    createTime: new Date('2024-05-01T09:59:59.999Z'),
    startTime: new Date('2024-05-01T10:00:00.000Z'),
    endTime: new Date('2024-05-01T11:30:00.250Z'),
    result: { $case: 'training', value: { modelId: 'model-3', finalLoss: 0.0123 } },
  };

  it('round-trips a finished job with timestamps and its oneof result', () => {
    expect(Job.decode(Job.encode(job).finish())).toEqual(job);
  });

  it('writes enums by name in JSON and reads them back', () => {
    const json = Job.toJSON(job) as { state: string; stages: { stage: string }[] };
    expect(json.state).toBe('JOB_STATE_SUCCEEDED');
    expect(json.stages[0]!.stage).toBe('STAGE_M3_TRAIN');
    expect(Job.fromJSON(json)).toEqual(job);
    expect(jobStateToJSON(JobState.JOB_STATE_CANCELLED)).toBe('JOB_STATE_CANCELLED');
  });

  it('fills every field of a partial watch event with its default', () => {
    const event = WatchJobResponse.fromPartial({ progress: { stage: Stage.STAGE_M1, done: 3 } });
    expect(event.jobState).toBe(JobState.JOB_STATE_UNSPECIFIED);
    expect(event.progress).toMatchObject({ jobId: '', stage: Stage.STAGE_M1, done: 3, total: 0, startTime: undefined });
  });
});

describe('annotations and stage events', () => {
  it('round-trips annotations given as points and as CSV', () => {
    const points: SubmitAnnotationsRequest = {
      videoId: 'vid-1',
      annotatedFrames: { first: 93, last: 110 },
      source: {
        $case: 'points',
        value: {
          points: [
            { frame: 94, x: 430, y: 50 },
            { frame: 101, x: 540.5, y: 404 },
          ],
        },
      },
    };
    const csv: SubmitAnnotationsRequest = {
      videoId: 'vid-1',
      source: { $case: 'csv', value: Buffer.from('frame,x,y\n14,430,50\n', 'utf8') },
    };
    for (const request of [points, csv]) {
      expect(SubmitAnnotationsRequest.decode(SubmitAnnotationsRequest.encode(request).finish())).toEqual(request);
    }
  });

  it('round-trips a stage request with its keys and M1 parameters', () => {
    const request: StageRequest = {
      jobId: 'job-1',
      videoId: 'vid-1',
      stage: Stage.STAGE_M1,
      inputKeys: { frames: 'videos/vid-1/frames.zarr' },
      outputPrefix: 'jobs/job-1/m1/attempt-2/',
      attempt: 2,
      requestTime: new Date('2024-05-01T10:00:00.000Z'),
      params: {
        $case: 'm1',
        value: { frames: { first: 1, last: 110 }, iterations: 2000, seed: 42, featureMaps: 6, normalCellMapOverride: 0 },
      },
    };
    const decoded = StageRequest.decode(StageRequest.encode(request).finish());
    expect(decoded).toEqual(request);
    // An override of map 0 is a choice, not "unset": `optional` keeps it on the wire.
    expect(decoded.params?.$case === 'm1' && decoded.params.value.normalCellMapOverride).toBe(0);
  });
});
