import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { connect } from 'nats';
import { PreconditionError } from '@mitosis/core';
import { startNatsServer, uniqueName } from './nats-server';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startNatsServer', () => {
  it('starts a JetStream server on a free port with a fresh store, and stop() removes both', async () => {
    const server = await startNatsServer();
    try {
      expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
      expect(server.port).toBeGreaterThan(0);
      expect(existsSync(server.storeDir)).toBe(true);

      const nc = await connect({ servers: server.url });
      try {
        const jsm = await nc.jetstreamManager();
        const name = uniqueName('fixture');
        await jsm.streams.add({ name, subjects: [`${name}.>`] });
        const js = nc.jetstream();
        const ack = await js.publish(`${name}.x`, new TextEncoder().encode('hello'));
        expect(ack.seq).toBe(1);
      } finally {
        await nc.close();
      }
    } finally {
      await server.stop();
    }
    expect(existsSync(server.storeDir)).toBe(false);
    expect(await accepts(server.port)).toBe(false);
    // A second stop is harmless (afterAll hooks and `await using` may both call it).
    await expect(server.stop()).resolves.toBeUndefined();
  });

  it('gives two servers started together different ports and folders', async () => {
    const [a, b] = await Promise.all([startNatsServer(), startNatsServer()]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(a.storeDir).not.toBe(b.storeDir);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('is disposed by `await using`', async () => {
    let storeDir = '';
    {
      await using server = await startNatsServer();
      storeDir = server.storeDir;
      expect(existsSync(storeDir)).toBe(true);
    }
    expect(existsSync(storeDir)).toBe(false);
  });

  it('says how to install nats-server when the binary is missing', async () => {
    const attempt = startNatsServer({ binary: '/nonexistent/nats-server' });
    await expect(attempt).rejects.toBeInstanceOf(PreconditionError);
    await expect(attempt).rejects.toThrow(/install it: apt-get install nats-server/);
  });

  it('reports the log when the server refuses its arguments', async () => {
    await expect(startNatsServer({ args: ['--no-such-flag'] })).rejects.toThrow(/exited .* before it was ready/s);
  });
});

describe('uniqueName', () => {
  it('is a valid subject token and stream name, different each call', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName('jobs')));
    expect(names.size).toBe(100);
    for (const name of names) expect(name).toMatch(/^jobs_[0-9a-f]{12}$/);
  });

  it('rejects a prefix that would break a subject', () => {
    expect(() => uniqueName('a.b')).toThrow(PreconditionError);
  });
});
