import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import type { BlobStore } from '@mitosis/core';
import { createLocalBlobStore } from '@mitosis/core';
import type { EventNames, Job, JobStore, Stage } from '@mitosis/events';
import { cancelJob, createJobStore, ensureTopology, jobStages, newJob, recordTransition, reportStageProgress, startStage } from '@mitosis/events';
import { initBackend } from '@mitosis/models';
import type { MitosisPoint } from '@mitosis/scoring';
import type { AnalysisStats } from '@mitosis/stages';
import { runDetectionStage, runEventLengthStage, runNormalCellMapStage, runTrainingStage, storePreprocessedVideo } from '@mitosis/stages';
import { generateSyntheticVideo } from '@mitosis/synth';
import { readArray } from '@mitosis/tensor-store';
import type { NatsServerFixture, S3ServerFixture } from '@mitosis/testing';
import { startNatsServer, startS3Server, uniqueBucketName, uniqueName } from '@mitosis/testing';
import { preprocessVideo, readVideo, writeTiffStack } from '@mitosis/video';
import type { ServiceConfig } from './config';
import { loadConfig } from './config';
import type { AnalysisJobParams, TrainingJobParams } from './job-params';
import { keys } from './keys';
import { createLogger } from './logger';
import { completeStage, publishStage, startJob, topologyConfig } from './pipeline';
import type { DetectionsFile } from './stored-files';
import type { StageRunner } from './stage-runner';
import { createThreadRunner } from './stage-runner';
import type { ServiceStore } from './store';
import { createStore } from './store';
import type { Worker } from './worker';
import { startWorker } from './worker';

/**
 * The workers' chain on real servers: nats-server -js and an S3 server, the stage consumers of
 * @mitosis/events in this process, the stages themselves in stage threads, exactly as the worker
 * apps run them. A tiny synthetic video and a few iterations keep it fast.
 */

let nats: NatsServerFixture;
let s3: S3ServerFixture;
let nc: NatsConnection;
let dir: string;
let sourceFile: string;
let mitoses: MitosisPoint[];
const workers: Worker[] = [];
const log = createLogger('test', { level: process.env['WORKERS_DEBUG'] === '1' ? 'debug' : 'error' });

const FACTOR = 2;
const VIDEO = { frames: 24, width: 96, height: 80, seed: 3, initialCells: 6, minCycleFrames: 4, mitosisRate: 0.08 };

beforeAll(async () => {
  [nats, s3] = await Promise.all([startNatsServer(), startS3Server()]);
  nc = await connect({ servers: nats.url });
  dir = await mkdtemp(path.join(tmpdir(), 'service-kit-chain-'));
  const video = generateSyntheticVideo(VIDEO);
  mitoses = video.mitoses.map((m) => ({ frame: m.frame, x: m.x, y: m.y }));
  sourceFile = path.join(dir, 'video.tif');
  await writeTiffStack(sourceFile, video.volume);
  await initBackend({ preferred: 'wasm', log: () => undefined });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

afterAll(async () => {
  await nc?.close();
  await Promise.all([nats?.stop(), s3?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh bucket and prefix: each test sees only its own streams, jobs and objects. */
async function setUp(extra: Record<string, string> = {}): Promise<{ config: ServiceConfig; store: ServiceStore; names: EventNames; jobs: JobStore }> {
  const config = loadConfig({
    MITOSIS_NATS_URL: nats.url,
    MITOSIS_STORE: `s3://${s3.accessKey}:${s3.secretKey}@${s3.endPoint}:${s3.port}/${uniqueBucketName('chain')}/run?ssl=false`,
    MITOSIS_PREFIX: uniqueName('chain'),
    MITOSIS_BACKEND: 'wasm',
    MITOSIS_ACK_WAIT_MS: '2000',
    MITOSIS_MAX_DELIVER: '3',
    MITOSIS_HEALTH_ADDR: 'off',
    MITOSIS_PROGRESS_INTERVAL_MS: '200',
    MITOSIS_DRAIN_TIMEOUT_MS: '5000',
    ...extra,
  });
  const store = await createStore(config);
  await store.put(keys.videoSource('v1'), new Uint8Array(await readFile(sourceFile)));
  const names = await ensureTopology(nc, topologyConfig(config));
  return { config, store, names, jobs: await createJobStore(nc.jetstream(), names.jobsBucket) };
}

/** A runner that counts the stage runs of each job (`jobId:stage`). */
function counting(inner: StageRunner, runs: Map<string, number>): StageRunner {
  return {
    run: (task, options) => {
      const key = `${task.jobId}:${task.stage}`;
      runs.set(key, (runs.get(key) ?? 0) + 1);
      return inner.run(task, options);
    },
    close: () => inner.close(),
    get threads() {
      return inner.threads;
    },
  };
}

async function worker(config: ServiceConfig, service: string, stages: Stage[], runs?: Map<string, number>): Promise<Worker> {
  const runner = runs ? counting(createThreadRunner({ store: config.store, backend: 'wasm' }), runs) : undefined;
  const w = await startWorker({ service, stages, config, log: log.child({ worker: service }), backend: 'wasm', ...(runner ? { runner } : {}) });
  workers.push(w);
  return w;
}

async function finalJob(jobs: JobStore, id: string, timeoutMs = 60_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await jobs.get(id);
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} after ${timeoutMs} ms: ${JSON.stringify(job.stages)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function json<T>(store: BlobStore, key: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await store.get(key))) as T;
}

async function streamCounts(names: EventNames): Promise<{ work: number; dead: number }> {
  const jsm = await nc.jetstreamManager();
  return { work: (await jsm.streams.info(names.workStream)).state.messages, dead: (await jsm.streams.info(names.deadStream)).state.messages };
}

/**
 * The embedded mode on a local folder, as the CLI runs it: what the services must reproduce.
 * M1 and M2 after a handful of updates are near-random, and on a few such settings M2 predicts
 * no event at all (INVALID_ARGUMENT: nothing to recommend k from), so the analysis settings are
 * the first of a few whose embedded run succeeds.
 */
let embeddedRun: ReturnType<typeof findEmbeddedAnalysis> | undefined;
const embeddedAnalysis = (): ReturnType<typeof findEmbeddedAnalysis> => (embeddedRun ??= findEmbeddedAnalysis());

async function findEmbeddedAnalysis(): Promise<{ params: Omit<AnalysisJobParams, 'videoId'>; stats: AnalysisStats; store: BlobStore }> {
  const store = createLocalBlobStore(path.join(dir, 'embedded'));
  const raw = await readVideo(sourceFile);
  await storePreprocessedVideo(store, 'video', preprocessVideo(raw, { factor: FACTOR }), sourceFile);
  for (const seed of [1, 2, 3]) {
    for (const map of [5, 1, 0, 2, 3, 4]) {
      const params = { seed, m1Iterations: 3, m2Iterations: 20, normalCellMapOverride: map, crop: 32, sequenceLength: 8, downscaleFactor: FACTOR };
      await runNormalCellMapStage(store, { videoKey: 'video', prefix: 'analysis' }, { training: { iterations: 3, crop: 32, seed }, normalMap: map });
      try {
        const { stats } = await runEventLengthStage(store, { videoKey: 'video', prefix: 'analysis' }, { training: { iterations: 20, crop: 32, seed, sequenceLength: 8 } });
        return { params, stats, store };
      } catch (error: unknown) {
        if ((error as { kind?: string }).kind !== 'INVALID_ARGUMENT') throw error;
      }
    }
  }
  throw new Error('no analysis setting predicted any cell event in the embedded run');
}

const TRAINING = { trainingFrames: { first: 1, last: 12 }, k: 4, iterations: 3, seed: 5, crop: 32, batch: 1, positiveWeight: 100 } as const;

async function putAnnotations(store: BlobStore): Promise<void> {
  const set = { setId: 's1', videoId: 'v1', points: mitoses, annotatedFrames: { first: 1, last: 24 }, createdAt: new Date().toISOString() };
  await store.put(keys.annotationSet('s1'), new TextEncoder().encode(JSON.stringify(set)));
}

describe('the stage workers on NATS JetStream and S3', () => {
  it('chain analysis, training and detection jobs to the results of the embedded mode', async () => {
    const { config, store, names, jobs } = await setUp();
    const embedded = await embeddedAnalysis();
    await worker(config, 'all', ['ingest', 'm1', 'm2', 'm3-train', 'm3-detect']);
    // The gateway's way in: ingest comes first only while the video has no preprocessed frames.
    const deps = { jobs, js: nc.jetstream(), names, store, log };

    const analysis = await startJob(deps, { id: 'analysis-1', kind: 'analysis', params: { videoId: 'v1', ...embedded.params } });
    expect(analysis.state).toBe('QUEUED');
    const analysed = await finalJob(jobs, 'analysis-1');
    expect(analysed.state).toBe('SUCCEEDED');
    const order = (['ingest', 'm1', 'm2'] as const).map((stage) => analysed.stages[stage]);
    expect(order.map((s) => [s?.state, s?.attempts])).toEqual([
      ['SUCCEEDED', 1],
      ['SUCCEEDED', 1],
      ['SUCCEEDED', 1],
    ]);
    // In order (the next stage is published once the previous one recorded its outputs).
    expect(order[0]!.startedAt! < order[1]!.startedAt!).toBe(true);
    expect(order[1]!.startedAt! < order[2]!.startedAt!).toBe(true);
    expect(analysed.outputs).toMatchObject({ frames: keys.videoFrames('v1'), stats: keys.analysis('analysis-1').stats, normalCellMap: keys.analysis('analysis-1').normalCellMap });
    const stats = await json<AnalysisStats>(store, keys.analysis('analysis-1').stats);
    expect(stats).toEqual(JSON.parse(JSON.stringify(embedded.stats)));

    await putAnnotations(store);
    const trainingParams: TrainingJobParams = { videoId: 'v1', annotationSetId: 's1', modelId: 'model-1', ...TRAINING };
    const training = await startJob(deps, { id: 'training-1', kind: 'training', params: trainingParams });
    expect(jobStages(training)).toEqual(['m3-train']);
    expect((await finalJob(jobs, 'training-1')).state).toBe('SUCCEEDED');
    await startJob(deps, { id: 'detection-1', kind: 'detection', params: { videoId: 'v1', modelId: 'model-1' } });
    const detected = await finalJob(jobs, 'detection-1');
    expect(detected.state).toBe('SUCCEEDED');
    expect(detected.outputs).toEqual({ detections: keys.detections('detection-1'), detectionProbability: keys.detectionProbability('detection-1') });
    const file = await json<DetectionsFile>(store, keys.detections('detection-1'));
    expect(file).toMatchObject({ jobId: 'detection-1', videoId: 'v1', modelId: 'model-1', frames: { first: 1, last: 24 }, k: 4, factor: FACTOR });

    // The same detections, and the same probabilities voxel for voxel, as the embedded mode.
    const local = embedded.store;
    await runTrainingStage(
      local,
      { videoKey: 'video', range: TRAINING.trainingFrames, annotations: mitoses, annotationSource: 'test', modelPrefix: 'model' },
      { k: TRAINING.k, iterations: TRAINING.iterations, crop: TRAINING.crop, batch: TRAINING.batch, seed: TRAINING.seed, model: { positiveWeight: TRAINING.positiveWeight } },
    );
    const reference = await runDetectionStage(local, { videoKey: 'video', modelPrefix: 'model' }, {});
    expect(file.detections).toEqual(JSON.parse(JSON.stringify(reference.detections.map((p) => ({ frame: p.frame, x: p.x, y: p.y, score: p.score ?? 0 })))));
    expect(file.count).toBe(reference.detections.length);
    log.info('detections', { count: file.count });
    const probability = await readArray(store, keys.detectionProbability('detection-1'));
    expect(Buffer.from(probability.data.buffer).equals(Buffer.from(reference.probability.data.buffer))).toBe(true);

    expect(await streamCounts(names)).toEqual({ work: 0, dead: 0 });
  }, 300_000);

  it('runs every job once with two replicas of m2 and of m3, even when training outlasts the ack wait', async () => {
    const { config, store, names, jobs } = await setUp({ MITOSIS_ACK_WAIT_MS: '1000' });
    const embedded = await embeddedAnalysis();
    await putAnnotations(store);
    const runs = new Map<string, number>();
    await worker(config, 'ingest+m1', ['ingest', 'm1'], runs);
    await Promise.all([worker(config, 'm2-a', ['m2'], runs), worker(config, 'm2-b', ['m2'], runs)]);
    await Promise.all([worker(config, 'm3-a', ['m3-train', 'm3-detect'], runs), worker(config, 'm3-b', ['m3-train', 'm3-detect'], runs)]);
    const deps = { jobs, js: nc.jetstream(), names, store, log };
    const started = Date.now();
    const analyses = ['a1', 'a2', 'a3'];
    for (const id of analyses) await startJob(deps, { id, kind: 'analysis', params: { videoId: 'v1', ...embedded.params } });
    // About 2 s of training each: longer than the 1 s ack wait, so only the heartbeats, sent
    // while the stage thread trains, keep the message from going to the other replica.
    const trainings = ['t1', 't2'];
    for (const [i, id] of trainings.entries()) {
      await startJob(deps, { id, kind: 'training', ingest: true, params: { videoId: 'v1', annotationSetId: 's1', modelId: `model-${id}`, ...TRAINING, iterations: 40, seed: i } });
    }
    const done = await Promise.all([...analyses, ...trainings].map((id) => finalJob(jobs, id, 400_000)));
    expect(done.map((j) => [j.id, j.state, j.error?.message])).toEqual([...analyses, ...trainings].map((id) => [id, 'SUCCEEDED', undefined]));
    const detections = ['d1', 'd2'];
    for (const [i, id] of detections.entries()) await startJob(deps, { id, kind: 'detection', params: { videoId: 'v1', modelId: `model-${trainings[i]}` } });
    for (const id of detections) expect((await finalJob(jobs, id)).state).toBe('SUCCEEDED');
    log.info('replicas', { ms: Date.now() - started });

    // Each stage of each job ran once (an analysis started after the first ingest has none of its own).
    const expected = new Map<string, number>();
    for (const id of [...analyses, ...trainings, ...detections]) for (const stage of jobStages(await jobs.get(id))) expected.set(`${id}:${stage}`, 1);
    expect(jobStages(await jobs.get('a1'))).toEqual(['ingest', 'm1', 'm2']);
    for (const id of trainings) expect(jobStages(await jobs.get(id))).toEqual(['ingest', 'm3-train']);
    for (const id of detections) expect(jobStages(await jobs.get(id))).toEqual(['m3-detect']);
    expect(Object.fromEntries([...runs].sort())).toEqual(Object.fromEntries([...expected].sort()));
    for (const id of [...analyses, ...trainings, ...detections]) {
      const job = await jobs.get(id);
      for (const status of Object.values(job.stages)) expect(status.attempts).toBe(1);
    }
    // One set of outputs per job (the same bytes for the three identical analyses).
    const stats = await Promise.all(analyses.map((id) => json<AnalysisStats>(store, keys.analysis(id).stats)));
    expect(stats).toEqual([stats[0], stats[0], stats[0]]);
    expect(stats[0]).toEqual(JSON.parse(JSON.stringify(embedded.stats)));
    expect((await store.list('analyses/')).filter((key) => key.endsWith('stats.json'))).toHaveLength(3);
    expect((await store.list('models/')).filter((key) => key.endsWith('training.json'))).toEqual(['models/model-t1/training.json', 'models/model-t2/training.json']);
    expect(await streamCounts(names)).toEqual({ work: 0, dead: 0 });
  }, 600_000);

  it('fails a job whose upload is corrupt at ingest: INVALID_ARGUMENT, a reason naming the problem, no retry, a dead letter', async () => {
    const { config, store, names, jobs } = await setUp();
    const tiff = new Uint8Array(await readFile(sourceFile));
    // A TIFF cut in the middle of its pixel data: the header probes fine, the frames do not decode.
    await store.put(keys.videoSource('cut'), tiff.subarray(0, Math.floor(tiff.length / 2)));
    await store.put(keys.videoSource('junk'), new TextEncoder().encode('this is not a video at all'));
    const runs = new Map<string, number>();
    await worker(config, 'ingest', ['ingest'], runs);
    const deps = { jobs, js: nc.jetstream(), names, store, log };
    await startJob(deps, { id: 'cut-1', kind: 'analysis', params: { videoId: 'cut' } });
    await startJob(deps, { id: 'junk-1', kind: 'analysis', params: { videoId: 'junk' } });
    const [cut, junk] = [await finalJob(jobs, 'cut-1'), await finalJob(jobs, 'junk-1')];
    for (const job of [cut, junk]) {
      expect(job.state).toBe('FAILED');
      expect(job.error).toMatchObject({ kind: 'INVALID_ARGUMENT', stage: 'ingest' });
      expect(job.stages.ingest).toMatchObject({ state: 'FAILED', attempts: 1 });
      expect(job.stages.m1).toMatchObject({ state: 'QUEUED', attempts: 0 });
    }
    expect(cut.error?.message).toContain('videos/cut/source');
    expect(junk.error?.message).toBe('videos/junk/source: not a multi-page TIFF nor a tar archive of frames (starts with bytes 74 68 69 73 20 69 73 20)');
    expect(Object.fromEntries(runs)).toEqual({ 'cut-1:ingest': 1, 'junk-1:ingest': 1 });
    expect(await streamCounts(names)).toEqual({ work: 0, dead: 2 });
    const jsm = await nc.jetstreamManager();
    const letters = await Promise.all([1, 2].map((seq) => jsm.streams.getMessage(names.deadStream, { seq })));
    const letter = letters.find((m) => m.header.get('Mitosis-Job-Id') === 'junk-1');
    if (letter === undefined) throw new Error('no dead letter for job junk-1');
    expect(letter.header.get('Mitosis-Dead-Kind')).toBe('INVALID_ARGUMENT');
    expect(letter.header.get('Mitosis-Dead-Reason')).toContain('not a multi-page TIFF');
    expect(await store.exists(`${keys.videoFrames('junk')}/zarr.json`)).toBe(false);
  });
});

describe('cancelling a job', () => {
  it('stops its training at the next progress write and publishes nothing after it', async () => {
    const { config, store, names, jobs } = await setUp({ MITOSIS_PROGRESS_INTERVAL_MS: '50' });
    await putAnnotations(store);
    const runner = createThreadRunner({ store: config.store, backend: 'wasm' });
    await startWorker({ service: 'all', stages: ['ingest', 'm3-train'], config, log, backend: 'wasm', runner }).then((w) => workers.push(w));
    const deps = { jobs, js: nc.jetstream(), names, store, log };
    await startJob(deps, { id: 'long-1', kind: 'training', ingest: true, params: { videoId: 'v1', annotationSetId: 's1', modelId: 'never', ...TRAINING, iterations: 100_000 } });
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
      const job = await jobs.get('long-1');
      if (job.stages['m3-train']?.step === 'm3.train' && job.stages['m3-train'].done > 0) break;
    }
    // What the gateway's CancelJob does.
    await recordTransition(jobs, 'long-1', (j) => cancelJob(j));
    const cancelled = Date.now();
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && (await jobs.get('long-1')).stages['m3-train']?.state !== 'CANCELLED';) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const job = await jobs.get('long-1');
    expect(job).toMatchObject({ state: 'CANCELLED', stages: { ingest: { state: 'SUCCEEDED' }, 'm3-train': { state: 'CANCELLED', attempts: 1 } } });
    expect(job.stages['m3-train']!.done).toBeLessThan(100_000);
    expect(Date.now() - cancelled).toBeLessThan(5_000);
    // Its thread was terminated mid-training, not left computing.
    for (const deadline = Date.now() + 5_000; runner.threads > 0 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(runner.threads).toBe(0);
    expect(await store.list('models/')).toEqual([]);
    expect(await streamCounts(names)).toEqual({ work: 0, dead: 0 });
  });
});

describe('completeStage', () => {
  it('records outputs and chains, never publishes twice, and leaves ended jobs and stale deliveries alone', async () => {
    const { names, jobs } = await setUp();
    const deps = { jobs, js: nc.jetstream(), names };
    const job = newJob({ id: 'c1', kind: 'analysis', stages: ['ingest', 'm1', 'm2'], params: { videoId: 'v1' } });
    await jobs.create(job);
    await recordTransition(jobs, 'c1', (j) =>
      reportStageProgress(startStage(j, { stage: 'ingest', delivery: 2 }), { stage: 'ingest', delivery: 2, step: 'ingest', done: 1, total: 3 }),
    );
    // Delivery 1 finishing late, after delivery 2 took over: changes nothing, publishes nothing.
    expect(await completeStage(deps, { jobId: 'c1', stage: 'ingest', outputs: { frames: 'x' }, deliveryCount: 1 })).toMatchObject({ recorded: false });
    const first = await completeStage(deps, { jobId: 'c1', stage: 'ingest', outputs: { frames: keys.videoFrames('v1') }, deliveryCount: 2 });
    expect(first).toMatchObject({ recorded: true, next: 'm1', published: { duplicate: false } });
    expect(first.job.stages.ingest).toMatchObject({ state: 'SUCCEEDED', done: 3, total: 3, attempts: 2 });
    expect(first.job.outputs).toEqual({ frames: keys.videoFrames('v1') });
    expect(first.job.state).toBe('RUNNING');
    // Again (a redelivery whose ack was lost): the publish is de-duplicated by its msg id...
    expect((await completeStage(deps, { jobId: 'c1', stage: 'ingest', outputs: {}, deliveryCount: 2 })).published).toEqual({ seq: first.published?.seq, duplicate: true });
    // ...and skipped once the next stage has started.
    await recordTransition(jobs, 'c1', (j) => startStage(j, { stage: 'm1', delivery: 1 }));
    expect(await completeStage(deps, { jobId: 'c1', stage: 'ingest', outputs: {}, deliveryCount: 2 })).toMatchObject({ recorded: true, next: 'm1' });
    expect((await streamCounts(names)).work).toBe(1);
    // The last stage ends the job, with its outputs in the same write.
    await completeStage(deps, { jobId: 'c1', stage: 'm1', outputs: { normalCellMap: 'n' } });
    const last = await completeStage(deps, { jobId: 'c1', stage: 'm2', outputs: { stats: 's' } });
    expect(last).toMatchObject({ recorded: true, job: { state: 'SUCCEEDED', outputs: { frames: keys.videoFrames('v1'), normalCellMap: 'n', stats: 's' } } });
    expect(last.next).toBeUndefined();
    expect(last.job.endedAt).toBeDefined();
    expect((await streamCounts(names)).work).toBe(2);
    // A cancelled job takes no more outputs and no next stage.
    await jobs.create(newJob({ id: 'c2', kind: 'analysis', stages: ['m1', 'm2'], params: { videoId: 'v1' } }));
    await recordTransition(jobs, 'c2', (j) => cancelJob(j));
    expect(await completeStage(deps, { jobId: 'c2', stage: 'm1', outputs: { normalCellMap: 'n' } })).toMatchObject({ recorded: false, job: { outputs: {} } });
    expect((await streamCounts(names)).work).toBe(2);
    await expect(publishStage(deps, { id: 'c3', kind: 'training', params: { videoId: 'v1' } }, 'm3-train')).rejects.toThrow('job params: annotationSetId is required');
  });
});

describe('startJob', () => {
  it('fails the job it recorded when its first stage cannot be queued, and refuses a taken id', async () => {
    const { store, names, jobs } = await setUp();
    const deps = { jobs, js: nc.jetstream(), names, store, log };
    const refused = startJob(deps, {
      id: 'lost-1',
      kind: 'analysis',
      params: { videoId: 'v1' },
      beforePublish: () => Promise.reject(new Error('the model record could not be written')),
    });
    await expect(refused).rejects.toMatchObject({ kind: 'INTERNAL', message: 'the gateway could not queue stage ingest' });
    expect(await jobs.get('lost-1')).toMatchObject({
      state: 'FAILED',
      error: { kind: 'INTERNAL', message: 'the gateway could not queue stage ingest', stage: 'ingest' },
      stages: { ingest: { state: 'FAILED' }, m1: { state: 'FAILED' }, m2: { state: 'FAILED' } },
    });
    expect((await streamCounts(names)).work).toBe(0);
    await expect(startJob(deps, { id: 'lost-1', kind: 'analysis', params: { videoId: 'v1' } })).rejects.toMatchObject({ kind: 'ALREADY_EXISTS' });
  });
});
