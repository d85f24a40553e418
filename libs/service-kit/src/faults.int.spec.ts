import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Metadata, credentials } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { VideoServiceClient } from '@mitosis/proto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import type { EventNames, Job, JobEvent, JobStore } from '@mitosis/events';
import { createJobStore, ensureTopology, jobEventCodec, newJob } from '@mitosis/events';
import { generateSyntheticVideo } from '@mitosis/synth';
import type { LogLine, NatsServerFixture, S3ServerFixture, WorkerRun } from '@mitosis/testing';
import { startNatsServer, startS3Server, uniqueBucketName, uniqueName, workerLauncher } from '@mitosis/testing';
import { writeTiffStack } from '@mitosis/video';
import { loadConfig } from './config';
import { arrayMetadataKey, keys } from './keys';
import { publishStage, topologyConfig } from './pipeline';
import { hasManifest } from './stage-manifest';
import type { ServiceStore } from './store';
import { createStore } from './store';

/**
 * The fault suite: a few small analysis jobs (ingest, then M1 with a few updates on a tiny
 * synthetic video) run through real ingest and m1 worker processes, a real nats-server and the S3
 * server in a child process, while one fault is injected. Each scenario checks that every job
 * succeeds exactly once, that no stage is recorded twice, that a stored stage is never computed
 * again, and that the bucket holds only the jobs' own objects. MITOSIS_FAULT_REPORT=<file> writes
 * the figures as JSON (docs/faults.md shows them).
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const launchers = { ingest: workerLauncher(path.join(ROOT, 'apps', 'ingest', 'start.js')), m1: workerLauncher(path.join(ROOT, 'apps', 'm1', 'start.js')) };
const gateways = workerLauncher(path.join(ROOT, 'apps', 'gateway', 'bin', 'gateway.js'));
type Service = keyof typeof launchers;
const JOBS = 3;
const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

let nats: NatsServerFixture;
let natsDir: string;
let s3: S3ServerFixture;
let s3Dir: string;
let nc: NatsConnection;
let dir: string;
let source: Uint8Array;

interface Figures {
  scenario: string;
  submitted: number;
  completedOnce: number;
  duplicated: number;
  lost: number;
  orphans: number;
  recomputedStages: number;
  seconds: number;
}
const figures: Figures[] = [];

beforeAll(async () => {
  [natsDir, s3Dir, dir] = await Promise.all(['faults-nats-', 'faults-s3-', 'faults-'].map((p) => mkdtemp(path.join(tmpdir(), p))));
  nats = await startNatsServer({ storeDir: natsDir });
  s3 = await startS3Server({ directory: s3Dir, childProcess: true });
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const file = path.join(dir, 'video.tif');
  await writeTiffStack(file, generateSyntheticVideo({ frames: 12, width: 64, height: 64, seed: 3, initialCells: 4 }).volume);
  source = new Uint8Array(await readFile(file));
}, 120_000);

afterAll(async () => {
  for (const launcher of [...Object.values(launchers), gateways]) launcher.killAll();
  await nc?.close();
  await Promise.all([nats?.stop(), s3?.stop()]);
  await Promise.all([natsDir, s3Dir, dir].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
  const table = figures.map(
    (f) =>
      `${f.scenario.padEnd(28)} submitted ${f.submitted} once ${f.completedOnce} duplicated ${f.duplicated} lost ${f.lost} orphans ${f.orphans} recomputed ${f.recomputedStages} ${f.seconds.toFixed(1)} s`,
  );
  if (table.length > 0) process.stdout.write(`fault suite\n${table.join('\n')}\n`);
  const report = process.env['MITOSIS_FAULT_REPORT'];
  if (report) await writeFile(report, `${JSON.stringify(figures, null, 2)}\n`);
});

interface Scenario {
  readonly names: EventNames;
  readonly jobs: JobStore;
  readonly store: ServiceStore;
  readonly env: Record<string, string>;
  readonly workers: WorkerRun[];
  readonly ids: string[];
  start(service: Service): WorkerRun;
}

/** A fresh prefix and bucket, the videos stored, one ingest and one m1 worker process started. */
async function setUp(tag: string, m1Iterations: number): Promise<Scenario> {
  // The bucket is made here so it survives the S3 server's restarts (s3rver keeps it as a folder).
  const bucket = uniqueBucketName(tag);
  await s3.createBucket(bucket);
  const env = {
    MITOSIS_NATS_URL: nats.url,
    MITOSIS_STORE: `s3://${s3.accessKey}:${s3.secretKey}@${s3.endPoint}:${s3.port}/${bucket}?ssl=false`,
    MITOSIS_PREFIX: uniqueName(tag),
    MITOSIS_BACKEND: 'wasm',
    MITOSIS_STAGE_ISOLATION: 'inline',
    MITOSIS_ACK_WAIT_MS: '2000',
    MITOSIS_PROGRESS_INTERVAL_MS: '100',
    MITOSIS_HEALTH_ADDR: 'off',
    MITOSIS_LOG_LEVEL: 'info',
  };
  const config = loadConfig(env);
  const store = await createStore(config);
  const names = await ensureTopology(nc, topologyConfig(config));
  const jobs = await createJobStore(nc.jetstream(), names.jobsBucket);
  const ids = Array.from({ length: JOBS }, (_, i) => `${tag}-${i + 1}`);
  const workers: WorkerRun[] = [];
  const scenario: Scenario = {
    names,
    jobs,
    store,
    env,
    workers,
    ids,
    start(service) {
      const run = launchers[service].start(env, dir);
      workers.push(run);
      return run;
    },
  };
  await Promise.all(ids.map((id) => store.put(keys.videoSource(`v-${id}`), source)));
  scenario.start('ingest');
  scenario.start('m1');
  await Promise.all(workers.map((w) => w.line((l) => l['msg'] === 'worker started', 90_000)));
  for (const id of ids) {
    const params = { videoId: `v-${id}`, seed: 4, m1Iterations, crop: 32, normalCellMapOverride: 0, downscaleFactor: 2 };
    const job = await jobs.create(newJob({ id, kind: 'analysis', stages: ['ingest', 'm1'], params }));
    await publishStage({ js: nc.jetstream(), names }, job, 'ingest');
  }
  return scenario;
}

/** Polls `read` until `done` holds; reads that fail (a server away) are retried. */
async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let error: unknown;
  for (;;) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch (e) {
      error = e;
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms: ${JSON.stringify(last)} ${String(error ?? '')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const allJobs = (s: Scenario): Promise<Job[]> => Promise.all(s.ids.map((id) => s.jobs.get(id)));

/** Waits until at least one job's M1 is training: the fault then lands during the stages. */
async function m1Running(s: Scenario): Promise<void> {
  await until(
    'an M1 stage training',
    () => allJobs(s),
    (jobs) => jobs.some((j) => j.stages.m1?.state === 'RUNNING' && (j.stages.m1.done ?? 0) > 0),
  );
}

/** Every event of the scenario's stream but progress. */
async function events(names: EventNames): Promise<JobEvent[]> {
  const jsm = await nc.jetstreamManager();
  const count = (await jsm.streams.info(names.eventsStream)).state.messages;
  const out: JobEvent[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const event = jobEventCodec.decode((await jsm.streams.getMessage(names.eventsStream, { seq })).data);
    if (event.type !== 'progress') out.push(event);
  }
  return out;
}

/** Keys a job of the scenario may leave: its video, its analysis, its stage manifests. */
function owned(s: Scenario, key: string): boolean {
  return s.ids.some((id) => key.startsWith(`${keys.video(`v-${id}`)}/`) || key.startsWith(`${keys.analysisPrefix(id)}/`) || key.startsWith(`manifests/${id}/`));
}

/** Waits for every job to finish, then checks and records the scenario's figures. */
async function finish(s: Scenario, scenario: string, startedAt: number): Promise<void> {
  const final = await until(
    'every job finished',
    () => allJobs(s),
    (jobs) => jobs.every((j) => TERMINAL.includes(j.state)),
    150_000,
  );
  const lines: LogLine[] = s.workers.flatMap((w) => w.lines);
  // The job record can read SUCCEEDED a moment before its last event is published.
  const stageEvents = await until(
    'every stage-succeeded event',
    async () => (await events(s.names)).filter((e) => e.type === 'stage-succeeded'),
    (list) => list.length >= s.ids.length * 2,
    10_000,
  ).catch(async () => (await events(s.names)).filter((e) => e.type === 'stage-succeeded'));
  const jsm = await nc.jetstreamManager();
  const left = { work: (await jsm.streams.info(s.names.workStream)).state.messages, dead: (await jsm.streams.info(s.names.deadStream)).state.messages };
  const allKeys = await s.store.list('');
  const orphans = allKeys.filter((key) => !owned(s, key));

  let duplicated = 0;
  let recomputed = 0;
  let completedOnce = 0;
  const perJob: { id: string; state: string; succeeded: number[]; manifests: boolean[] }[] = [];
  for (const job of final) {
    const row = { id: job.id, state: job.state, succeeded: [] as number[], manifests: [] as boolean[] };
    perJob.push(row);
    let once = job.state === 'SUCCEEDED';
    for (const stage of ['ingest', 'm1'] as const) {
      const succeeded = stageEvents.filter((e) => e.jobId === job.id && e.stage === stage).length;
      row.succeeded.push(succeeded);
      // Ingest keeps no manifest: its frames are the video's, checked by their array metadata.
      const stored = hasManifest(stage) ? allKeys.includes(keys.stageManifest(job.id, stage)) : allKeys.includes(arrayMetadataKey(keys.videoFrames(`v-${job.id}`)));
      row.manifests.push(stored);
      if (succeeded > 1) duplicated += succeeded - 1;
      if (succeeded !== 1) once = false;
      if (!stored) once = false;
      // A computation that finished stored the stage; any later finished computation of it recomputed a stored stage.
      const computed = lines.filter((l) => l['msg'] === 'stage finished' && l['jobId'] === job.id && l['stage'] === stage && l['reused'] !== true).length;
      recomputed += Math.max(0, computed - 1);
    }
    if (once) completedOnce++;
  }
  const lost = final.filter((j) => j.state !== 'SUCCEEDED').length;
  const result: Figures = {
    scenario,
    submitted: s.ids.length,
    completedOnce,
    duplicated,
    lost,
    orphans: orphans.length,
    recomputedStages: recomputed,
    seconds: (Date.now() - startedAt) / 1000,
  };
  figures.push(result);
  for (const run of s.workers) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  await Promise.all(s.workers.map((w) => w.exit));

  expect(perJob).toEqual(s.ids.map((id) => ({ id, state: 'SUCCEEDED', succeeded: [1, 1], manifests: [true, true] })));
  expect(orphans).toEqual([]);
  expect(left).toEqual({ work: 0, dead: 0 });
  expect(result).toMatchObject({ completedOnce: s.ids.length, duplicated: 0, lost: 0, recomputedStages: 0 });
}

describe('fault suite', () => {
  it('object store frozen (SIGSTOP, then SIGCONT) during the stages', async () => {
    const startedAt = Date.now();
    const s = await setUp('freeze', 8);
    await m1Running(s);
    s3.child?.kill('SIGSTOP');
    // The fault lasts a while on purpose; what follows waits on conditions.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    s3.child?.kill('SIGCONT');
    await finish(s, 'object store frozen 3 s', startedAt);
  }, 240_000);

  it('object store stopped and restarted on its port and folder during the stages', async () => {
    const startedAt = Date.now();
    const s = await setUp('s3restart', 8);
    await m1Running(s);
    const port = s3.port;
    await s3.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    s3 = await startS3Server({ directory: s3Dir, port, childProcess: true });
    await finish(s, 'object store restarted', startedAt);
  }, 240_000);

  it('nats-server stopped and restarted on its port and JetStream storage during the stages', async () => {
    const startedAt = Date.now();
    const s = await setUp('natsrestart', 8);
    await m1Running(s);
    const port = nats.port;
    await nats.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    nats = await startNatsServer({ storeDir: natsDir, port });
    await finish(s, 'nats-server restarted', startedAt);
  }, 240_000);

  it.each(['ingest', 'm1'] as const)(
    'an %s worker killed (SIGKILL) mid-stage and restarted',
    async (service) => {
      const startedAt = Date.now();
      const s = await setUp(`kill-${service}`, 20);
      const victim = s.workers[service === 'ingest' ? 0 : 1]!;
      // Ingest of a tiny video is over in moments: killed as it logs its first start. M1: once training.
      if (service === 'ingest') await victim.line((l) => l['msg'] === 'stage started');
      else await m1Running(s);
      victim.child.kill('SIGKILL');
      await victim.exit;
      s.start(service);
      await finish(s, `${service} worker killed`, startedAt);
      // The stage the kill cut was delivered again (ingest may have finished before the signal landed).
      if (service === 'm1') expect(Math.max(...(await allJobs(s)).map((j) => j.stages.m1?.attempts ?? 0))).toBeGreaterThanOrEqual(2);
    },
    240_000,
  );

  let localLeftovers = 0;
  it('the gateway killed (SIGKILL) during an upload: the client sees an error, no video and no object is left', async () => {
    const startedAt = Date.now();
    const bucket = uniqueBucketName('gwkill');
    await s3.createBucket(bucket);
    const uploadDir = path.join(dir, 'gateway-uploads');
    await mkdir(uploadDir, { recursive: true });
    const env = {
      MITOSIS_NATS_URL: nats.url,
      MITOSIS_STORE: `s3://${s3.accessKey}:${s3.secretKey}@${s3.endPoint}:${s3.port}/${bucket}?ssl=false`,
      MITOSIS_PREFIX: uniqueName('gwkill'),
      MITOSIS_GRPC_ADDR: '127.0.0.1:0',
      MITOSIS_UPLOAD_DIR: uploadDir,
      MITOSIS_UPLOAD_STAGING_MAX_AGE_S: '1',
    };
    const store = await createStore(loadConfig({ MITOSIS_NATS_URL: nats.url, MITOSIS_STORE: env.MITOSIS_STORE }));
    const listening = async (run: WorkerRun): Promise<string> => String((await run.line((l) => l['msg'] === 'gateway listening' && l['address'] !== undefined, 90_000))['address']);
    const first = gateways.start(env, dir);
    const client = new VideoServiceClient(await listening(first), credentials.createInsecure());
    const before = await store.list('');

    // Header and half the bytes: the gateway is receiving when it is killed.
    const bytes = source;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const answer = new Promise<ServiceError | null>((resolve) => {
      const stream = client.uploadVideo(new Metadata(), (error) => resolve(error));
      stream.on('error', () => undefined);
      stream.write({ content: { $case: 'header', value: { filename: 'video.tif', sizeBytes: bytes.length, sha256 } } });
      const half = Math.floor(bytes.length / 2);
      for (let at = 0; at < half; at += 4096) stream.write({ content: { $case: 'chunk', value: Buffer.from(bytes.subarray(at, Math.min(at + 4096, half))) } });
    });
    const staged = async (): Promise<number> => {
      let size = 0;
      for (const folder of await readdir(uploadDir)) {
        for (const file of await readdir(path.join(uploadDir, folder)).catch(() => [] as string[]))
          size += (await stat(path.join(uploadDir, folder, file)).catch(() => ({ size: 0 }))).size;
      }
      return size;
    };
    await until('the upload being received', staged, (size) => size > 0, 30_000);
    first.child.kill('SIGKILL');
    await first.exit;
    const error = await answer;
    client.close();
    expect(error).not.toBeNull();

    // A new gateway's janitor removes whatever staging the killed one left (age limit 1 s).
    const second = gateways.start(env, dir);
    await listening(second);
    const after = await until(
      'the bucket as before the upload',
      () => store.list(''),
      (list) => JSON.stringify(list) === JSON.stringify(before),
      30_000,
    ).catch(() => store.list(''));
    const videos = after.filter((key) => key.startsWith('videos/'));
    // The killed gateway's partial upload folder is swept by the new one's janitor too.
    localLeftovers = (
      await until(
        'the partial upload folder swept',
        () => readdir(uploadDir),
        (names) => names.length === 0,
        30_000,
      ).catch(() => readdir(uploadDir))
    ).length;
    const orphans = after.filter((key) => !before.includes(key));
    second.child.kill('SIGTERM');
    await second.exit;
    figures.push({
      scenario: 'gateway killed mid-upload',
      submitted: 1,
      completedOnce: 0,
      duplicated: 0,
      lost: 0,
      orphans: orphans.length,
      recomputedStages: 0,
      seconds: (Date.now() - startedAt) / 1000,
    });
    expect(videos).toEqual([]);
    expect(orphans).toEqual([]);
    expect(localLeftovers).toBe(0);
  }, 240_000);
});
