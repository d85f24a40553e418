import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { status } from '@grpc/grpc-js';
import { createLocalBlobStore } from '@mitosis/core';
import type { NatsServerFixture } from '@mitosis/testing';
import { startNatsServer, uniqueName } from '@mitosis/testing';
import { loadConfig } from './config';
import { WORKER_LIVENESS_SERVICE } from './health-grpc';
import type { HealthTestClient } from './health-grpc.testing';
import { healthTestClient } from './health-grpc.testing';
import { createLogger } from './logger';
import { startJob } from './pipeline';
import type { StageRunner } from './stage-runner';
import { startWorker } from './worker';
import type { Worker } from './worker';

/**
 * A stage worker's grpc.health.v1 over a real socket, against a real nats-server: '' follows the
 * readiness /readyz reports (connected, consumer bound, not draining), WORKER_LIVENESS_SERVICE
 * stays SERVING through an outage and the drain.
 */
let nats: NatsServerFixture;
let dir: string;
let worker: Worker | undefined;
let client: HealthTestClient | undefined;
const log = createLogger('ingest', { write: () => undefined });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'grpc-health-'));
});

afterEach(async () => {
  client?.close();
  await worker?.stop();
  await nats?.stop();
  worker = client = undefined;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A runner whose stage never ends by itself: the message stays in hand until the drain gives up. */
function holdingRunner(): StageRunner & { started: Promise<void> } {
  let started = (): void => undefined;
  return {
    started: new Promise<void>((resolve) => (started = resolve)),
    run: (_task, options) =>
      new Promise((_resolve, reject) => {
        started();
        options?.signal?.addEventListener('abort', () => reject(options.signal?.reason ?? new Error('aborted')), { once: true });
      }),
    close: () => Promise.resolve(),
    threads: 0,
  };
}

async function start(runner?: StageRunner): Promise<{ worker: Worker; client: HealthTestClient }> {
  const config = loadConfig({
    MITOSIS_NATS_URL: nats.url,
    MITOSIS_STORE: pathToFileURL(path.join(dir, 'store')).href,
    MITOSIS_PREFIX: uniqueName('health'),
    MITOSIS_STAGE_ISOLATION: 'inline',
    MITOSIS_HEALTH_ADDR: '127.0.0.1:0',
    MITOSIS_DRAIN_TIMEOUT_MS: '1500',
  });
  expect(config.healthGrpcAddr).toBe('127.0.0.1:0');
  worker = await startWorker({ service: 'ingest', stages: ['ingest'], config, log, ...(runner ? { runner } : {}) });
  if (worker.grpcHealth === undefined) throw new Error('no gRPC health server');
  client = healthTestClient(worker.grpcHealth.address);
  return { worker, client };
}

async function readyz(w: Worker): Promise<number> {
  return (await fetch(`${w.health?.url}/readyz`)).status;
}

describe("a worker's grpc.health.v1", () => {
  it('is SERVING once its consumer is bound, NOT_SERVING while NATS is away, and Watch streams both changes', async () => {
    nats = await startNatsServer();
    const { worker: w, client: c } = await start();
    expect(await c.check('')).toBe('SERVING');
    expect(await c.check(WORKER_LIVENESS_SERVICE)).toBe('SERVING');
    await expect(c.check('mitosis.v1.JobService')).rejects.toMatchObject({ code: status.NOT_FOUND });
    const unknown = c.watch('nope');
    expect(await unknown.next()).toBe('SERVICE_UNKNOWN');
    unknown.cancel();

    const ready = c.watch('');
    expect(await ready.next()).toBe('SERVING');
    const port = nats.port;
    await nats.stop();
    expect(await ready.next()).toBe('NOT_SERVING');
    expect(await c.check('')).toBe('NOT_SERVING');
    expect(await readyz(w)).toBe(503); // the same readiness as HTTP
    // Alive: a restart would not bring NATS back.
    expect(await c.check(WORKER_LIVENESS_SERVICE)).toBe('SERVING');

    // NATS back on the same port: the worker reconnects and is ready again.
    nats = await startNatsServer({ args: ['-p', String(port)] });
    expect(await ready.next(15_000)).toBe('SERVING');
    expect(await c.check('')).toBe('SERVING');
    ready.cancel();
  }, 30_000);

  it('is NOT_SERVING while it drains a message on stop, still alive, and ends its Watch streams', async () => {
    nats = await startNatsServer();
    const runner = holdingRunner();
    const { worker: w, client: c } = await start(runner);
    await startJob(
      { jobs: w.jobs, js: w.nc.jetstream(), names: w.names, store: createLocalBlobStore(path.join(dir, 'store')) },
      { id: 'held-1', kind: 'analysis', params: { videoId: 'v1' } },
    );
    await runner.started;
    const live = c.watch(WORKER_LIVENESS_SERVICE);
    expect(await live.next()).toBe('SERVING');
    const stopped = w.stop();
    // The message in hand holds the stop for the drain timeout (1.5 s): the probes see the drain.
    expect(await c.check('')).toBe('NOT_SERVING');
    expect(await c.check(WORKER_LIVENESS_SERVICE)).toBe('SERVING');
    expect(await readyz(w)).toBe(503);
    await stopped;
    expect(await live.next()).toBe('NOT_SERVING');
    await live.ended;
    await expect(c.check('')).rejects.toMatchObject({ code: status.UNAVAILABLE });
  }, 30_000);

  it('is not served with MITOSIS_HEALTH_GRPC_ADDR=off', async () => {
    nats = await startNatsServer();
    const config = loadConfig({
      MITOSIS_NATS_URL: nats.url,
      MITOSIS_STORE: pathToFileURL(path.join(dir, 'store')).href,
      MITOSIS_PREFIX: uniqueName('health'),
      MITOSIS_HEALTH_GRPC_ADDR: 'off',
      MITOSIS_HEALTH_ADDR: '127.0.0.1:0',
      MITOSIS_STAGE_ISOLATION: 'inline',
    });
    worker = await startWorker({ service: 'ingest', stages: ['ingest'], config, log });
    expect(worker.grpcHealth).toBeUndefined();
    expect(worker.health).toBeDefined();
  });
});
