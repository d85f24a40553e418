import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metadata, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import type { ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { AnalysisServiceClient, StartAnalysisRequest, VideoServiceClient } from '@mitosis/proto';
import type { NatsServerFixture, WorkerRun } from '@mitosis/testing';
import { startNatsServer, uniqueName, workerLauncher } from '@mitosis/testing';
import { HEALTH_SERVICE_NAME, loadHealthProto } from '@mitosis/service-kit';
import { call, syntheticTiff, upload } from './testing/harness';

const launcher = path.resolve(__dirname, '..', 'bin', 'gateway.js');

// Started from another working directory, as a deployment would.
const gateways = workerLauncher(launcher);
const launch = (env: Record<string, string>): WorkerRun => gateways.start(env, tmpdir());

let nats: NatsServerFixture;
let dir: string;

beforeAll(async () => {
  nats = await startNatsServer();
  dir = await mkdtemp(path.join(tmpdir(), 'gateway-main-'));
});

afterAll(async () => {
  gateways.killAll();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The address of the `gateway listening` line; fails listing the lines if the gateway exits first. */
async function listening(run: WorkerRun): Promise<string> {
  return String((await run.line((l) => l['msg'] === 'gateway listening' && l['address'] !== undefined))['address']);
}

async function failure(run: WorkerRun): Promise<{ error?: { message: string } }> {
  return (await run.line((l) => l['msg'] === 'gateway failed')) as { error?: { message: string } };
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
      MITOSIS_MAX_M1_ITERATIONS: '50',
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

      // The operator's work limit reaches the running server.
      const analysis = new AnalysisServiceClient(address, credentials.createInsecure());
      const tooMuch = StartAnalysisRequest.fromPartial({ videoId, options: { m1Iterations: 51 } });
      await expect(call(analysis.startAnalysis.bind(analysis), tooMuch)).rejects.toMatchObject({ details: 'options.m1_iterations 51 is above the limit of 50' });
      analysis.close();

      run.child.kill('SIGTERM');
      expect((await run.exit).code).toBe(0);
      expect(run.lines.some((line) => line['msg'] === 'stopped')).toBe(true);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('exits 1 naming every bad variable', async () => {
    const run = launch({ MITOSIS_STORE: 'ftp://x', MITOSIS_UPLOAD_DIR: 'relative/dir' });
    expect((await run.exit).code).toBe(1);
    const output = (await failure(run)).error?.message ?? '';
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
      const connected = run.lines.find((line) => line['msg'] === 'nats connected');
      expect(connected).toMatchObject({ auth: 'user mitosis with password' });
      run.child.kill('SIGTERM');
      expect((await run.exit).code).toBe(0);
      expect(JSON.stringify(run.lines)).not.toContain(password);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it.each([
    ['without credentials', {}, 'no credentials were given: set MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD'],
    ['with a wrong password', { MITOSIS_NATS_USER: 'mitosis', MITOSIS_NATS_PASSWORD: 'not-the-password' }, 'user mitosis with password (MITOSIS_NATS_USER, MITOSIS_NATS_PASSWORD)'],
  ])('refuses to start %s: exit 1 naming the URL and authorization', async (_, extra, used) => {
    const run = launch(env(extra));
    expect((await run.exit).code).toBe(1);
    const { error } = await failure(run);
    expect(error?.message).toContain(`NATS at ${secured.url} refused the connection: authorization violation`);
    expect(error?.message).toContain(used);
    expect(JSON.stringify(run.lines)).not.toContain('not-the-password');
    expect(run.lines.some((line) => line['msg'] === 'gateway listening')).toBe(false);
  });
});
