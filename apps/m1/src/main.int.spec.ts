import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { connect } from 'nats';
import type { NatsConnection } from 'nats';
import { createMemoryBlobStore } from '@mitosis/core';
import type { Job } from '@mitosis/events';
import { createJobStore, ensureTopology, newJob } from '@mitosis/events';
import { initBackend } from '@mitosis/models';
import { createLogger, keys, loadConfig, publishStage, startWorker, topologyConfig, createStore } from '@mitosis/service-kit';
import type { Worker } from '@mitosis/service-kit';
import { runNormalCellMapStage, storePreprocessedVideo } from '@mitosis/stages';
import { generateSyntheticVideo } from '@mitosis/synth';
import { readArray } from '@mitosis/tensor-store';
import type { S3ServerFixture } from '@mitosis/testing';
import { itRunsAsWorkerProcess, startS3Server, uniqueBucketName, uniqueName, workerProcessFixture } from '@mitosis/testing';
import { preprocessVideo, readVideo, writeTiffStack } from '@mitosis/video';

/** The m1 worker as a real process: started by its launcher, ready, stopped by SIGTERM. */
let s3: S3ServerFixture;
let nc: NatsConnection;
let ingestWorker: Worker | undefined;

// Before the fixture's own afterAll, which stops the NATS server these two still use.
afterAll(async () => {
  await ingestWorker?.stop();
  await nc?.close();
  await s3?.stop();
});

const worker = workerProcessFixture('m1', path.join(__dirname, '..', 'start.js'));

beforeAll(async () => {
  s3 = await startS3Server();
  nc = await connect({ servers: worker.nats().url });
});

describe('m1 worker process', () => {
  itRunsAsWorkerProcess({ service: 'm1', stages: ['m1'], description: 'paper', worker });
});

describe('an m1 worker killed in the middle of a job', () => {
  it('loses nothing and doubles nothing: the job completes through redelivery to another worker', async () => {
    const env = {
      MITOSIS_NATS_URL: worker.nats().url,
      MITOSIS_STORE: `s3://${s3.accessKey}:${s3.secretKey}@${s3.endPoint}:${s3.port}/${uniqueBucketName('crash')}?ssl=false`,
      MITOSIS_PREFIX: uniqueName('crash'),
      MITOSIS_BACKEND: 'wasm',
      MITOSIS_ACK_WAIT_MS: '1000',
      MITOSIS_PROGRESS_INTERVAL_MS: '100',
      MITOSIS_HEALTH_ADDR: 'off',
    };
    const config = loadConfig({ ...env, MITOSIS_STAGE_ISOLATION: 'inline' });
    const store = await createStore(config);
    const video = generateSyntheticVideo({ frames: 24, width: 96, height: 80, seed: 3 });
    const source = path.join(worker.dir(), 'video.tif');
    await writeTiffStack(source, video.volume);
    await store.put(keys.videoSource('v1'), new Uint8Array(await readFile(source)));
    const names = await ensureTopology(nc, topologyConfig(config));
    const jobs = await createJobStore(nc.jetstream(), names.jobsBucket);
    // Ingest in this process; M1 in the worker processes.
    ingestWorker = await startWorker({ service: 'ingest', stages: ['ingest'], config, log: createLogger('ingest', { level: 'error' }) });
    const params = { videoId: 'v1', seed: 4, m1Iterations: 60, crop: 32, normalCellMapOverride: 0, downscaleFactor: 2 };
    const job = await jobs.create(newJob({ id: 'crash-1', kind: 'analysis', stages: ['ingest', 'm1'], params }));
    await publishStage({ js: nc.jetstream(), names }, job, 'ingest');

    const first = worker.start(env);
    let seen: Job | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 25))) {
      seen = await jobs.get('crash-1');
      if (seen.stages.m1?.step === 'm1.train' && seen.stages.m1.done > 0) break;
    }
    first.child.kill('SIGKILL');
    expect(await first.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(seen?.stages.m1).toMatchObject({ state: 'RUNNING', step: 'm1.train', total: 60, attempts: 1 });
    expect(seen?.stages.m1?.done).toBeLessThan(60);

    const second = worker.start(env);
    let final: Job | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
      final = await jobs.get('crash-1');
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(final.state)) break;
    }
    expect(final).toMatchObject({ state: 'SUCCEEDED', stages: { ingest: { state: 'SUCCEEDED', attempts: 1 }, m1: { state: 'SUCCEEDED', attempts: 2 } } });
    const finished = second.lines.filter((l) => l['msg'] === 'stage finished');
    expect(finished).toEqual([expect.objectContaining({ jobId: 'crash-1', stage: 'm1', delivery: 2, jobState: 'SUCCEEDED' })]);
    const jsm = await nc.jetstreamManager();
    // The job record can read SUCCEEDED a moment before the worker's ack removes the work message.
    let left = { work: -1, dead: -1 };
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
      left = { work: (await jsm.streams.info(names.workStream)).state.messages, dead: (await jsm.streams.info(names.deadStream)).state.messages };
      if (left.work === 0) break;
    }
    expect(left).toEqual({ work: 0, dead: 0 });

    // The outputs are whole and the same as one uninterrupted embedded run's.
    await initBackend({ preferred: 'wasm', log: () => undefined });
    const local = createMemoryBlobStore();
    await storePreprocessedVideo(local, 'video', preprocessVideo(await readVideo(source), { factor: 2 }), source);
    const choice = await runNormalCellMapStage(local, { videoKey: 'video', prefix: 'a' }, { training: { iterations: 60, crop: 32, seed: 4 }, normalMap: 0 });
    const analysis = keys.analysis('crash-1');
    expect(JSON.parse(new TextDecoder().decode(await store.get(analysis.mapChoice)))).toEqual(JSON.parse(JSON.stringify(choice)));
    const [ours, theirs] = [await readArray(store, analysis.normalCellMap), await readArray(local, 'a/normal-cell-map')];
    expect(Buffer.from(ours.data.buffer).equals(Buffer.from(theirs.data.buffer))).toBe(true);
    second.child.kill('SIGTERM');
    expect(await second.exit).toEqual({ code: 0, signal: null });
  });
});
