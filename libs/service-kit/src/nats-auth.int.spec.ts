import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PreconditionError } from '@mitosis/core';
import type { NatsServerFixture } from '@mitosis/testing';
import { startNatsServer, uniqueName, workerLauncher } from '@mitosis/testing';
import { loadConfig } from './config';
import { createLogger } from './logger';
import { startWorker } from './worker';

/**
 * A worker against a nats-server that demands a user and password: connects with the right
 * MITOSIS_NATS_USER/PASSWORD, refuses to start (the process exits 1) with wrong or none, naming
 * the URL and "authorization", and never writes the password to its log.
 */
const PASSWORD = 'nats-pass-7f3a';
const INGEST = path.join(__dirname, '..', '..', '..', 'apps', 'ingest', 'start.js');
let nats: NatsServerFixture;
let dir: string;
const workers = workerLauncher(INGEST);

beforeAll(async () => {
  nats = await startNatsServer({ auth: { user: 'mitosis', password: PASSWORD } });
  dir = await mkdtemp(path.join(tmpdir(), 'nats-auth-'));
});

afterAll(async () => {
  workers.killAll();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string>): Record<string, string> {
  return {
    MITOSIS_NATS_URL: nats.url,
    MITOSIS_STORE: pathToFileURL(path.join(dir, 'store')).href,
    MITOSIS_PREFIX: uniqueName('auth'),
    MITOSIS_STAGE_ISOLATION: 'inline',
    MITOSIS_HEALTH_ADDR: 'off',
    ...extra,
  };
}

describe('a worker and NATS authorization', () => {
  it('starts with the right user and password, logging who it is but not the password', async () => {
    const lines: string[] = [];
    const log = createLogger('ingest', { write: (line) => lines.push(line) });
    const worker = await startWorker({ service: 'ingest', stages: ['ingest'], config: loadConfig(env({ MITOSIS_NATS_USER: 'mitosis', MITOSIS_NATS_PASSWORD: PASSWORD })), log });
    try {
      expect(worker.ready()).toBe(true);
    } finally {
      await worker.stop();
    }
    const connected = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'nats connected');
    expect(connected).toMatchObject({ auth: 'user mitosis with password' });
    expect(lines.join('\n')).not.toContain(PASSWORD);
  });

  it('does not start with a wrong password', async () => {
    const log = createLogger('ingest', { write: () => undefined });
    const attempt = startWorker({ service: 'ingest', stages: ['ingest'], config: loadConfig(env({ MITOSIS_NATS_USER: 'mitosis', MITOSIS_NATS_PASSWORD: 'wrong' })), log });
    await expect(attempt).rejects.toBeInstanceOf(PreconditionError);
    await expect(attempt).rejects.toThrow(`NATS at ${nats.url} refused the connection: authorization violation`);
  });

  it('the worker process exits 1 without credentials, naming the URL and authorization', async () => {
    const run = workers.start(env({ MITOSIS_BACKEND: 'cpu' }), dir);
    expect(await run.exit).toEqual({ code: 1, signal: null });
    const failed = await run.line((l) => l['msg'] === 'worker failed');
    expect(failed['error']).toMatchObject({
      kind: 'FAILED_PRECONDITION',
      message: expect.stringContaining(`NATS at ${nats.url} refused the connection: authorization violation`) as unknown,
    });
    expect(JSON.stringify(failed)).toContain('set MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD');
  });

  it('the worker process exits 1 with a wrong password and never logs it', async () => {
    const run = workers.start(env({ MITOSIS_BACKEND: 'cpu', MITOSIS_NATS_USER: 'mitosis', MITOSIS_NATS_PASSWORD: `${PASSWORD}-old` }), dir);
    expect(await run.exit).toEqual({ code: 1, signal: null });
    const failed = await run.line((l) => l['msg'] === 'worker failed');
    expect(JSON.stringify(failed)).toMatch(/authorization violation.*user mitosis with password/);
    expect(JSON.stringify(run.lines)).not.toContain(PASSWORD);
  });
});
