import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import { describeNatsCredentials, natsAuthOptions, parseNatsCredentials, parseNatsServers, readCredsFile, redactNatsUrl } from './nats-connection';

function credentialError(env: Record<string, string>): string {
  try {
    parseNatsCredentials(env);
  } catch (error: unknown) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as Error).message;
  }
  throw new Error(`parseNatsCredentials accepted ${Object.keys(env).join(', ')}`);
}

describe('parseNatsCredentials', () => {
  it('is undefined when no credential variable is set (blank counts as unset)', () => {
    expect(parseNatsCredentials({})).toBeUndefined();
    expect(parseNatsCredentials({ MITOSIS_NATS_USER: '  ', MITOSIS_NATS_PASSWORD: '', MITOSIS_NATS_TOKEN: '', MITOSIS_NATS_CREDS: ' ' })).toBeUndefined();
  });

  it('reads a user and password, the password as given', () => {
    expect(parseNatsCredentials({ MITOSIS_NATS_USER: ' mitosis ', MITOSIS_NATS_PASSWORD: ' p@ss w0rd' })).toEqual({
      kind: 'user-password',
      user: 'mitosis',
      password: ' p@ss w0rd',
    });
  });

  it('reads a token', () => {
    expect(parseNatsCredentials({ MITOSIS_NATS_TOKEN: 's3cr3t' })).toEqual({ kind: 'token', token: 's3cr3t' });
  });

  it('reads the path of a creds file', () => {
    expect(parseNatsCredentials({ MITOSIS_NATS_CREDS: '/etc/nats/user.creds' })).toEqual({ kind: 'creds-file', file: '/etc/nats/user.creds' });
  });

  it.each([
    [{ MITOSIS_NATS_USER: 'mitosis' }, 'MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD go together: MITOSIS_NATS_PASSWORD is not set'],
    [{ MITOSIS_NATS_PASSWORD: 'hunter2' }, 'MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD go together: MITOSIS_NATS_USER is not set'],
    [
      { MITOSIS_NATS_USER: 'u', MITOSIS_NATS_PASSWORD: 'hunter2', MITOSIS_NATS_TOKEN: 'tok' },
      'more than one way (MITOSIS_NATS_USER/MITOSIS_NATS_PASSWORD, MITOSIS_NATS_TOKEN): set only one',
    ],
    [{ MITOSIS_NATS_TOKEN: 'tok', MITOSIS_NATS_CREDS: '/x.creds' }, 'more than one way (MITOSIS_NATS_TOKEN, MITOSIS_NATS_CREDS)'],
    [
      { MITOSIS_NATS_USER: 'u', MITOSIS_NATS_PASSWORD: 'hunter2', MITOSIS_NATS_CREDS: '/x.creds' },
      'more than one way (MITOSIS_NATS_USER/MITOSIS_NATS_PASSWORD, MITOSIS_NATS_CREDS)',
    ],
    [{ MITOSIS_NATS_PASSWORD: 'hunter2', MITOSIS_NATS_TOKEN: 'tok' }, 'more than one way'],
    [{ MITOSIS_NATS_CREDS: 'user.creds' }, 'MITOSIS_NATS_CREDS "user.creds" must be an absolute path'],
  ])('refuses %j', (env, expected) => {
    const message = credentialError(env);
    expect(message).toContain(expected);
    // Values of secrets never appear, only variable names.
    expect(message).not.toMatch(/hunter2|tok\b/);
  });

  it('reports half a pair and a second way together', () => {
    const message = credentialError({ MITOSIS_NATS_PASSWORD: 'hunter2', MITOSIS_NATS_CREDS: '/x.creds' });
    expect(message).toContain('MITOSIS_NATS_USER is not set');
    expect(message).toContain('more than one way');
  });
});

describe('parseNatsServers', () => {
  it('splits a comma-separated list', () => {
    expect(parseNatsServers('nats://a:4222, tls://b:4443')).toEqual(['nats://a:4222', 'tls://b:4443']);
  });

  it.each([
    ['http://nats:4222', 'MITOSIS_NATS_URL "http://nats:4222" is not a nats://host:port URL'],
    ['not a url', 'MITOSIS_NATS_URL "not a url" is not a URL'],
  ])('refuses %s', (value, expected) => {
    expect(() => parseNatsServers(value)).toThrow(expected);
  });

  it('refuses user:pass@ in the URL, pointing to the variables, without showing them', () => {
    let message = '';
    try {
      parseNatsServers('nats://a:4222,nats://mitosis:hunter2@b:4222');
    } catch (error: unknown) {
      expect(error).toBeInstanceOf(InvalidInputError);
      message = (error as Error).message;
    }
    expect(message).toContain('MITOSIS_NATS_URL "nats://***@b:4222" holds credentials');
    expect(message).toContain('MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD');
    expect(message).not.toMatch(/hunter2|mitosis:/);
    // A token alone in the user part too.
    expect(() => parseNatsServers('nats://tok@b:4222')).toThrow('holds credentials');
  });

  it('redacts credentials from a URL for logs', () => {
    expect(redactNatsUrl('nats://u:p@h:4222')).toBe('nats://***@h:4222');
    expect(redactNatsUrl('nats://h:4222')).toBe('nats://h:4222');
  });
});

describe('natsAuthOptions and describeNatsCredentials', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'nats-creds-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('maps each kind to the nats.js options; the description holds no secret', () => {
    expect(natsAuthOptions(undefined)).toEqual({});
    expect(natsAuthOptions({ kind: 'user-password', user: 'u', password: 'hunter2' })).toEqual({ user: 'u', pass: 'hunter2' });
    expect(natsAuthOptions({ kind: 'token', token: 'tok' })).toEqual({ token: 'tok' });
    expect(describeNatsCredentials(undefined)).toBe('none');
    expect(describeNatsCredentials({ kind: 'user-password', user: 'u', password: 'hunter2' })).toBe('user u with password');
    expect(describeNatsCredentials({ kind: 'token', token: 'tok' })).toBe('token');
    expect(describeNatsCredentials({ kind: 'creds-file', file: '/a.creds' })).toBe('creds file /a.creds');
  });

  it('reads a .creds file into an authenticator that signs the nonce with its seed', async () => {
    // A well-formed file: a JWT block and a freshly made user seed.
    const { nkeys } = await import('nats');
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const jwt = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln';
    const file = path.join(dir, 'user.creds');
    await writeFile(file, `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`);
    const { authenticator } = natsAuthOptions({ kind: 'creds-file', file });
    expect(authenticator).toBeDefined();
    const nonce = 'abcdefgh';
    const answer = authenticator?.(nonce) as { jwt: string; nkey: string; sig: string };
    expect(answer.jwt).toBe(jwt);
    expect(answer.nkey).toBe(user.getPublicKey());
    // The signature verifies with the seed's public key.
    const sig = Buffer.from(answer.sig, 'base64url');
    expect(nkeys.fromPublic(user.getPublicKey()).verify(new TextEncoder().encode(nonce), sig)).toBe(true);
  });

  it('names a missing or damaged .creds file', async () => {
    expect(() => readCredsFile(path.join(dir, 'absent.creds'))).toThrow(/MITOSIS_NATS_CREDS ".*absent\.creds" cannot be read \(ENOENT\)/);
    const bad = path.join(dir, 'bad.creds');
    await writeFile(bad, 'user=me\npassword=x\n');
    expect(() => natsAuthOptions({ kind: 'creds-file', file: bad })).toThrow(InvalidInputError);
    expect(() => readCredsFile(bad)).toThrow(/is not a NATS \.creds file/);
  });
});
