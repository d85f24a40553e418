import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import type { CallOptions, ClientUnaryCall, ServiceError } from '@grpc/grpc-js';
import type { BlobStore } from '@mitosis/core';
import { createLocalBlobStore, exitCodes } from '@mitosis/core';
import type { Job, UploadVideoResponse } from '@mitosis/proto';
import {
  AnalysisOptions,
  AnalysisServiceClient,
  AnnotationServiceClient,
  JobServiceClient,
  JobState,
  ModelServiceClient,
  StartTrainingRequest,
  VideoServiceClient,
} from '@mitosis/proto';
import { formatPointsCsv } from '@mitosis/scoring';
import type { ServiceStore, Worker } from '@mitosis/service-kit';
import { createLogger, createStore, keys, loadConfig, startWorker } from '@mitosis/service-kit';
import type { AnalysisStats } from '@mitosis/stages';
import { analysisKeys, loadStoredFrames } from '@mitosis/stages';
import { generateSyntheticVideo } from '@mitosis/synth';
import { readArray } from '@mitosis/tensor-store';
import type { NatsServerFixture, S3ServerFixture } from '@mitosis/testing';
import { startNatsServer, startS3Server, uniqueBucketName, uniqueName } from '@mitosis/testing';
import { preprocessVideo, readVideo, writeTiffStack } from '@mitosis/video';
import { runCliCaptured } from './testing';

/**
 * The CLI against the cluster on the same video and options: `mitosis analyze --frames A:B` and
 * `mitosis train` in this process, StartAnalysis and StartTraining through a gateway process and
 * the stage workers (stage threads, as the worker apps run them) on a real nats-server and S3
 * server. Tiny iteration counts keep it fast; equality is exact.
 */

const FACTOR = 2;
const VIDEO = { frames: 24, width: 96, height: 80, seed: 3, initialCells: 6, minCycleFrames: 4, mitosisRate: 0.08 };
const FRAMES = { first: 3, last: 18 };
// The cleaning is given: after 3 M1 updates the maps are near-random, and a given cleaning keeps
// both sides to one M2 attempt per seed.
const ANALYSIS = { m1Iterations: 3, m2Iterations: 20, m2Batch: 1, crop: 32, sequenceLength: 8, erosions: 0, minArea: 3 };
const TRAINING = { frames: { first: 1, last: 12 }, k: 4, iterations: 3, seed: 5, crop: 32, batch: 1, positiveWeight: 100 };
const gatewayLauncher = path.resolve(__dirname, '..', '..', 'gateway', 'bin', 'gateway.js');

let nats: NatsServerFixture;
let s3: S3ServerFixture;
let dir: string;
let videoFile: string;
let csvFile: string;
let gateway: ChildProcess | undefined;
let worker: Worker | undefined;
let store: ServiceStore;
let address: string;
let videoId: string;

beforeAll(async () => {
  [nats, s3] = await Promise.all([startNatsServer(), startS3Server()]);
  dir = await mkdtemp(path.join(tmpdir(), 'cli-cluster-'));
  const video = generateSyntheticVideo(VIDEO);
  videoFile = path.join(dir, 'video.tif');
  await writeTiffStack(videoFile, video.volume);
  csvFile = path.join(dir, 'mitoses.csv');
  await writeFile(csvFile, formatPointsCsv(video.mitoses.map((m) => ({ frame: m.frame, x: m.x, y: m.y }))));

  const bucket = uniqueBucketName('parity');
  await s3.createBucket(bucket);
  const env = {
    MITOSIS_NATS_URL: nats.url,
    MITOSIS_STORE: `s3://${s3.accessKey}:${s3.secretKey}@${s3.endPoint}:${s3.port}/${bucket}?ssl=false`,
    MITOSIS_PREFIX: uniqueName('parity'),
    MITOSIS_HEALTH_ADDR: 'off',
    MITOSIS_BACKEND: 'wasm',
    // The one deployment setting the public requests have no field for.
    MITOSIS_DOWNSCALE_FACTOR: String(FACTOR),
    MITOSIS_PROGRESS_INTERVAL_MS: '200',
    MITOSIS_DRAIN_TIMEOUT_MS: '5000',
  };
  const config = loadConfig(env);
  store = await createStore(config);
  worker = await startWorker({ service: 'all', stages: ['ingest', 'm1', 'm2', 'm3-train', 'm3-detect'], config, log: createLogger('parity', { level: 'error' }), backend: 'wasm' });
  gateway = spawn(process.execPath, [gatewayLauncher], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '', ...env, MITOSIS_GRPC_ADDR: '127.0.0.1:0', MITOSIS_UPLOAD_DIR: dir, MITOSIS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  address = await listeningAddress(gateway);
  videoId = (await upload(new VideoServiceClient(address, credentials.createInsecure()), await readFile(videoFile))).videoId;
}, 120_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway?.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
  await worker?.stop();
  await Promise.all([nats?.stop(), s3?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The address the gateway logs once it listens. */
function listeningAddress(child: ChildProcess, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${lines.join('\n')}`)), timeoutMs);
    const read = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        lines.push(line);
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === 'gateway listening' && entry.address !== undefined) {
          clearTimeout(timer);
          resolve(entry.address);
        }
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}):\n${lines.join('\n')}`)));
  });
}

/** A generated unary method as a promise: `call(client.getJob.bind(client), request)`. */
type Unary<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: Res) => void) => ClientUnaryCall;
const call = <Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> =>
  new Promise((resolve, reject) => method(request, new Metadata(), {}, (error, response) => (error ? reject(error) : resolve(response))));

function upload(client: VideoServiceClient, bytes: Uint8Array): Promise<UploadVideoResponse> {
  return new Promise((resolve, reject) => {
    const stream = client.uploadVideo(new Metadata(), (error, response) => (error ? reject(error) : resolve(response)));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    stream.write({ content: { $case: 'header', value: { filename: 'video.tif', sizeBytes: bytes.length, sha256 } } });
    for (let at = 0; at < bytes.length; at += 64 * 1024) stream.write({ content: { $case: 'chunk', value: Buffer.from(bytes.subarray(at, at + 64 * 1024)) } });
    stream.end();
  });
}

async function finished(jobId: string, timeoutMs = 120_000): Promise<Job> {
  const jobs = new JobServiceClient(address, credentials.createInsecure());
  try {
    for (const deadline = Date.now() + timeoutMs; ; await new Promise((resolve) => setTimeout(resolve, 200))) {
      const { job } = await call(jobs.getJob.bind(jobs), { jobId });
      if (job && [JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED].includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish: ${JSON.stringify(job)}`);
    }
  } finally {
    jobs.close();
  }
}

const bytesOf = (data: ArrayBufferView): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

async function frameBytes(from: BlobStore, key: string, range?: { first: number; last: number }): Promise<Buffer> {
  return bytesOf((await loadStoredFrames(from, key, range)).volume.data);
}

const quiet = ['--backend', 'wasm', '--quiet'];

describe('the CLI and the cluster', () => {
  it('analyse a frame sub-range from the same preprocessed frames to the same normal-cell map and k', async () => {
    // A handful of updates leave M1 and M2 near-random: on some seeds no map holds cells or M2
    // predicts too few events to recommend k from; the seed is the first the CLI succeeds with.
    let found: { seed: number; out: string } | undefined;
    const refusals: string[] = [];
    for (const seed of [1, 2, 3, 4, 5]) {
      const out = path.join(dir, `analysis-${seed}`);
      const run = await runCliCaptured([
        'analyze',
        videoFile,
        '--out',
        out,
        '--frames',
        `${FRAMES.first}:${FRAMES.last}`,
        '--factor',
        String(FACTOR),
        '--seed',
        String(seed),
        '--m1-iterations',
        String(ANALYSIS.m1Iterations),
        '--m2-iterations',
        String(ANALYSIS.m2Iterations),
        '--m2-batch',
        String(ANALYSIS.m2Batch),
        '--crop',
        String(ANALYSIS.crop),
        '--sequence-length',
        String(ANALYSIS.sequenceLength),
        '--erosions',
        String(ANALYSIS.erosions),
        '--min-area',
        String(ANALYSIS.minArea),
        ...quiet,
      ]);
      if (run.code === exitCodes.OK) {
        found = { seed, out };
        break;
      }
      expect([run.code, run.errors.length]).toEqual([exitCodes.INVALID_ARGUMENT, 1]);
      refusals.push(run.errors[0] ?? '');
    }
    if (found === undefined) throw new Error(`no seed of the CLI's analysis recommended a k:\n${refusals.join('\n')}`);
    const cli = createLocalBlobStore(path.join(found.out, 'store'));
    const cliStats = JSON.parse(await readFile(path.join(found.out, 'stats.json'), 'utf8')) as AnalysisStats;

    const analysis = new AnalysisServiceClient(address, credentials.createInsecure());
    const options = AnalysisOptions.fromPartial({ ...ANALYSIS, seed: found.seed });
    const { job } = await call(analysis.startAnalysis.bind(analysis), { videoId, frames: FRAMES, options });
    const done = await finished(job!.jobId);
    expect([done.state, done.failureReason]).toEqual([JobState.JOB_STATE_SUCCEEDED, '']);
    const { report } = await call(analysis.getEventLengthReport.bind(analysis), { jobId: job!.jobId });
    analysis.close();

    // The frames M1 and M2 learnt from, byte for byte: the CLI stored the range, the cluster the video.
    const cliFrames = await frameBytes(cli, 'video');
    expect(cliFrames.length).toBeGreaterThan(0);
    expect((await frameBytes(store, keys.videoFrames(videoId), FRAMES)).equals(cliFrames)).toBe(true);
    // Normalised on the sub-range alone (what the CLI once did), the frames would differ.
    const alone = preprocessVideo(await readVideo(videoFile, { frames: FRAMES }), { factor: FACTOR, flatField: true });
    expect(bytesOf(alone.volume.data).equals(cliFrames)).toBe(false);
    // The same normal-cell map, voxel for voxel, and the same statistics and k.
    const cliMap = await readArray(cli, analysisKeys('analysis').normalCellMap);
    const clusterMap = await readArray(store, keys.analysis(job!.jobId).normalCellMap);
    expect(clusterMap.shape).toEqual(cliMap.shape);
    expect(bytesOf(clusterMap.data).equals(bytesOf(cliMap.data))).toBe(true);
    expect(report).toMatchObject({
      frames: cliStats.frames,
      count: cliStats.count,
      mean: cliStats.mean,
      p50: cliStats.p50,
      p75: cliStats.p75,
      recommendedK: cliStats.recommendedK,
      recommendedAnnotationFrames: cliStats.recommendedAnnotationFrames,
      normalCellMapIndex: cliStats.normalCellMap,
    });
  }, 300_000);

  it('mitosis train and StartTraining with the same options give the same model', async () => {
    const out = path.join(dir, 'model');
    const train = await runCliCaptured([
      'train',
      videoFile,
      '--annotations',
      csvFile,
      '--frames',
      `${TRAINING.frames.first}:${TRAINING.frames.last}`,
      '--k',
      String(TRAINING.k),
      '--factor',
      String(FACTOR),
      '--iterations',
      String(TRAINING.iterations),
      '--seed',
      String(TRAINING.seed),
      '--crop',
      String(TRAINING.crop),
      '--batch',
      String(TRAINING.batch),
      '--positive-weight',
      String(TRAINING.positiveWeight),
      '--out',
      out,
      ...quiet,
    ]);
    expect([train.code, train.errors]).toEqual([exitCodes.OK, []]);

    const annotation = new AnnotationServiceClient(address, credentials.createInsecure());
    const { annotationSetId } = await call(annotation.submitAnnotations.bind(annotation), {
      videoId,
      annotatedFrames: { first: 1, last: VIDEO.frames },
      source: { $case: 'csv', value: await readFile(csvFile) },
    });
    annotation.close();
    const model = new ModelServiceClient(address, credentials.createInsecure());
    const request = StartTrainingRequest.fromPartial({
      videoId,
      annotationSetId,
      trainingFrames: TRAINING.frames,
      k: TRAINING.k,
      iterations: TRAINING.iterations,
      seed: TRAINING.seed,
      crop: TRAINING.crop,
      batch: TRAINING.batch,
      positiveWeight: TRAINING.positiveWeight,
    });
    const { job, modelId } = await call(model.startTraining.bind(model), request);
    model.close();
    const done = await finished(job!.jobId);
    expect([done.state, done.failureReason]).toEqual([JobState.JOB_STATE_SUCCEEDED, '']);

    const prefix = keys.model(modelId);
    expect(bytesOf(await store.get(`${prefix}/weights.bin`)).equals(await readFile(path.join(out, 'weights.bin')))).toBe(true);
    const meta = (bytes: Uint8Array | Buffer): Record<string, unknown> => {
      const { source: _source, ...rest } = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
      return rest;
    };
    // training.json names its source (a path, a store key); everything else is the same.
    expect(meta(await store.get(`${prefix}/training.json`))).toEqual(meta(await readFile(path.join(out, 'training.json'))));
    expect(meta(await readFile(path.join(out, 'training.json')))).toMatchObject({
      k: TRAINING.k,
      factor: FACTOR,
      iterations: TRAINING.iterations,
      trainingFrames: TRAINING.frames,
    });
  }, 120_000);
});
