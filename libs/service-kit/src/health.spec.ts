import { startHealthServer } from './health';
import type { HealthServer } from './health';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function get(path: string, method = 'GET'): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server?.url}${path}`, { method });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

describe('startHealthServer', () => {
  it('answers liveness always and readiness as the check says', async () => {
    let ready = false;
    server = await startHealthServer({ addr: '127.0.0.1:0', ready: () => ({ ready, detail: { stages: ['m1'] } }) });
    expect(server.port).toBeGreaterThan(0);
    expect(await get('/livez')).toEqual({ status: 200, body: { live: true } });
    expect(await get('/readyz')).toEqual({ status: 503, body: { ready: false, stages: ['m1'] } });
    ready = true;
    expect(await get('/readyz')).toEqual({ status: 200, body: { ready: true, stages: ['m1'] } });
    expect((await get('/readyz', 'HEAD')).status).toBe(200);
  });

  it('is not ready when the check throws, and knows no other paths or methods', async () => {
    server = await startHealthServer({
      addr: '127.0.0.1:0',
      ready: () => {
        throw new Error('job bucket unreachable');
      },
    });
    expect(await get('/readyz')).toEqual({ status: 503, body: { ready: false, error: 'job bucket unreachable' } });
    expect((await get('/metrics')).status).toBe(404);
    expect((await get('/livez', 'POST')).status).toBe(405);
  });

  it('fails to start on a bad address or a port in use', async () => {
    await expect(startHealthServer({ addr: 'nowhere', ready: () => ({ ready: true }) })).rejects.toThrow('health address "nowhere" is not host:port');
    server = await startHealthServer({ addr: '127.0.0.1:0', ready: () => ({ ready: true }) });
    await expect(startHealthServer({ addr: `127.0.0.1:${server.port}`, ready: () => ({ ready: true }) })).rejects.toThrow(/EADDRINUSE/);
  });
});
