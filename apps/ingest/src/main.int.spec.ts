import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NatsServerFixture, WorkerRun } from '@mitosis/testing';
import { startNatsServer, uniqueName, workerLauncher } from '@mitosis/testing';

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
  it('starts, consumes its stages, is ready, and stops cleanly on SIGTERM', async () => {
    const run = start({
      MITOSIS_NATS_URL: nats.url,
      MITOSIS_STORE: pathToFileURL(path.join(dir, 'store')).href,
      MITOSIS_PREFIX: uniqueName('ingest'),
      MITOSIS_BACKEND: 'cpu',
      MITOSIS_HEALTH_ADDR: '127.0.0.1:0',
    });
    const started = await run.line((l) => l['msg'] === 'worker started');
    expect(started).toMatchObject({ level: 'info', service: 'ingest', stages: ['ingest'], isolation: 'thread' });
    expect(run.lines.find((l) => l['msg'] === 'worker starting')).toMatchObject({ description: expect.stringContaining('method step 1') as unknown });
    expect(run.lines.find((l) => l['msg'] === 'compute backend')).toMatchObject({ backend: 'cpu' });
    const { url } = (await run.line((l) => l['msg'] === 'health endpoint')) as { url: string };
    const ready = await fetch(`${url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, expect.objectContaining({ ready: true, connected: true, stages: ['ingest'] })]);
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.lines.map((l) => l['msg'])).toEqual(expect.arrayContaining(['shutting down', 'worker stopped', 'stopped']));
  });

  it('exits 1 with one line naming each bad variable', async () => {
    const run = start({ MITOSIS_STORE: 'file:///tmp/x', MITOSIS_CONCURRENCY: '0' });
    expect(await run.exit).toEqual({ code: 1, signal: null });
    const failed = await run.line((l) => l['msg'] === 'worker failed');
    expect(failed['error']).toMatchObject({
      kind: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/MITOSIS_NATS_URL is not set.*MITOSIS_CONCURRENCY 0 is outside 1\.\.64/) as unknown,
    });
  });
});
