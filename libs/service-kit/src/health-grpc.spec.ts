import { status } from '@grpc/grpc-js';
import type { GrpcHealthServer, HealthService } from './health-grpc';
import { createHealthService, startGrpcHealthServer } from './health-grpc';
import type { HealthTestClient } from './health-grpc.testing';
import { healthTestClient } from './health-grpc.testing';

let server: GrpcHealthServer | undefined;
let client: HealthTestClient | undefined;
afterEach(async () => {
  client?.close();
  await server?.close();
  server = client = undefined;
});

async function serve(health: HealthService): Promise<HealthTestClient> {
  server = await startGrpcHealthServer({ addr: '127.0.0.1:0', health });
  expect(server.port).toBeGreaterThan(0);
  expect(server.address).toBe(`127.0.0.1:${server.port}`);
  client = healthTestClient(server.address);
  return client;
}

describe('grpc.health.v1 (createHealthService, startGrpcHealthServer)', () => {
  it('answers Check for "" and the named services, NOT_FOUND for others', async () => {
    const health = createHealthService(['a.Live'], 'NOT_SERVING');
    const c = await serve(health);
    expect(await c.check('')).toBe('NOT_SERVING');
    health.setStatus('', 'SERVING');
    expect(health.getStatus('')).toBe('SERVING');
    expect(await c.check('')).toBe('SERVING');
    expect(await c.check('a.Live')).toBe('NOT_SERVING');
    await expect(c.check('b.Other')).rejects.toMatchObject({ code: status.NOT_FOUND, details: expect.stringContaining('b.Other') });
    expect(health.getStatus('b.Other')).toBeUndefined();
  });

  it('streams each change to Watch, SERVICE_UNKNOWN for an unknown name, and ends the streams on close', async () => {
    const health = createHealthService(['a.Live']);
    const c = await serve(health);
    const ready = c.watch('');
    const unknown = c.watch('b.Other');
    expect(await ready.next()).toBe('SERVING');
    expect(await unknown.next()).toBe('SERVICE_UNKNOWN');
    health.setStatus('', 'NOT_SERVING');
    health.setStatus('', 'NOT_SERVING'); // no change, nothing sent
    health.setStatus('a.Live', 'NOT_SERVING'); // another service, not this stream
    health.setStatus('', 'SERVING');
    expect(await ready.next()).toBe('NOT_SERVING');
    expect(await ready.next()).toBe('SERVING');
    await server?.close();
    expect(await ready.next()).toBe('NOT_SERVING');
    await ready.ended;
    await unknown.ended;
    expect(health.getStatus('a.Live')).toBe('NOT_SERVING');
  });

  it('fails to start on a bad address or a port in use', async () => {
    const health = createHealthService([]);
    await expect(startGrpcHealthServer({ addr: 'nowhere', health })).rejects.toThrow('gRPC health address "nowhere" is not host:port');
    await serve(health);
    await expect(startGrpcHealthServer({ addr: `127.0.0.1:${server?.port ?? 0}`, health: createHealthService([]) })).rejects.toThrow(
      `gRPC health server cannot listen on 127.0.0.1:${server?.port ?? 0}`,
    );
  });
});
