import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NatsServerFixture } from '@mitosis/testing';
import { startNatsServer, uniqueName } from '@mitosis/testing';

/** The m3 worker as a real process: started by its launcher, ready, stopped by SIGTERM. */
const START = path.join(__dirname, '..', 'start.js');
let nats: NatsServerFixture;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  dir = await mkdtemp(path.join(tmpdir(), 'm3-main-'));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Run {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  /** Resolves with the first log line that matches. */
  line(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: Record<string, string>): Run {
  // From another folder: the launcher must not depend on the working directory.
  const child = spawn(process.execPath, [START], { cwd: dir, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let buffer = '';
  const onData = (chunk: Buffer): void => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        lines.push({ msg: part });
      }
    }
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const line = async (predicate: (l: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find(predicate);
      if (found) return found;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no such log line; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  return { child, lines, line, exit };
}

describe('m3 worker process', () => {
  it('starts, consumes its stages, is ready, and stops cleanly on SIGTERM', async () => {
    const run = start({
      MITOSIS_NATS_URL: nats.url,
      MITOSIS_STORE: pathToFileURL(path.join(dir, 'store')).href,
      MITOSIS_PREFIX: uniqueName('m3'),
      MITOSIS_BACKEND: 'cpu',
      MITOSIS_HEALTH_ADDR: '127.0.0.1:0',
    });
    const started = await run.line((l) => l['msg'] === 'worker started');
    expect(started).toMatchObject({ level: 'info', service: 'm3', stages: ['m3-train', 'm3-detect'], isolation: 'thread' });
    expect(run.lines.find((l) => l['msg'] === 'compute backend')).toMatchObject({ backend: 'cpu' });
    const { url } = (await run.line((l) => l['msg'] === 'health endpoint')) as { url: string };
    const ready = await fetch(`${url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, expect.objectContaining({ ready: true, connected: true, stages: ['m3-train', 'm3-detect'] })]);
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
