import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NatsServerFixture, WorkerRun } from '@mitosis/testing';
import { itRunsAsWorkerProcess, startNatsServer, workerLauncher } from '@mitosis/testing';

/** The ingest worker as a real process: started by its launcher, ready, stopped by SIGTERM. */
const START = path.join(__dirname, '..', 'start.js');
let nats: NatsServerFixture;
let dir: string;
const workers = workerLauncher(START);

beforeAll(async () => {
  nats = await startNatsServer();
  dir = await mkdtemp(path.join(tmpdir(), 'ingest-main-'));
});

afterAll(async () => {
  workers.killAll();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// From another folder: the launcher must not depend on the working directory.
function start(env: Record<string, string>): WorkerRun {
  return workers.start(env, dir);
}

describe('ingest worker process', () => {
  itRunsAsWorkerProcess({ service: 'ingest', stages: ['ingest'], description: 'method step 1', context: () => ({ natsUrl: nats.url, dir }), start });
});
