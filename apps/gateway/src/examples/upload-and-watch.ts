// Example client (README "A TypeScript client"): upload a video with the generated clients of
// @mitosis/proto, start an analysis and follow it to its end. Run against a gateway:
//   TSX_TSCONFIG_PATH=tsconfig.base.json npx tsx apps/gateway/src/examples/upload-and-watch.ts video.tif [host:port]
// with MITOSIS_TOKEN set when the gateway requires a bearer token.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Metadata, credentials } from '@grpc/grpc-js';
import type { ChannelCredentials, ServiceError } from '@grpc/grpc-js';
import { AnalysisOptions, AnalysisServiceClient, JobServiceClient, JobState, Stage, VideoServiceClient } from '@mitosis/proto';
import type { UploadVideoResponse, WatchJobResponse } from '@mitosis/proto';

const CHUNK = 256 * 1024; // well under gRPC's 4 MiB message limit

/** Streams a file to VideoService.UploadVideo: the header (name, size, SHA-256) first, then chunks. */
export function uploadVideo(client: VideoServiceClient, filename: string, bytes: Buffer, metadata: Metadata): Promise<UploadVideoResponse> {
  return new Promise((resolve, reject) => {
    const call = client.uploadVideo(metadata, (error, response) => (error ? reject(error) : resolve(response)));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    call.write({ content: { $case: 'header', value: { filename, sizeBytes: bytes.length, sha256 } } });
    for (let at = 0; at < bytes.length; at += CHUNK) call.write({ content: { $case: 'chunk', value: bytes.subarray(at, at + CHUNK) } });
    call.end();
  });
}

/** Follows JobService.WatchJob until the job reaches a final state; resolves with that state. */
export function watchJob(client: JobServiceClient, jobId: string, metadata: Metadata, onProgress: (message: WatchJobResponse) => void): Promise<JobState> {
  return new Promise((resolve, reject) => {
    let last = JobState.JOB_STATE_UNSPECIFIED;
    const stream = client.watchJob({ jobId }, metadata);
    stream.on('data', (message: WatchJobResponse) => {
      last = message.jobState;
      onProgress(message);
    });
    stream.on('error', (error: ServiceError) => reject(error));
    stream.on('end', () => resolve(last));
  });
}

/** Upload, StartAnalysis (M1 + M2), watch: the whole unsupervised half of the method from a client. */
export async function uploadAndAnalyze(
  address: string,
  file: { name: string; bytes: Buffer },
  options: { token?: string; credentials?: ChannelCredentials; log?: (line: string) => void } = {},
): Promise<{ videoId: string; jobId: string; state: JobState }> {
  const creds = options.credentials ?? credentials.createInsecure();
  const metadata = new Metadata();
  if (options.token !== undefined) metadata.set('authorization', `Bearer ${options.token}`);
  const log = options.log ?? ((line: string) => console.log(line));
  const videos = new VideoServiceClient(address, creds);
  const analyses = new AnalysisServiceClient(address, creds);
  const jobs = new JobServiceClient(address, creds);
  try {
    const { videoId, info } = await uploadVideo(videos, file.name, file.bytes, metadata);
    log(`video ${videoId}: ${info?.frameCount} frames of ${info?.width}x${info?.height}, ${info?.bitDepth}-bit`);
    const { job } = await new Promise<{ job?: { jobId: string } }>((resolve, reject) =>
      analyses.startAnalysis({ videoId, options: AnalysisOptions.fromPartial({ seed: 1 }) }, metadata, (error, response) => (error ? reject(error) : resolve(response))),
    );
    const jobId = job?.jobId ?? '';
    const state = await watchJob(jobs, jobId, metadata, ({ progress, jobState }) => {
      if (progress === undefined) return;
      log(`${Stage[progress.stage]} ${JobState[progress.state]} ${progress.step} ${progress.done}/${progress.total} ${progress.detail} (job ${JobState[jobState]})`);
    });
    return { videoId, jobId, state };
  } finally {
    videos.close();
    analyses.close();
    jobs.close();
  }
}

if (require.main === module) {
  const [file, address = '127.0.0.1:50051'] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: upload-and-watch.ts VIDEO [host:port]');
    process.exit(2);
  }
  readFile(file)
    .then((bytes) => uploadAndAnalyze(address, { name: path.basename(file), bytes }, process.env['MITOSIS_TOKEN'] ? { token: process.env['MITOSIS_TOKEN'] } : {}))
    .then(({ jobId, state }) => {
      console.log(`job ${jobId} ended ${JobState[state]}`);
      process.exit(state === JobState.JOB_STATE_SUCCEEDED ? 0 : 1);
    })
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    });
}
