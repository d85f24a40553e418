import { readFileSync } from 'node:fs';
import type { Authenticator, ConnectionOptions, NatsConnection } from 'nats';
import { connect, credsAuthenticator } from 'nats';
import { InvalidInputError, PreconditionError } from '@mitosis/core';

/**
 * How the services authenticate to NATS, read from MITOSIS_NATS_* by every service's config
 * (service-kit's loadConfig, which the gateway's config extends) and passed to every `connect`.
 */
export type NatsCredentials =
  | { readonly kind: 'user-password'; readonly user: string; readonly password: string }
  | { readonly kind: 'token'; readonly token: string }
  /** A NATS accounts/JWT `.creds` file (nsc's output): the user JWT and its nkey seed. */
  | { readonly kind: 'creds-file'; readonly file: string };

/** The variables parseNatsCredentials reads; at most one way of authenticating may be set. */
export const NATS_CREDENTIAL_VARIABLES = ['MITOSIS_NATS_USER', 'MITOSIS_NATS_PASSWORD', 'MITOSIS_NATS_TOKEN', 'MITOSIS_NATS_CREDS'] as const;

type Environment = Readonly<Record<string, string | undefined>>;

const NATS_SCHEMES = ['nats:', 'tls:', 'ws:', 'wss:'];

/** A server URL fit for logs and errors: any `user:pass@` replaced by `***@`. */
export function redactNatsUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * MITOSIS_NATS_URL: one or more comma-separated `nats://host:port`. Credentials in the URL are
 * refused rather than honoured: nats.js ignores `user:pass@` there (the server then answers
 * "Authorization Violation"), and a URL is logged and shown in errors where a variable is not.
 */
export function parseNatsServers(value: string, name = 'MITOSIS_NATS_URL'): string[] {
  const servers = value.split(',').map((s) => s.trim());
  for (const server of servers) {
    const shown = redactNatsUrl(server);
    let url: URL;
    try {
      url = new URL(server);
    } catch (error: unknown) {
      throw new InvalidInputError(`${name} "${shown}" is not a URL (expected nats://host:port)`, { cause: error });
    }
    if (!NATS_SCHEMES.includes(url.protocol) || url.hostname === '') {
      throw new InvalidInputError(`${name} "${shown}" is not a nats://host:port URL`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new InvalidInputError(
        `${name} "${shown}" holds credentials, which the NATS client ignores in a URL: ` +
          'put them in MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD (or MITOSIS_NATS_TOKEN, MITOSIS_NATS_CREDS) and give the URL without them',
      );
    }
  }
  return servers;
}

/**
 * The NATS credentials of the environment: MITOSIS_NATS_USER + MITOSIS_NATS_PASSWORD (both or
 * neither), or MITOSIS_NATS_TOKEN, or MITOSIS_NATS_CREDS (path of a .creds file); undefined when
 * none is set. More than one way, or half a pair, is an InvalidInputError naming the variables
 * (never their values). Blank values count as unset, as in loadConfig.
 */
export function parseNatsCredentials(env: Environment): NatsCredentials | undefined {
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const user = read('MITOSIS_NATS_USER');
  // A password is taken as given (spaces included): only an empty one counts as unset.
  const rawPassword = env['MITOSIS_NATS_PASSWORD'];
  const password = rawPassword === undefined || rawPassword === '' ? undefined : rawPassword;
  const token = read('MITOSIS_NATS_TOKEN');
  const credsFile = read('MITOSIS_NATS_CREDS');

  const problems: string[] = [];
  if ((user === undefined) !== (password === undefined)) {
    problems.push(`MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD go together: ${user === undefined ? 'MITOSIS_NATS_USER' : 'MITOSIS_NATS_PASSWORD'} is not set`);
  }
  const ways = [
    user !== undefined || password !== undefined ? 'MITOSIS_NATS_USER/MITOSIS_NATS_PASSWORD' : undefined,
    token !== undefined ? 'MITOSIS_NATS_TOKEN' : undefined,
    credsFile !== undefined ? 'MITOSIS_NATS_CREDS' : undefined,
  ].filter((way): way is string => way !== undefined);
  if (ways.length > 1) problems.push(`NATS credentials are set in more than one way (${ways.join(', ')}): set only one`);
  if (credsFile !== undefined && !credsFile.startsWith('/')) problems.push(`MITOSIS_NATS_CREDS "${credsFile}" must be an absolute path to a .creds file`);
  if (problems.length > 0) throw new InvalidInputError(problems.join('; '));

  if (user !== undefined && password !== undefined) return { kind: 'user-password', user, password };
  if (token !== undefined) return { kind: 'token', token };
  if (credsFile !== undefined) return { kind: 'creds-file', file: credsFile };
  return undefined;
}

/** For log lines: how the connection authenticates, without any secret. */
export function describeNatsCredentials(credentials: NatsCredentials | undefined): string {
  if (credentials === undefined) return 'none';
  switch (credentials.kind) {
    case 'user-password':
      return `user ${credentials.user} with password`;
    case 'token':
      return 'token';
    case 'creds-file':
      return `creds file ${credentials.file}`;
  }
}

// The two blocks of a .creds file (nsc's format): the user JWT, then the nkey seed.
const CREDS_BLOCK = /-{3,}[^\n]*BEGIN[^\n]*-{3,}\s*\n\s*(\S+)\s*\n\s*-{3,}[^\n]*END[^\n]*-{3,}/g;

/**
 * Reads and checks a .creds file, so a missing or damaged one fails at start naming the file
 * instead of as an opaque "BAD_CREDS" inside the client.
 */
export function readCredsFile(file: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error: unknown) {
    const code = (error as { code?: unknown }).code;
    throw new InvalidInputError(`MITOSIS_NATS_CREDS "${file}" cannot be read (${typeof code === 'string' ? code : String(error)})`, { cause: error });
  }
  const blocks = [...text.matchAll(CREDS_BLOCK)].map((m) => m[1] ?? '');
  if (blocks.length < 2 || !blocks[0]?.startsWith('eyJ') || !blocks[1]?.startsWith('SU')) {
    throw new InvalidInputError(`MITOSIS_NATS_CREDS "${file}" is not a NATS .creds file (expected a USER JWT block, then a USER NKEY SEED block)`);
  }
  return new TextEncoder().encode(text);
}

/** The part of nats.js' ConnectionOptions that authenticates with these credentials. */
export function natsAuthOptions(credentials: NatsCredentials | undefined): { user?: string; pass?: string; token?: string; authenticator?: Authenticator } {
  if (credentials === undefined) return {};
  switch (credentials.kind) {
    case 'user-password':
      return { user: credentials.user, pass: credentials.password };
    case 'token':
      return { token: credentials.token };
    case 'creds-file': {
      const file = credentials.file;
      readCredsFile(file);
      // Read again at each (re)connect, so a rotated file is picked up without a restart.
      return { authenticator: credsAuthenticator(() => readCredsFile(file)) };
    }
  }
}

export interface ConnectNatsOptions {
  readonly servers: readonly string[];
  readonly credentials: NatsCredentials | undefined;
  /** Connection name shown by the server (`mitosis-<service>@<host>`). */
  readonly name?: string;
  /** Default -1: reconnect forever once connected (the first connection is tried once). */
  readonly maxReconnectAttempts?: number;
  /** Any further nats.js option (tests: timeouts). */
  readonly extra?: Omit<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'authenticator' | 'name' | 'maxReconnectAttempts'>;
}

/**
 * `connect` of nats.js with the service's credentials. A refused first connection becomes an
 * error naming the server URL(s) and, for an authorization violation, which credentials were
 * used and which variables set them (never their values).
 */
export async function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const servers = [...options.servers];
  const auth = natsAuthOptions(options.credentials);
  try {
    return await connect({
      ...options.extra,
      servers,
      ...(options.name !== undefined ? { name: options.name } : {}),
      maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
      ...auth,
    });
  } catch (error: unknown) {
    const where = servers.map(redactNatsUrl).join(', ');
    const code = (error as { code?: unknown }).code;
    if (code === 'AUTHORIZATION_VIOLATION' || code === 'BAD_CREDS' || code === 'AUTHENTICATION_EXPIRED') {
      const used =
        options.credentials === undefined
          ? 'no credentials were given: set MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD, MITOSIS_NATS_TOKEN or MITOSIS_NATS_CREDS'
          : `the credentials were refused: ${describeNatsCredentials(options.credentials)} (${variablesOf(options.credentials)})`;
      throw new PreconditionError(`NATS at ${where} refused the connection: authorization violation (${String(code)}); ${used}`, { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new PreconditionError(`cannot connect to NATS at ${where}: ${message}`, { cause: error });
  }
}

function variablesOf(credentials: NatsCredentials): string {
  switch (credentials.kind) {
    case 'user-password':
      return 'MITOSIS_NATS_USER, MITOSIS_NATS_PASSWORD';
    case 'token':
      return 'MITOSIS_NATS_TOKEN';
    case 'creds-file':
      return 'MITOSIS_NATS_CREDS';
  }
}
