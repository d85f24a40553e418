/**
 * The production install, started and used: copies package.json, package-lock.json and the
 * built apps (dist/apps, from `nx run-many -t build`) into a temporary folder, installs the
 * production dependencies alone there (`npm ci --omit=dev --ignore-scripts`: no tsx, no esbuild,
 * the optional tfjs-node bindings left unbuilt), starts the gateway and the four stage workers
 * from that copy with plain `node` against a real nats-server (JetStream) and a real S3 server
 * (s3rver, from the repository's own dev dependencies), and runs one small job chain through
 * the public gRPC API: upload, analysis (ingest, M1, M2), annotations, training (M3), detection.
 * A package the services import at run time but `dependencies` lacks fails it.
 *
 *   npx tsx tools/build/production-check.ts    (tools/production-check.sh builds first)
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import type { Job, UploadVideoResponse, WatchJobResponse } from '@mitosis/proto';
import { AnalysisOptions, JobState, RunDetectionRequest, Stage, StartAnalysisRequest, StartTrainingRequest, SubmitAnnotationsRequest } from '@mitosis/proto';
import { generateSyntheticVideo } from '@mitosis/synth';
import type { GatewayClients, LogLine, NatsServerFixture, S3ServerFixture, WorkerRun } from '@mitosis/testing';
import { gatewayClients, startNatsServer, startS3Server, workerLauncher, workspaceRoot } from '@mitosis/testing';
import { encodeTiff } from '@mitosis/video';
import { frameOf } from '@mitosis/volume';
import { APPS } from './build-apps';

const ROOT = workspaceRoot();
const WORKERS = ['ingest', 'm1', 'm2', 'm3'] as const;
/** Packages of the development install that must not reach the production one. */
const DEV_ONLY = ['tsx', 'esbuild', 's3rver', 'jest', 'typescript', 'nx'];
const START_TIMEOUT_MS = 60_000;
const JOB_TIMEOUT_MS = 120_000;

// The video and stage settings of the cluster's end-to-end test: a few updates, seconds per stage.
const VIDEO = { frames: 24, width: 128, height: 96, seed: 2, initialCells: 8, minCycleFrames: 4, mitosisRate: 0.12, bitDepth: 8 as const };
const FACTOR = 2;
const CROP = 32;
const SEQUENCE_LENGTH = 8;
const M1_ITERATIONS = 10;
const M2_ITERATIONS = 1;
const STAGE_ENV = {
  MITOSIS_DOWNSCALE_FACTOR: String(FACTOR),
  MITOSIS_CROP: String(CROP),
  MITOSIS_M2_SEQUENCE_LENGTH: String(SEQUENCE_LENGTH),
  MITOSIS_M3_BATCH: '1',
  MITOSIS_M3_POSITIVE_WEIGHT: '100',
};
const began = Date.now();
const say = (line: string): void => {
  process.stdout.write(`production-check ${((Date.now() - began) / 1000).toFixed(1).padStart(5)} s  ${line}\n`);
};

/** A service started from the production copy, with its output kept for the failure report. */
interface Service {
  readonly name: string;
  readonly run: WorkerRun;
}

function startService(name: string, copy: string, env: Record<string, string>): Service {
  // A bare environment: no NODE_PATH or NODE_OPTIONS that could reach the development install.
  const run = workerLauncher(path.join(copy, 'dist', 'apps', name, 'main.js'), ['--enable-source-maps']).start({ HOME: copy, ...env }, copy);
  return { name, run };
}

/** The first log line of `service` that `match` accepts, or a failure naming what was awaited. */
async function waitForLine(service: Service, what: string, match: (line: LogLine) => boolean): Promise<LogLine> {
  try {
    return await service.run.line(match, START_TIMEOUT_MS);
  } catch {
    const { exitCode } = service.run.child;
    throw new Error(exitCode !== null ? `${service.name} exited with code ${exitCode} before ${what}` : `${service.name}: no ${what} within ${START_TIMEOUT_MS / 1000} s`);
  }
}

function call<T>(invoke: (callback: (error: ServiceError | null, response: T) => void) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => invoke((error, response) => (error ? reject(error) : resolve(response))));
}

function syntheticTiff(): { bytes: Buffer; mitoses: { frame: number; x: number; y: number }[] } {
  const video = generateSyntheticVideo(VIDEO);
  const pages = [];
  for (let t = 0; t < video.volume.frames; t++) pages.push({ data: frameOf(video.volume, t), width: video.volume.width, height: video.volume.height });
  return { bytes: Buffer.from(encodeTiff(pages)), mitoses: video.mitoses.map((m) => ({ frame: m.frame, x: m.x, y: m.y })) };
}

/**
 * After so few updates M2 is near random and may predict no cell event, which fails the analysis
 * at its last step (nothing to recommend k from): a finding about the video, not about the
 * install. Accepted only when ingest and M1 succeeded and M2 ran to that answer.
 */
function noEventsPredicted(job: Job): string | undefined {
  const state = (stage: Stage): JobState | undefined => job.stages.find((s) => s.stage === stage)?.state;
  const m2 = job.stages.find((s) => s.stage === Stage.STAGE_M2);
  if (state(Stage.STAGE_INGEST) !== JobState.JOB_STATE_SUCCEEDED || state(Stage.STAGE_M1) !== JobState.JOB_STATE_SUCCEEDED) return undefined;
  if (m2 === undefined || !/no cell events were predicted/.test(m2.failureReason)) return undefined;
  return `ingest and m1 succeeded, m2 ran and predicted no cell event (${m2.failureReason.split('.')[0]})`;
}

/** The `mitosis` bin of the production install (no tsx there: it runs the built CLI) writes a video and reads it back. */
function checkCli(copy: string, work: string): void {
  const mitosis = (...args: string[]): string => {
    const run = spawnSync(process.execPath, [path.join(copy, 'bin', 'mitosis.js'), ...args], { cwd: work, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`mitosis ${args.join(' ')} exited ${run.status} in the production install:\n${run.stdout}${run.stderr}`);
    return run.stdout;
  };
  mitosis('synth', '--frames', '6', '--size', '64x48', '--seed', '3', '--out', path.join(work, 'cli-synth'));
  const info = JSON.parse(mitosis('info', path.join(work, 'cli-synth', 'video.tif'), '--json')) as { frameCount?: number };
  if (info.frameCount !== 6) throw new Error(`mitosis info in the production install read ${JSON.stringify(info)}, not 6 frames`);
  // A plate manifest: its CSV reader is a production dependency of its own.
  writeFileSync(path.join(work, 'plate.csv'), 'well,field,condition,path\nB07,1,"DMSO, 0.1%",cli-synth/video.tif\n');
  const plate = JSON.parse(mitosis('plate', 'check', path.join(work, 'plate.csv'), '--json')) as { entries?: { well: string; condition: string }[] };
  if (plate.entries?.[0]?.condition !== 'DMSO, 0.1%') throw new Error(`mitosis plate check in the production install read ${JSON.stringify(plate)}`);
  say('the mitosis CLI of the production install (the built bundle) wrote a synthetic video, read it back and checked a plate manifest');
}

async function main(): Promise<void> {
  const dist = path.join(ROOT, 'dist', 'apps');
  const missing = Object.keys(APPS).filter((name) => !existsSync(path.join(dist, name, 'main.js')));
  if (missing.length > 0) throw new Error(`no build of ${missing.join(', ')} in dist/apps: run npx nx run-many -t build first (tools/production-check.sh does)`);

  const work = await mkdtemp(path.join(tmpdir(), 'mitosis-production-'));
  const copy = path.join(work, 'app');
  const services: Service[] = [];
  let nats: NatsServerFixture | undefined;
  let s3: S3ServerFixture | undefined;
  let clients: GatewayClients | undefined;
  let ok = false;
  try {
    await mkdir(path.join(copy, 'dist'), { recursive: true });
    for (const file of ['package.json', 'package-lock.json']) await cp(path.join(ROOT, file), path.join(copy, file));
    await cp(dist, path.join(copy, 'dist', 'apps'), { recursive: true });
    await cp(path.join(ROOT, 'bin'), path.join(copy, 'bin'), { recursive: true });
    say(`installing the production dependencies alone in ${copy} (npm ci --omit=dev --ignore-scripts)`);
    const installing = new Promise<{ status: number | null; output: string }>((resolve) => {
      const child = spawn('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
        cwd: copy,
        env: { ...process.env, NODE_ENV: 'production' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.once('exit', (status) => resolve({ status, output }));
    });
    const install = await installing;
    if (install.status !== 0) throw new Error(`npm ci --omit=dev failed (exit ${install.status}):\n${install.output}`);
    const leaked = DEV_ONLY.filter((name) => existsSync(path.join(copy, 'node_modules', name)));
    if (leaked.length > 0) throw new Error(`the production install holds development packages: ${leaked.join(', ')}`);
    say(`installed; no ${DEV_ONLY.join(', ')} in it`);
    checkCli(copy, work);

    [nats, s3] = await Promise.all([startNatsServer(), startS3Server()]);
    const bucket = 'mitosis';
    await s3.createBucket(bucket);
    say(`nats-server (JetStream) at ${nats.url}; S3 (s3rver) at ${s3.url}, bucket ${bucket}`);
    const common = {
      MITOSIS_NATS_URL: nats.url,
      MITOSIS_STORE: `s3://${s3.accessKey}:${s3.secretKey}@127.0.0.1:${s3.port}/${bucket}?ssl=false`,
      MITOSIS_PREFIX: 'production',
      MITOSIS_DRAIN_TIMEOUT_MS: '5000',
      NODE_ENV: 'production',
      ...STAGE_ENV,
    };

    // The gateway first: it creates the streams, consumers and job bucket.
    await mkdir(path.join(work, 'uploads'), { recursive: true });
    const gateway = startService('gateway', copy, { ...common, MITOSIS_GRPC_ADDR: '127.0.0.1:0', MITOSIS_UPLOAD_DIR: path.join(work, 'uploads') });
    services.push(gateway);
    const listening = await waitForLine(gateway, '"gateway listening"', (l) => l['msg'] === 'gateway listening');
    const address = String(listening['address']).replace(/^0\.0\.0\.0:/, '127.0.0.1:');
    say(`gateway (node dist/apps/gateway/main.js) listening on ${address}`);
    for (const name of WORKERS) {
      services.push(startService(name, copy, { ...common, MITOSIS_HEALTH_ADDR: '127.0.0.1:0', MITOSIS_BACKEND: 'wasm' }));
    }
    await Promise.all(
      services.slice(1).map(async (service) => {
        const health = await waitForLine(service, 'health endpoint', (l) => l['msg'] === 'health endpoint');
        const url = String(health['url']);
        for (const until = Date.now() + START_TIMEOUT_MS; ; await new Promise((resolve) => setTimeout(resolve, 200))) {
          const ready = await fetch(`${url}/readyz`).then(
            (r) => r.status === 200,
            () => false,
          );
          if (ready) break;
          if (service.run.child.exitCode !== null || Date.now() > until) throw new Error(`${service.name} never became ready at ${url}/readyz`);
        }
        say(`${service.name} (node dist/apps/${service.name}/main.js) ready`);
      }),
    );

    clients = gatewayClients(address);
    const { videos, jobs, analyses, annotations, models, detections } = clients;

    /** WatchJob to its end, then GetJob: the job must have succeeded, or failed only as `allowed` accepts. */
    const finish = async (jobId: string, label: string, allowed?: (job: Job) => string | undefined): Promise<Job> => {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${label} job ${jobId} did not end within ${JOB_TIMEOUT_MS / 1000} s`)), JOB_TIMEOUT_MS);
        const stream = jobs.watchJob({ jobId });
        stream.on('data', (_: WatchJobResponse) => undefined);
        stream.on('error', (error: Error) => (clearTimeout(timer), reject(error)));
        stream.on('end', () => (clearTimeout(timer), resolve()));
      });
      const { job } = await call<{ job?: Job }>((cb) => jobs.getJob({ jobId }, cb));
      const excuse = job !== undefined && job.state === JobState.JOB_STATE_FAILED ? allowed?.(job) : undefined;
      if (excuse !== undefined) {
        say(`${label} job ${jobId} failed as it may: ${excuse}`);
        return job as Job;
      }
      if (job?.state !== JobState.JOB_STATE_SUCCEEDED) {
        const reasons = (job?.stages ?? []).map((s) => s.failureReason).filter((r) => r !== '');
        throw new Error(`${label} job ${jobId} ended ${job === undefined ? 'unknown' : JobState[job.state]}${reasons.length > 0 ? `: ${reasons.join('; ')}` : ''}`);
      }
      say(`${label} job ${jobId} succeeded`);
      return job;
    };

    const source = syntheticTiff();
    const uploaded = await new Promise<UploadVideoResponse>((resolve, reject) => {
      const stream = videos.uploadVideo((error, response) => (error ? reject(error) : resolve(response)));
      const sha256 = createHash('sha256').update(source.bytes).digest('hex');
      stream.write({ content: { $case: 'header', value: { filename: 'synthetic.tif', sizeBytes: source.bytes.length, sha256 } } });
      for (let at = 0; at < source.bytes.length; at += 64 * 1024) stream.write({ content: { $case: 'chunk', value: source.bytes.subarray(at, at + 64 * 1024) } });
      stream.end();
    });
    say(`uploaded a ${VIDEO.frames}-frame synthetic video as ${uploaded.videoId}`);
    const { videoId } = uploaded;

    const analysis = await call<{ job?: Job }>((cb) =>
      analyses.startAnalysis(
        StartAnalysisRequest.fromPartial({ videoId, options: AnalysisOptions.fromPartial({ m1Iterations: M1_ITERATIONS, m2Iterations: M2_ITERATIONS, seed: 1 }) }),
        cb,
      ),
    );
    await finish(analysis.job?.jobId ?? '', 'analysis (ingest, m1, m2)', noEventsPredicted);

    const frames = { first: 1, last: VIDEO.frames };
    const annotated = await call<{ annotationSetId: string }>((cb) =>
      annotations.submitAnnotations(SubmitAnnotationsRequest.fromPartial({ videoId, annotatedFrames: frames, source: { $case: 'points', value: { points: source.mitoses } } }), cb),
    );
    const training = await call<{ job?: Job; modelId: string }>((cb) =>
      models.startTraining(
        StartTrainingRequest.fromPartial({ videoId, annotationSetId: annotated.annotationSetId, trainingFrames: { first: 1, last: 16 }, k: 4, iterations: 2, seed: 5 }),
        cb,
      ),
    );
    await finish(training.job?.jobId ?? '', 'training (m3)');
    const detection = await call<{ job?: Job }>((cb) => detections.runDetection(RunDetectionRequest.fromPartial({ videoId, modelId: training.modelId }), cb));
    await finish(detection.job?.jobId ?? '', 'detection (m3)');

    clients.close();
    clients = undefined;
    for (const service of services) service.run.child.kill('SIGTERM');
    const codes = await Promise.all(services.map(async (s) => (await s.run.exit).code));
    const unclean = services.flatMap((s, i) => (codes[i] === 0 ? [] : [`${s.name} (exit ${codes[i]})`]));
    if (unclean.length > 0) throw new Error(`services that did not stop cleanly on SIGTERM: ${unclean.join(', ')}`);
    say('every service stopped cleanly on SIGTERM');
    ok = true;
  } catch (error: unknown) {
    // The services' own words are the clue: the tail of each one's output.
    for (const service of services) {
      process.stdout.write(
        `---- ${service.name} (last 30 lines)\n${service.run.lines
          .slice(-30)
          .map((line) => JSON.stringify(line))
          .join('\n')}\n`,
      );
    }
    throw error;
  } finally {
    clients?.close();
    for (const service of services) if (service.run.child.exitCode === null && service.run.child.signalCode === null) service.run.child.kill('SIGKILL');
    await Promise.allSettled([nats?.stop(), s3?.stop()]);
    if (ok || process.env['MITOSIS_KEEP_PRODUCTION_CHECK'] !== '1') await rm(work, { recursive: true, force: true });
    else say(`kept ${work} (MITOSIS_KEEP_PRODUCTION_CHECK=1)`);
  }
}

main().then(
  () => {
    say('PASSED: the production install runs a job through the built services');
    process.exit(0);
  },
  (error: unknown) => {
    say(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
