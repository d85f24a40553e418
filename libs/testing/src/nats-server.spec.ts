import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ConnectionOptions } from 'nats';
import { connect, credsAuthenticator, nkeys } from 'nats';
import { PreconditionError } from '@mitosis/core';
import { authorizationConfig, startNatsServer, uniqueName } from './nats-server';

/** 'ok' when the server accepts these options, else the nats.js error code. */
async function tryConnect(url: string, options: Partial<ConnectionOptions>): Promise<string> {
  try {
    const nc = await connect({ servers: url, ...options });
    await nc.close();
    return 'ok';
  } catch (error: unknown) {
    return String((error as { code?: unknown }).code);
  }
}

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

describe('startNatsServer with auth', () => {
  it('demands a user and password', async () => {
    await using server = await startNatsServer({ auth: { user: 'mitosis', password: 'p@ss w0rd$' } });
    expect(server.auth).toEqual({ user: 'mitosis', password: 'p@ss w0rd$' });
    // The config file is private to its owner, beside the JetStream store, gone with it.
    expect(await readFile(path.join(server.storeDir, 'auth.conf'), 'utf8')).toContain('user: "mitosis"');
    expect(await tryConnect(server.url, { user: 'mitosis', pass: 'p@ss w0rd$' })).toBe('ok');
    expect(await tryConnect(server.url, { user: 'mitosis', pass: 'wrong' })).toBe('AUTHORIZATION_VIOLATION');
    expect(await tryConnect(server.url, {})).toBe('AUTHORIZATION_VIOLATION');
  });

  it('demands a token', async () => {
    await using server = await startNatsServer({ auth: { token: 't0ken' } });
    expect(await tryConnect(server.url, { token: 't0ken' })).toBe('ok');
    expect(await tryConnect(server.url, { token: 'other' })).toBe('AUTHORIZATION_VIOLATION');
    expect(await tryConnect(server.url, { user: 'x', pass: 't0ken' })).toBe('AUTHORIZATION_VIOLATION');
  });

  it('demands a signature from the seed of a user nkey (how a .creds file authenticates)', async () => {
    const user = nkeys.createUser();
    await using server = await startNatsServer({ auth: { nkey: user.getPublicKey() } });
    const creds = (seed: Uint8Array): Uint8Array =>
      new TextEncoder().encode(
        `-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.c2ln\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(seed)}\n------END USER NKEY SEED------\n`,
      );
    expect(await tryConnect(server.url, { authenticator: credsAuthenticator(creds(user.getSeed())) })).toBe('ok');
    expect(await tryConnect(server.url, { authenticator: credsAuthenticator(creds(nkeys.createUser().getSeed())) })).toBe('AUTHORIZATION_VIOLATION');
  });

  it('refuses values it cannot write into the config file', () => {
    expect(() => authorizationConfig({ user: 'u', password: 'a"b' })).toThrow(/auth.password must be non-empty, without/);
    expect(() => authorizationConfig({ token: '' })).toThrow(PreconditionError);
    expect(() => authorizationConfig({ nkey: 'SUAB' })).toThrow(/not a user public nkey/);
    expect(authorizationConfig({ token: 'abc' })).toBe('authorization {\n  token: "abc"\n}\n');
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
