import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NatsConnection } from 'nats';
import { NatsError, connect } from 'nats';
import type { BlobStore } from '@mitosis/core';
import type { EventNames, Job, JobEvent, JobStore, StageConsumer } from '@mitosis/events';
import { createJobStore, createStageConsumer, ensureTopology, jobEventCodec, newJob, recordNewJob } from '@mitosis/events';
import { initBackend } from '@mitosis/models';
import { storePreprocessedVideo } from '@mitosis/stages';
import { generateSyntheticVideo } from '@mitosis/synth';
import type { NatsServerFixture, S3ServerFixture } from '@mitosis/testing';
import { startNatsServer, startS3Server, uniqueBucketName, uniqueName } from '@mitosis/testing';
import type { PreprocessedVideo } from '@mitosis/video';
import { preprocessVideo, readVideo, writeTiffStack } from '@mitosis/video';
import { DEFAULT_STAGE_DEFAULTS } from './config';
import { keys } from './keys';
import { createLogger } from './logger';
import { publishStage } from './pipeline';
import { stageRequestCodec } from './stage-codec';
import { storedStage } from './stage-manifest';
import { createStageProcessor } from './stage-processor';
import type { StageRunner } from './stage-runner';
import { createInlineRunner } from './stage-runner';
import type { ServiceStore } from './store';
import { createStore, parseStoreUrl } from './store';

/**
 * A stage whose outputs are stored is never computed again: when recording its completion fails
 * (NATS timing out), the record is retried, and a redelivery finds the outputs complete by their
 * manifest and only records them. Outputs without a matching manifest are computed again. Real
 * nats-server and S3 server; M1 with a few updates on a tiny synthetic video, inline.
 */

let nats: NatsServerFixture;
let s3: S3ServerFixture;
let nc: NatsConnection;
let dir: string;
let frames: PreprocessedVideo;
const consumers: StageConsumer[] = [];
const log = createLogger('test', { level: process.env['WORKERS_DEBUG'] === '1' ? 'debug' : 'error' });
const M1_PARAMS = { videoId: 'v1', m1Iterations: 3, seed: 1, crop: 32, normalCellMapOverride: 0 };

beforeAll(async () => {
  [nats, s3] = await Promise.all([startNatsServer(), startS3Server()]);
  nc = await connect({ servers: nats.url });
  dir = await mkdtemp(path.join(tmpdir(), 'stage-idempotency-'));
  const source = path.join(dir, 'video.tif');
  await writeTiffStack(source, generateSyntheticVideo({ frames: 12, width: 96, height: 80, seed: 3, initialCells: 6 }).volume);
  frames = preprocessVideo(await readVideo(source), { factor: 2 });
  await initBackend({ preferred: 'wasm', log: () => undefined });
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop()));
});

afterAll(async () => {
  await nc?.close();
  await Promise.all([nats?.stop(), s3?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** What the test changes in the path of one delivery. */
interface Faults {
  /** Job record writes of the processor (only completions) that time out, before they work again. */
  completionTimeouts?: number;
  /** Run while a completion times out: the outputs as the next delivery will find them. */
  onTimeout?: (store: BlobStore) => Promise<void>;
  /** The first manifest write fails: the outputs are stored, their manifest is not. */
  failManifestOnce?: boolean;
}

interface Run {
  store: ServiceStore;
  names: EventNames;
  jobs: JobStore;
  /** Stage runs of the job (calls of the runner). */
  runs: number;
  /** Every put the stages made, in order. */
  puts: string[];
  /** Puts made before the first completion timed out. */
  putsBeforeTimeout?: number;
}

/** A fresh bucket and prefix, M1's frames stored, one m1 consumer whose processor meets `faults`. */
async function setUp(faults: Faults = {}): Promise<Run> {
  const store = await createStore(parseStoreUrl(`s3://${s3.accessKey}:${s3.secretKey}@${s3.endPoint}:${s3.port}/${uniqueBucketName('idem')}/run?ssl=false`));
  await storePreprocessedVideo(store, keys.videoFrames('v1'), frames, 'video.tif');
  const names = await ensureTopology(nc, { prefix: uniqueName('idem') });
  const jobs = await createJobStore(nc.jetstream(), names.jobsBucket);
  const run: Run = { store, names, jobs, runs: 0, puts: [] };

  let manifestFailures = faults.failManifestOnce === true ? 1 : 0;
  const stageStore = Object.assign(Object.create(store) as ServiceStore, {
    put: async (key: string, bytes: Uint8Array) => {
      if (key.startsWith('manifests/') && manifestFailures > 0) {
        manifestFailures--;
        throw new Error('the object store went away');
      }
      run.puts.push(key);
      await store.put(key, bytes);
    },
  });
  const inline = createInlineRunner(stageStore);
  const runner: StageRunner = { ...inline, run: (task, options) => (run.runs++, inline.run(task, options)) };

  let timeouts = faults.completionTimeouts ?? 0;
  const processorJobs: JobStore = Object.assign(Object.create(jobs) as JobStore, {
    update: async (id: string, mutate: (job: Job) => Job | void) => {
      if (timeouts > 0) {
        timeouts--;
        run.putsBeforeTimeout ??= run.puts.length;
        await faults.onTimeout?.(store);
        throw new NatsError('TIMEOUT', 'TIMEOUT');
      }
      return jobs.update(id, mutate);
    },
  });
  const process = createStageProcessor({
    jobs: processorJobs,
    js: nc.jetstream(),
    names,
    runner,
    store,
    defaults: DEFAULT_STAGE_DEFAULTS,
    log,
    completionRetry: { attempts: 3, delayMs: 20 },
  });
  consumers.push(
    await createStageConsumer({ nc, names, stage: 'm1', codec: stageRequestCodec, jobs, process, ackWaitMs: 30_000, maxDeliver: 3, backoff: { initialMs: 100 }, log }),
  );
  return run;
}

/** An analysis job of M1 alone, its work published. */
async function startM1(run: Run, id: string): Promise<void> {
  const job = await recordNewJob(run.jobs, newJob({ id, kind: 'analysis', stages: ['m1'], params: M1_PARAMS }));
  await publishStage({ js: nc.jetstream(), names: run.names }, job, 'm1');
}

async function finalJob(jobs: JobStore, id: string, timeoutMs = 60_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await jobs.get(id);
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} after ${timeoutMs} ms: ${JSON.stringify(job.stages)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The job's events, in order, as `type attempt`. */
/**
 * The job's events but progress, once at least `expected` of them are in (or after 10 s): the job
 * record can read SUCCEEDED a moment before its last event is published.
 */
async function events(names: EventNames, expected: number): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const count = (await jsm.streams.info(names.eventsStream)).state.messages;
    const out: string[] = [];
    for (let seq = 1; seq <= count; seq++) {
      const event: JobEvent = jobEventCodec.decode((await jsm.streams.getMessage(names.eventsStream, { seq })).data);
      if (event.type !== 'progress') out.push(`${event.type} ${event.attempt}`);
    }
    if (out.length >= expected || Date.now() > deadline) return out;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function workLeft(names: EventNames): Promise<{ work: number; dead: number }> {
  const jsm = await nc.jetstreamManager();
  return { work: (await jsm.streams.info(names.workStream)).state.messages, dead: (await jsm.streams.info(names.deadStream)).state.messages };
}

describe('a stage whose outputs are stored', () => {
  it('is only completed by the redelivery when its first completion could not be recorded', async () => {
    const run = await setUp({ completionTimeouts: 3 });
    await startM1(run, 'lost-1');
    const job = await finalJob(run.jobs, 'lost-1');
    expect(job).toMatchObject({ state: 'SUCCEEDED', stages: { m1: { state: 'SUCCEEDED', attempts: 2 } }, outputs: { normalCellMap: keys.analysis('lost-1').normalCellMap } });
    // Trained once; the redelivery wrote nothing (outputs and manifest as the first delivery left them).
    expect(run.runs).toBe(1);
    expect(run.putsBeforeTimeout).toBeGreaterThan(0);
    expect(run.puts).toHaveLength(run.putsBeforeTimeout!);
    expect(run.puts.at(-1)).toBe(keys.stageManifest('lost-1', 'm1'));
    // Finished once: one success, after the retry the lost completion caused.
    expect(await events(run.names, 4)).toEqual(['stage-started 1', 'stage-retrying 1', 'stage-started 2', 'stage-succeeded 2']);
    expect(await workLeft(run.names)).toEqual({ work: 0, dead: 0 });
  }, 120_000);

  it('records its completion through a short NATS timeout without giving up the delivery', async () => {
    const run = await setUp({ completionTimeouts: 2 });
    await startM1(run, 'slow-1');
    expect(await finalJob(run.jobs, 'slow-1')).toMatchObject({ state: 'SUCCEEDED', stages: { m1: { state: 'SUCCEEDED', attempts: 1 } } });
    expect(run.runs).toBe(1);
    expect(await events(run.names, 2)).toEqual(['stage-started 1', 'stage-succeeded 1']);
  }, 120_000);
});

describe('a stage whose stored outputs are not complete', () => {
  it('runs again when its outputs were stored but not their manifest', async () => {
    const run = await setUp({ failManifestOnce: true });
    await startM1(run, 'partial-1');
    expect(await finalJob(run.jobs, 'partial-1')).toMatchObject({ state: 'SUCCEEDED', stages: { m1: { state: 'SUCCEEDED', attempts: 2 } } });
    expect(run.runs).toBe(2);
    expect(await storedStage(run.store, { jobId: 'partial-1', stage: 'm1' })).toMatchObject({ state: 'complete' });
  }, 120_000);

  it('runs again when a stored output does not match its manifest', async () => {
    const chunk = `${keys.analysis('changed-1').normalCellMap}/zarr.json`;
    const garbage = new TextEncoder().encode('not what M1 wrote');
    const run = await setUp({ completionTimeouts: 3, onTimeout: (store) => store.put(chunk, garbage) });
    await startM1(run, 'changed-1');
    expect(await finalJob(run.jobs, 'changed-1')).toMatchObject({ state: 'SUCCEEDED', stages: { m1: { state: 'SUCCEEDED', attempts: 2 } } });
    expect(run.runs).toBe(2);
    expect(Buffer.from(await run.store.get(chunk)).equals(Buffer.from(garbage))).toBe(false);
    expect(await storedStage(run.store, { jobId: 'changed-1', stage: 'm1' })).toMatchObject({ state: 'complete' });
  }, 120_000);
});
