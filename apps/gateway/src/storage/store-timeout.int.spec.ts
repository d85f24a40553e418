import type { Client, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { credentials, makeGenericClientConstructor, Metadata, status } from '@grpc/grpc-js';
import { HEALTH_SERVICE_NAME, loadHealthProto } from '@mitosis/service-kit';
import type { HeldStore } from '../testing/held-store';
import { heldStore } from '../testing/held-store';
import { call, gatewayForSpec, syntheticTiff, upload } from '../testing/harness';

let held: HeldStore | undefined;
const store = (): HeldStore => held!;

const TIMEOUT_MS = 400;
const gateway = gatewayForSpec({ wrapStore: (bucket) => (held = heldStore(bucket)), storeTimeoutMs: TIMEOUT_MS, storeProbeIntervalMs: 100 });

jest.setTimeout(30_000);

interface HealthClient extends Client {
  Check(request: { service: string }, metadata: Metadata, callback: (error: ServiceError | null, response: { status: string }) => void): void;
}

function healthOf(address: string): { check(): Promise<string>; close(): void } {
  const Health = makeGenericClientConstructor(loadHealthProto()[HEALTH_SERVICE_NAME] as ServiceDefinition, 'Health');
  const client = new Health(address, credentials.createInsecure()) as unknown as HealthClient;
  return {
    check: () => new Promise((resolve, reject) => client.Check({ service: '' }, new Metadata(), (error, response) => (error ? reject(error) : resolve(response.status)))),
    close: () => client.close(),
  };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const unavailable = { code: status.UNAVAILABLE, details: `the object store did not answer within ${TIMEOUT_MS} ms; retry later` };

describe('while the object store does not answer', () => {
  afterEach(() => store().release());

  it('GetVideo answers UNAVAILABLE after the store timeout, long before the client deadline', async () => {
    const { videoId } = await upload(gateway.clients.video, syntheticTiff({ frames: 3 }));
    store().hold();
    const started = Date.now();
    const getVideo = call(gateway.clients.video.getVideo.bind(gateway.clients.video), { videoId }, new Metadata(), { deadline: Date.now() + 20_000 });
    await expect(getVideo).rejects.toMatchObject(unavailable);
    expect(Date.now() - started).toBeLessThan(5_000);
    store().release();
    await expect(call(gateway.clients.video.getVideo.bind(gateway.clients.video), { videoId })).resolves.toMatchObject({ video: { videoId } });
  });

  it('UploadVideo answers UNAVAILABLE and commits no video, even once the late writes land', async () => {
    const records = async (): Promise<string[]> => (await gateway.keys()).filter((key) => key.endsWith('/video.json'));
    const before = await records();
    store().hold();
    await expect(upload(gateway.clients.video, syntheticTiff({ frames: 3, seed: 9 }))).rejects.toMatchObject(unavailable);
    store().release();
    await until('the held writes to land', async () => store().waiting === 0);
    expect(await records()).toEqual(before);
  });

  it('health says NOT_SERVING, and SERVING again once the store answers', async () => {
    const health = healthOf(gateway.address);
    try {
      await until('SERVING', async () => (await health.check()) === 'SERVING');
      store().hold();
      await until('NOT_SERVING', async () => (await health.check()) === 'NOT_SERVING');
      store().release();
      await until('SERVING', async () => (await health.check()) === 'SERVING');
    } finally {
      health.close();
    }
  });
});
