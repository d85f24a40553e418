import { createHash } from 'node:crypto';
import { Metadata, Server, ServerCredentials, credentials, status } from '@grpc/grpc-js';
import type { ServiceError, ServerUnaryCall, ServerWritableStream, sendUnaryData, ServerReadableStream } from '@grpc/grpc-js';
import { Job, JobKind, JobServiceClient, JobServiceService, JobState, Stage, VideoServiceClient, VideoServiceService } from './index';
import type { GetJobRequest, GetJobResponse, StageProgress, UploadVideoRequest, UploadVideoResponse, WatchJobRequest, WatchJobResponse } from './index';

// A real HTTP/2 round trip through the generated definitions and clients: the servers below are
// small in-memory implementations written for the test, the clients are the generated ones.

const m1Progress = (done: number, state: JobState): StageProgress => ({
  jobId: 'job-1',
  stage: Stage.STAGE_M1,
  state,
  step: 'm1.train',
  done,
  total: 3,
  detail: `loss ${(0.5 / (done + 1)).toFixed(3)}`,
  failureReason: '',
  attempt: 1,
  startTime: new Date('2024-05-01T10:00:00.000Z'),
  updateTime: new Date(Date.UTC(2024, 4, 1, 10, 0, done)),
  endTime: state === JobState.JOB_STATE_SUCCEEDED ? new Date(Date.UTC(2024, 4, 1, 10, 0, done)) : undefined,
});

const jobs = new Map<string, Job>([
  [
    'job-1',
    Job.fromPartial({
      jobId: 'job-1',
      kind: JobKind.JOB_KIND_ANALYSIS,
      videoId: 'vid-1',
      state: JobState.JOB_STATE_RUNNING,
      stages: [m1Progress(1, JobState.JOB_STATE_RUNNING)],
      createTime: new Date('2024-05-01T09:59:00.000Z'),
      startTime: new Date('2024-05-01T10:00:00.000Z'),
    }),
  ],
]);

function notFound(jobId: string): Partial<ServiceError> {
  return { code: status.NOT_FOUND, details: `job "${jobId}" not found`, metadata: new Metadata() };
}

const jobService = {
  getJob(call: ServerUnaryCall<GetJobRequest, GetJobResponse>, callback: sendUnaryData<GetJobResponse>): void {
    const job = jobs.get(call.request.jobId);
    if (job === undefined) callback(notFound(call.request.jobId), null);
    else callback(null, { job });
  },
  // Replays the current state, then M1 finishing its three iterations, then closes (job ended).
  watchJob(call: ServerWritableStream<WatchJobRequest, WatchJobResponse>): void {
    if (!jobs.has(call.request.jobId)) {
      // grpc-js sends the status of a server stream emitted as 'error'.
      call.emit('error', notFound(call.request.jobId));
      return;
    }
    call.write({ progress: m1Progress(1, JobState.JOB_STATE_RUNNING), jobState: JobState.JOB_STATE_RUNNING });
    call.write({ progress: m1Progress(2, JobState.JOB_STATE_RUNNING), jobState: JobState.JOB_STATE_RUNNING });
    call.write({ progress: m1Progress(3, JobState.JOB_STATE_SUCCEEDED), jobState: JobState.JOB_STATE_SUCCEEDED });
    call.end();
  },
};

const videoService = {
  // Checks the stream the way the contract says: header first and once, then size and checksum.
  uploadVideo(call: ServerReadableStream<UploadVideoRequest, UploadVideoResponse>, callback: sendUnaryData<UploadVideoResponse>): void {
    let header: { sizeBytes: number; sha256: string } | undefined;
    let received = 0;
    const hash = createHash('sha256');
    let failed = false;
    const fail = (details: string): void => {
      failed = true;
      callback({ code: status.INVALID_ARGUMENT, details, metadata: new Metadata() }, null);
    };
    call.on('data', (message: UploadVideoRequest) => {
      if (failed) return;
      const content = message.content;
      if (content?.$case === 'header') {
        if (header !== undefined) fail('upload: a second header after the first message');
        else header = content.value;
      } else if (content?.$case === 'chunk') {
        if (header === undefined) fail('upload: the first message must be the header');
        else {
          received += content.value.length;
          hash.update(content.value);
        }
      }
    });
    call.on('end', () => {
      if (failed) return;
      if (header === undefined) return fail('upload: no header');
      if (received !== header.sizeBytes) return fail(`upload: ${received} bytes received, header declared ${header.sizeBytes}`);
      const sha256 = hash.digest('hex');
      if (sha256 !== header.sha256) return fail(`upload: sha256 ${sha256} differs from the header's ${header.sha256}`);
      callback(null, { videoId: `vid-${sha256.slice(0, 8)}`, info: { frameCount: 2, width: 4, height: 3, bitDepth: 8, channels: [] }, alreadyStored: false });
    });
  },
};

describe('gRPC round trip over a socket', () => {
  const server = new Server();
  let jobClient: JobServiceClient;
  let videoClient: VideoServiceClient;

  beforeAll(async () => {
    server.addService(JobServiceService, jobService);
    server.addService(VideoServiceService, videoService);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    jobClient = new JobServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    videoClient = new VideoServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterAll(async () => {
    jobClient.close();
    videoClient.close();
    // Drain gracefully; a call left open by a failing test must not keep jest alive.
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  });

  const getJob = (jobId: string): Promise<GetJobResponse> =>
    new Promise((resolve, reject) => {
      jobClient.getJob({ jobId }, (error, response) => (error ? reject(error) : resolve(response)));
    });

  it('answers a unary GetJob with the stored job, timestamps included', async () => {
    const response = await getJob('job-1');
    expect(response.job).toEqual(jobs.get('job-1'));
    expect(response.job?.createTime).toBeInstanceOf(Date);
  });

  it('maps an unknown job to NOT_FOUND with the id in the message', async () => {
    await expect(getJob('job-404')).rejects.toMatchObject({ code: status.NOT_FOUND, details: 'job "job-404" not found' });
  });

  it('streams WatchJob progress in order and ends after the final state', async () => {
    const events: WatchJobResponse[] = [];
    for await (const event of jobClient.watchJob({ jobId: 'job-1' })) events.push(event as WatchJobResponse);
    expect(events.map((e) => [e.progress?.done, e.jobState])).toEqual([
      [1, JobState.JOB_STATE_RUNNING],
      [2, JobState.JOB_STATE_RUNNING],
      [3, JobState.JOB_STATE_SUCCEEDED],
    ]);
    expect(events[2]!.progress).toEqual(m1Progress(3, JobState.JOB_STATE_SUCCEEDED));
  });

  it('ends WatchJob of an unknown job with NOT_FOUND', async () => {
    const consume = async (): Promise<number> => {
      let count = 0;
      for await (const _event of jobClient.watchJob({ jobId: 'job-404' })) count += 1;
      return count;
    };
    await expect(consume()).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  const upload = (messages: UploadVideoRequest[]): Promise<UploadVideoResponse> =>
    new Promise((resolve, reject) => {
      const call = videoClient.uploadVideo((error, response) => (error ? reject(error) : resolve(response)));
      for (const message of messages) call.write(message);
      call.end();
    });

  it('uploads a video as a client stream of a header then chunks', async () => {
    const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31) % 256));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const response = await upload([
      { content: { $case: 'header', value: { filename: 'clip.tif', sizeBytes: bytes.length, sha256 } } },
      { content: { $case: 'chunk', value: bytes.subarray(0, 65_536) } },
      { content: { $case: 'chunk', value: bytes.subarray(65_536) } },
    ]);
    expect(response).toEqual({ videoId: `vid-${sha256.slice(0, 8)}`, info: { frameCount: 2, width: 4, height: 3, bitDepth: 8, channels: [] }, alreadyStored: false });
  });

  it('rejects an upload whose bytes do not match the declared size', async () => {
    await expect(
      upload([{ content: { $case: 'header', value: { filename: 'clip.tif', sizeBytes: 10, sha256: '00'.repeat(32) } } }, { content: { $case: 'chunk', value: Buffer.alloc(4) } }]),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: 'upload: 4 bytes received, header declared 10' });
  });
});
