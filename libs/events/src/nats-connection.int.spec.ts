import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nkeys } from 'nats';
import { PreconditionError } from '@mitosis/core';
import type { NatsServerFixture } from '@mitosis/testing';
import { startNatsServer, uniqueName } from '@mitosis/testing';
import { connectNats } from './nats-connection';

/** connectNats against real servers that demand user/password, a token, or an nkey signature. */
let withPassword: NatsServerFixture;
let withToken: NatsServerFixture;
let withNkey: NatsServerFixture;
let dir: string;
const user = nkeys.createUser();

beforeAll(async () => {
  [withPassword, withToken, withNkey] = await Promise.all([
    startNatsServer({ auth: { user: 'mitosis', password: 'hunter2' } }),
    startNatsServer({ auth: { token: 's3cr3t-t0ken' } }),
    startNatsServer({ auth: { nkey: user.getPublicKey() } }),
  ]);
  dir = await mkdtemp(path.join(tmpdir(), 'nats-connection-'));
});

afterAll(async () => {
  await Promise.all([withPassword?.stop(), withToken?.stop(), withNkey?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function refusal(attempt: Promise<unknown>): Promise<string> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PreconditionError);
  return (error as Error).message;
}

describe('connectNats', () => {
  it('connects with the right user and password, and JetStream works', async () => {
    const nc = await connectNats({ servers: [withPassword.url], credentials: { kind: 'user-password', user: 'mitosis', password: 'hunter2' }, name: 'test' });
    try {
      const name = uniqueName('auth');
      await (await nc.jetstreamManager()).streams.add({ name, subjects: [`${name}.>`] });
      expect((await nc.jetstream().publish(`${name}.x`)).seq).toBe(1);
    } finally {
      await nc.close();
    }
  });

  it('names the URL and "authorization" when the password is wrong, without showing it', async () => {
    const message = await refusal(connectNats({ servers: [withPassword.url], credentials: { kind: 'user-password', user: 'mitosis', password: 'wrong-pass' } }));
    expect(message).toContain(`NATS at ${withPassword.url} refused the connection: authorization violation`);
    expect(message).toContain('user mitosis with password (MITOSIS_NATS_USER, MITOSIS_NATS_PASSWORD)');
    expect(message).not.toContain('wrong-pass');
  });

  it('says which variables to set when no credentials were given', async () => {
    const message = await refusal(connectNats({ servers: [withPassword.url], credentials: undefined }));
    expect(message).toContain(`NATS at ${withPassword.url} refused the connection: authorization violation`);
    expect(message).toContain('no credentials were given: set MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD, MITOSIS_NATS_TOKEN or MITOSIS_NATS_CREDS');
  });

  it('connects with a token and refuses a wrong one', async () => {
    const nc = await connectNats({ servers: [withToken.url], credentials: { kind: 'token', token: 's3cr3t-t0ken' } });
    await nc.close();
    const message = await refusal(connectNats({ servers: [withToken.url], credentials: { kind: 'token', token: 'other-t0ken' } }));
    expect(message).toMatch(/authorization violation.*token \(MITOSIS_NATS_TOKEN\)/);
    expect(message).not.toContain('t0ken');
  });

  it('authenticates with a .creds file by signing with its seed, and refuses another seed', async () => {
    const credsFile = async (name: string, seed: Uint8Array): Promise<string> => {
      const file = path.join(dir, name);
      const text = `-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.c2ln\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(seed)}\n------END USER NKEY SEED------\n`;
      await writeFile(file, text, { mode: 0o600 });
      return file;
    };
    const good = await credsFile('good.creds', user.getSeed());
    const nc = await connectNats({ servers: [withNkey.url], credentials: { kind: 'creds-file', file: good } });
    await nc.close();
    const other = await credsFile('other.creds', nkeys.createUser().getSeed());
    const message = await refusal(connectNats({ servers: [withNkey.url], credentials: { kind: 'creds-file', file: other } }));
    expect(message).toContain(`NATS at ${withNkey.url} refused the connection: authorization violation`);
    expect(message).toContain(`creds file ${other} (MITOSIS_NATS_CREDS)`);
  });

  it('names the URL when nothing listens there', async () => {
    // The port of a server just stopped: nobody listens there.
    const server = await startNatsServer();
    const url = server.url;
    await server.stop();
    const message = await refusal(connectNats({ servers: [url], credentials: undefined, extra: { timeout: 2_000 } }));
    expect(message).toContain(`cannot connect to NATS at ${url}`);
  });
});
