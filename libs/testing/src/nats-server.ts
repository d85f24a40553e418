import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PreconditionError } from '@mitosis/core';

/** A real `nats-server -js` owned by one test file; `stop()` (or `await using`) ends it. */
export interface NatsServerFixture {
  /** `nats://127.0.0.1:<port>`, ready to pass to `connect({ servers: url })`. */
  readonly url: string;
  readonly port: number;
  /** The JetStream storage folder (`-sd`): a fresh one removed by `stop()`, or options.storeDir. */
  readonly storeDir: string;
  /** The authorization the server demands (options.auth); undefined: none. */
  readonly auth: NatsServerAuth | undefined;
  /** Kills the server and removes its storage folder; calling it again does nothing. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface NatsServerOptions {
  /** The server binary; default `nats-server` from PATH (Debian puts it in /usr/sbin). */
  readonly binary?: string;
  /** How long to wait for "Server is ready" and an accepted TCP connection; default 10 s. */
  readonly startTimeoutMs?: number;
  /** Extra command-line arguments, appended after the fixture's own. */
  readonly args?: readonly string[];
  /** Client authorization the server demands; default none (any client is accepted). */
  readonly auth?: NatsServerAuth;
  /** Listen on this port (e.g. to restart on the port of a stopped server); default a free one. */
  readonly port?: number;
  /** JetStream storage in this folder, kept by stop() (a restart finds its streams); default a fresh temporary one, removed by stop(). */
  readonly storeDir?: string;
}

/**
 * What a client must present. `nkey`: a user's public nkey (`U...`); a client signs the server's
 * nonce with its seed, which is how a `.creds` file authenticates (without operator mode the
 * server checks the signature and ignores the JWT beside the seed).
 */
export type NatsServerAuth = { readonly user: string; readonly password: string } | { readonly token: string } | { readonly nkey: string };

const LISTENING = /Listening for client connections on ([^\s]+):(\d+)/;
const READY = /Server is ready/;

/**
 * Starts a real JetStream server on 127.0.0.1. `-p -1` lets the server pick a free port
 * (nats-server's RANDOM_PORT; 2.9 has no `-p 0`), which we read back from its own log line, so
 * parallel test files never race for a port the way "find a free port, then bind" does.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerFixture> {
  const binary = options.binary ?? findNatsServer();
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)) {
    throw new PreconditionError(`startNatsServer port ${options.port} is not an integer in 1-65535`);
  }
  const ownsStoreDir = options.storeDir === undefined;
  const storeDir = options.storeDir ?? (await mkdtemp(path.join(tmpdir(), 'mitosis-nats-')));
  const args = ['-js', '-a', '127.0.0.1', '-p', String(options.port ?? -1), '-sd', storeDir, ...(options.args ?? [])];
  if (options.auth !== undefined) {
    // In a config file rather than --user/--pass/--auth, so secrets stay out of `ps`; the
    // command-line flags still set everything else (they take precedence over the file).
    const configFile = path.join(storeDir, 'auth.conf');
    try {
      await writeFile(configFile, authorizationConfig(options.auth), { mode: 0o600 });
    } catch (error) {
      if (ownsStoreDir) await rm(storeDir, { recursive: true, force: true });
      throw error;
    }
    args.unshift('-c', configFile);
  }

  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if (ownsStoreDir) await rm(storeDir, { recursive: true, force: true });
    throw missingServer(binary, error);
  }

  // The last lines of the log, kept for the error message when the server does not come up.
  const logTail: string[] = [];
  let port = 0;
  let ready = false;
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    // A binary that cannot be spawned (ENOENT, EACCES) emits 'error' and never 'exit'.
    child.once('error', () => {
      exited = { code: null, signal: null };
      resolve();
    });
  });

  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new PreconditionError(`nats-server did not become ready within ${startTimeoutMs} ms:\n${logTail.join('\n')}`));
    }, startTimeoutMs);
    const onLine = (line: string): void => {
      logTail.push(line);
      if (logTail.length > 40) logTail.shift();
      const listening = LISTENING.exec(line);
      if (listening !== null) port = Number(listening[2]);
      if (READY.test(line)) ready = true;
      if (ready && port > 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    let pending = '';
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(missingServer(binary, error));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new PreconditionError(`nats-server exited (code ${String(code)}, signal ${String(signal)}) before it was ready:\n${logTail.join('\n')}`));
    });
  });

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (exited === null) {
        child.kill('SIGTERM');
        // A JetStream server flushes its stores on SIGTERM; SIGKILL only if it hangs.
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(killTimer);
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
      if (ownsStoreDir) await rm(storeDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    await started;
    await waitForTcp(port, startTimeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    auth: options.auth,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * A name no other test on the same server uses: `<prefix>_<12 hex>`. Only letters, digits, '_'
 * and '-', so it is valid as a subject token, a stream, consumer or KV bucket name.
 */
export function uniqueName(prefix = 't'): string {
  if (!/^[A-Za-z0-9_-]*$/.test(prefix)) {
    throw new PreconditionError(`uniqueName prefix "${prefix}" may hold only letters, digits, '_' and '-'`);
  }
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** nats-server's `authorization` block for one kind of client credentials. */
export function authorizationConfig(auth: NatsServerAuth): string {
  const quote = (name: string, value: string): string => {
    // nats-server's config strings: refuse what would need escaping rather than guess its rules.
    if (value === '' || [...value].some((c) => c === '"' || c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
      throw new PreconditionError(`startNatsServer auth.${name} must be non-empty, without '"', '\\' or control characters`);
    }
    return `"${value}"`;
  };
  if ('user' in auth) return `authorization {\n  user: ${quote('user', auth.user)}\n  password: ${quote('password', auth.password)}\n}\n`;
  if ('token' in auth) return `authorization {\n  token: ${quote('token', auth.token)}\n}\n`;
  if (!/^U[A-Z2-7]{55}$/.test(auth.nkey)) throw new PreconditionError(`startNatsServer auth.nkey "${auth.nkey}" is not a user public nkey (U + 55 base32 characters)`);
  return `authorization {\n  users: [ { nkey: ${quote('nkey', auth.nkey)} } ]\n}\n`;
}

function findNatsServer(): string {
  // Debian installs it in /usr/sbin, which is not on every user's PATH.
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  throw missingServer('nats-server');
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function missingServer(binary: string, cause?: unknown): PreconditionError {
  return new PreconditionError(`nats-server not found or not executable ("${binary}"); install it: apt-get install nats-server`, { cause });
}

/** Resolves once 127.0.0.1:port accepts a TCP connection. */
async function waitForTcp(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port }, () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new PreconditionError(`nats-server on port ${port} does not accept connections`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
