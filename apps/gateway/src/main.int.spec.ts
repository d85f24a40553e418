import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metadata, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import type { ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { VideoServiceClient } from '@mitosis/proto';
import type { NatsServerFixture } from '@mitosis/testing';
import { startNatsServer, uniqueName } from '@mitosis/testing';
import { HEALTH_SERVICE_NAME, loadHealthProto } from '@mitosis/service-kit';
import { call, syntheticTiff, upload } from './testing/harness';

const launcher = path.resolve(__dirname, '..', 'bin', 'gateway.js');

let nats: NatsServerFixture;
let dir: string;

beforeAll(async () => {
  nats = await startNatsServer();
  dir = await mkdtemp(path.join(tmpdir(), 'gateway-main-'));
});

afterAll(async () => {
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

/** Starts bin/gateway.js from another working directory, as a deployment would. */
function launch(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [launcher], { cwd: tmpdir(), env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffered = '';
  const collect = (chunk: Buffer): void => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function listening(run: Run, timeoutMs = 30_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    for (const line of run.lines) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { msg?: string; address?: string };
      if (entry.msg === 'gateway listening' && entry.address !== undefined) return entry.address;
    }
    if (run.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the gateway did not start:\n${run.lines.join('\n')}`);
}

describe('main.ts (bin/gateway.js)', () => {
  it('starts from any working directory, serves, and stops cleanly on SIGTERM', async () => {
    const run = launch({
      MITOSIS_NATS_URL: nats.url,
      MITOSIS_STORE: `file://${path.join(dir, 'store')}`,
      MITOSIS_PREFIX: uniqueName('main'),
      MITOSIS_GRPC_ADDR: '127.0.0.1:0',
      MITOSIS_UPLOAD_DIR: path.join(dir),
      MITOSIS_DRAIN_TIMEOUT_MS: '2000',
    });
    try {
      const address = await listening(run);
      const Health = makeGenericClientConstructor(loadHealthProto()[HEALTH_SERVICE_NAME] as ServiceDefinition, 'Health');
      const health = new Health(address, credentials.createInsecure()) as unknown as {
        Check(request: object, metadata: Metadata, callback: (error: ServiceError | null, response: unknown) => void): void;
        close(): void;
      };
      const answer = await new Promise((resolve, reject) => health.Check({ service: '' }, new Metadata(), (e, r) => (e ? reject(e) : resolve(r))));
      expect(answer).toEqual({ status: 'SERVING' });
      health.close();

      const video = new VideoServiceClient(address, credentials.createInsecure());
      const { videoId, info } = await upload(video, syntheticTiff({ frames: 5 }));
      expect(info?.frameCount).toBe(5);
      expect((await call(video.getVideo.bind(video), { videoId })).video?.videoId).toBe(videoId);
      expect(await readdir(path.join(dir, 'store', 'videos', videoId))).toEqual(['source', 'video.json']);
      video.close();

      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(run.lines.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('exits 1 naming every bad variable', async () => {
    const run = launch({ MITOSIS_STORE: 'ftp://x', MITOSIS_UPLOAD_DIR: 'relative/dir' });
    expect(await run.exited).toBe(1);
    const failure = run.lines.map((line) => JSON.parse(line) as { msg: string; error?: { message: string } }).find((entry) => entry.msg === 'gateway failed');
    const output = failure?.error?.message ?? '';
    expect(output).toContain('MITOSIS_NATS_URL is not set');
    expect(output).toContain('MITOSIS_STORE has scheme ftp:');
    expect(output).toContain('MITOSIS_UPLOAD_DIR "relative/dir" must be an absolute path');
  });
});

describe('main.ts against a NATS server that demands a user and password', () => {
  const password = 'gw-nats-pass-91c2';
  let secured: NatsServerFixture;
  beforeAll(async () => {
    secured = await startNatsServer({ auth: { user: 'mitosis', password } });
  });
  afterAll(async () => {
    await secured?.stop();
  });
  const env = (extra: Record<string, string>): Record<string, string> => ({
    MITOSIS_NATS_URL: secured.url,
    MITOSIS_STORE: `file://${path.join(dir, 'store')}`,
    MITOSIS_PREFIX: uniqueName('auth'),
    MITOSIS_GRPC_ADDR: '127.0.0.1:0',
    MITOSIS_UPLOAD_DIR: dir,
    ...extra,
  });

  it('starts with MITOSIS_NATS_USER/MITOSIS_NATS_PASSWORD and never logs the password', async () => {
    const run = launch(env({ MITOSIS_NATS_USER: 'mitosis', MITOSIS_NATS_PASSWORD: password }));
    try {
      await listening(run);
      const connected = run.lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry['msg'] === 'nats connected');
      expect(connected).toMatchObject({ auth: 'user mitosis with password' });
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(run.lines.join('\n')).not.toContain(password);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it.each([
    ['without credentials', {}, 'no credentials were given: set MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD'],
    ['with a wrong password', { MITOSIS_NATS_USER: 'mitosis', MITOSIS_NATS_PASSWORD: 'not-the-password' }, 'user mitosis with password (MITOSIS_NATS_USER, MITOSIS_NATS_PASSWORD)'],
  ])('refuses to start %s: exit 1 naming the URL and authorization', async (_, extra, used) => {
    const run = launch(env(extra));
    expect(await run.exited).toBe(1);
    const failure = run.lines.map((line) => JSON.parse(line) as { msg: string; error?: { message: string } }).find((entry) => entry.msg === 'gateway failed');
    expect(failure?.error?.message).toContain(`NATS at ${secured.url} refused the connection: authorization violation`);
    expect(failure?.error?.message).toContain(used);
    expect(run.lines.join('\n')).not.toContain('not-the-password');
    expect(run.lines.some((line) => line.includes('gateway listening'))).toBe(false);
  });
});
