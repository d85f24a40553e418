/**
 * The distributed mode on one machine: nats-server (JetStream), an S3 server, the gateway and the
 * stage workers, each a process of its own, wired by their MITOSIS_* variables.
 *
 *   npx tsx tools/cluster/cluster.ts up [--m1 2 --m2 2 --m3 2 --ingest 1] [--dir tmp/cluster] [--grpc 127.0.0.1:50051]
 *   npx tsx tools/cluster/cluster.ts status [--dir tmp/cluster]
 *   npx tsx tools/cluster/cluster.ts down [--dir tmp/cluster]
 *
 * `startCluster(options)` is the same start and stop logic for tests (tools/cluster/*.int.spec.ts).
 * See tools/cluster/README.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { Command, InvalidArgumentError } from 'commander';
import { InvalidInputError, MitosisError, PreconditionError, exitCodeFor } from '@mitosis/core';
import { workspaceRoot } from '@mitosis/testing';

export type WorkerName = 'ingest' | 'm1' | 'm2' | 'm3';
export type ServiceName = 'nats' | 's3' | 'gateway' | WorkerName;
export const WORKER_NAMES: readonly WorkerName[] = ['ingest', 'm1', 'm2', 'm3'];

/** One line of a process's log: the services write JSON lines; anything else is `{ msg: line }`. */
export type LogLine = Readonly<Record<string, unknown>>;

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Date.now() when the exit was seen. */
  readonly at: number;
}

export interface ClusterOptions {
  /** Folder of the cluster: logs/, nats/ (JetStream), s3/ (objects), uploads/, cluster.json; default tmp/cluster. */
  readonly dir?: string;
  /** Replicas of each stage worker; default 1 each (0 leaves a worker out). */
  readonly replicas?: Partial<Record<WorkerName, number>>;
  /** The gateway's `host:port` (port 0: a free one); default 127.0.0.1:0. */
  readonly grpcAddr?: string;
  /** NATS client port; default a free one. */
  readonly natsPort?: number;
  /** MITOSIS_PREFIX (subjects, streams, job bucket); default mitosis. */
  readonly prefix?: string;
  /** The bucket everything is stored in; default mitosis. */
  readonly bucket?: string;
  /** MITOSIS_BACKEND of the workers; default unset (each takes the fastest that loads). */
  readonly backend?: 'wasm' | 'cpu' | 'tensorflow';
  /** More MITOSIS_* variables for the gateway and every worker (stage defaults, ack wait, log level...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Install Debian's nats-server with apt-get when it is missing (root only); default false. */
  readonly installNats?: boolean;
  /** How long each process may take to be ready; default 120 s (8 processes compiling on 2 cores). */
  readonly startTimeoutMs?: number;
  /** After SIGTERM, how long a process may take to exit before SIGKILL; default 20 s. */
  readonly stopTimeoutMs?: number;
  /** Progress lines (what starts, what is ready, what exited); default none. */
  readonly log?: (line: string) => void;
}

export interface ClusterProcess {
  readonly name: ServiceName;
  /** 1-based replica number. */
  readonly replica: number;
  /** `<name>-<replica>`, also the name of its log file. */
  readonly id: string;
  readonly pid: number;
  readonly logFile: string;
  /** What it serves: nats://, http:// (S3, worker health), host:port (gateway gRPC). */
  readonly endpoint: string;
  /** The log lines read so far (the file is followed every 100 ms while the cluster runs). */
  readonly lines: readonly LogLine[];
  /** Reads what the process appended since the last read, then returns every line. */
  readLog(): Promise<readonly LogLine[]>;
  /** Set once it exited. */
  readonly exit: ProcessExit | undefined;
  readonly exited: Promise<ProcessExit>;
  /** The first log line (past or future) that matches; rejects on timeout or if the process exits first. */
  waitForLine(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  kill(signal: NodeJS.Signals): void;
}

export interface Cluster {
  readonly dir: string;
  readonly prefix: string;
  /** The gateway's gRPC address, `host:port`. */
  readonly grpcAddress: string;
  readonly natsUrl: string;
  /** MITOSIS_STORE of every service: `s3://key:secret@127.0.0.1:port/bucket?ssl=false`. */
  readonly store: string;
  readonly s3: { readonly url: string; readonly port: number; readonly accessKey: string; readonly secretKey: string; readonly bucket: string; readonly directory: string };
  /** Every process, in start order (nats, s3, gateway, then the workers). */
  readonly processes: readonly ClusterProcess[];
  /** The replicas of one service. */
  replicasOf(name: ServiceName): ClusterProcess[];
  /** The table `up` prints: id, pid, endpoint, log. */
  describe(): string;
  /**
   * SIGTERM in order: the workers (they finish or hand back the message in hand), then the
   * gateway, then S3 and NATS; SIGKILL for any that outlives the stop timeout. Idempotent.
   */
  stop(): Promise<void>;
}

/** The content of `<dir>/cluster.json`, which `status` and `down` read. */
export interface ClusterFile {
  readonly startedAt: string;
  stoppedAt?: string;
  readonly dir: string;
  /** The process that started the cluster (the `up` command, or a test). */
  readonly supervisorPid: number;
  readonly grpc: string;
  readonly nats: string;
  readonly store: string;
  readonly prefix: string;
  readonly s3: Cluster['s3'];
  readonly processes: readonly { id: string; name: ServiceName; replica: number; pid: number; endpoint: string; log: string; command: readonly string[] }[];
}

const DEFAULT_DIR = 'tmp/cluster';
const POLL_MS = 100;
const ROOT = workspaceRoot();
const STOP_ORDER: readonly (readonly ServiceName[])[] = [['m3', 'm2', 'm1', 'ingest'], ['gateway'], ['s3', 'nats']];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows a log file the child writes directly (its stdout and stderr are the file, so the logs
 * survive the supervisor): reads what was appended, every 100 ms, into parsed lines.
 */
class LogTail {
  readonly lines: LogLine[] = [];
  private handle: FileHandle | undefined;
  private offset = 0;
  private pending = '';
  private reading: Promise<void> | undefined;
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(readonly file: string) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  /** Reads whatever was appended since the last read; concurrent calls share one read. */
  poll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    this.handle ??= await open(this.file, 'r');
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      this.pending += buffer.toString('utf8', 0, bytesRead);
    }
    const parts = this.pending.split('\n');
    this.pending = parts.pop() ?? '';
    if (parts.length === 0) return;
    for (const part of parts) {
      if (part.trim() === '') continue;
      this.lines.push(parseLine(part));
    }
    // Long runs: keep the latest lines only (the file has them all).
    if (this.lines.length > 50_000) this.lines.splice(0, this.lines.length - 40_000);
    for (const wake of this.waiters) wake();
  }

  onLines(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.poll().catch(() => undefined);
    this.closed = true;
    if (this.pending.trim() !== '') this.lines.push(parseLine(this.pending));
    this.pending = '';
    await this.handle?.close();
    this.handle = undefined;
  }

  tail(count = 30): string {
    return this.lines
      .slice(-count)
      .map((line) => (Object.keys(line).length === 1 && typeof line['msg'] === 'string' ? line['msg'] : JSON.stringify(line)))
      .join('\n');
  }
}

function parseLine(text: string): LogLine {
  if (text.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as LogLine;
    } catch {
      // not JSON after all: kept as text
    }
  }
  return { msg: text };
}

class ManagedProcess implements ClusterProcess {
  readonly id: string;
  readonly logFile: string;
  readonly exited: Promise<ProcessExit>;
  endpoint = '';
  exit: ProcessExit | undefined;
  private readonly tailer: LogTail;

  constructor(
    readonly name: ServiceName,
    readonly replica: number,
    private readonly child: ChildProcess,
    readonly command: readonly string[],
    logFile: string,
  ) {
    this.id = `${name}-${replica}`;
    this.logFile = logFile;
    this.tailer = new LogTail(logFile);
    this.exited = new Promise<ProcessExit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        resolve(this.exit);
      });
      // A binary that cannot be started emits 'error' and no 'exit'.
      child.once('error', () => {
        this.exit ??= { code: null, signal: null, at: Date.now() };
        resolve(this.exit);
      });
    });
    this.tailer.start();
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get lines(): readonly LogLine[] {
    return this.tailer.lines;
  }

  async readLog(): Promise<readonly LogLine[]> {
    await this.tailer.poll();
    return this.tailer.lines;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.exit === undefined) this.child.kill(signal);
  }

  async waitForLine(predicate: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.tailer.poll();
      const found = this.tailer.lines.find(predicate);
      if (found !== undefined) return found;
      if (this.exit !== undefined) {
        await this.tailer.poll();
        const late = this.tailer.lines.find(predicate);
        if (late !== undefined) return late;
        throw new PreconditionError(`${this.id} exited (code ${String(this.exit.code)}, signal ${String(this.exit.signal)}); last lines of ${this.logFile}:\n${this.tailer.tail()}`);
      }
      if (Date.now() > deadline) throw new PreconditionError(`${this.id}: no such log line within ${timeoutMs} ms; last lines of ${this.logFile}:\n${this.tailer.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, POLL_MS);
        const off = this.tailer.onLines(done);
        function done(): void {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    }
  }

  tail(count?: number): string {
    return this.tailer.tail(count);
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once it exited. */
  async terminate(timeoutMs: number): Promise<ProcessExit> {
    if (this.exit === undefined) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.tailer.close();
    return this.exit ?? (await this.exited);
  }
}

/** Debian installs nats-server in /usr/sbin, which is not on every user's PATH. */
export function findNatsServer(): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'nats-server');
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The nats-server binary; with `install`, Debian's package is installed first when missing (as tools/setup.sh does). */
export function ensureNatsServer(options: { install?: boolean; log?: (line: string) => void } = {}): string {
  const found = findNatsServer();
  if (found !== undefined) return found;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (options.install && root && findOnPath('apt-get')) {
    options.log?.('nats-server is missing: installing the Debian package (apt-get install nats-server)');
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    } catch {
      // a stale index may still hold the package
    }
    execFileSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    const installed = findNatsServer();
    if (installed !== undefined) return installed;
  }
  throw new PreconditionError(
    options.install && !root
      ? 'nats-server is not installed and only root may install it: sudo apt-get install nats-server'
      : 'nats-server is not installed: apt-get install nats-server (or run `up`, which installs it as root)',
  );
}

function findOnPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, command)));
}

function checkReplicas(replicas: Partial<Record<WorkerName, number>>): Record<WorkerName, number> {
  const counts = {} as Record<WorkerName, number>;
  for (const name of WORKER_NAMES) {
    const n = replicas[name] ?? 1;
    if (!Number.isInteger(n) || n < 0 || n > 16) throw new InvalidInputError(`replicas of ${name}: ${n} is not an integer in 0..16`);
    counts[name] = n;
  }
  return counts;
}

/** A process running here whose command line still names what we started (pids are reused). */
export function isRunning(pid: number, command?: readonly string[]): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const cmdline = `/proc/${pid}/cmdline`;
  if (command === undefined || !existsSync('/proc/self/cmdline')) return true;
  try {
    const args = readFileSync(cmdline, 'utf8').split('\0');
    if (args.length <= 1 && args[0] === '') return false; // a zombie: exited, not reaped yet
    const script = command.find((part) => part.endsWith('.js') || part.endsWith('.ts')) ?? command[0];
    return script === undefined || args.some((arg) => arg === script || arg.endsWith(path.basename(script)));
  } catch {
    return false;
  }
}

/** gRPC health (grpc.health.v1.Health/Check for ""), encoded by hand: request empty, response `08 <status>`. */
export function grpcHealth(address: string, timeoutMs = 2_000): Promise<'SERVING' | 'NOT_SERVING' | 'UNKNOWN'> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise<'SERVING' | 'NOT_SERVING' | 'UNKNOWN'>((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (request: Buffer) => request,
      (response: Buffer) => response,
      Buffer.alloc(0),
      { deadline: Date.now() + timeoutMs },
      (error, response) => {
        client.close();
        if (error) return reject(error);
        const status = response !== undefined && response.length >= 2 && response[0] === 0x08 ? response[1] : 0;
        resolve(status === 1 ? 'SERVING' : status === 2 ? 'NOT_SERVING' : 'UNKNOWN');
      },
    );
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, alive: () => ProcessExit | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error: unknown) {
      last = error;
    }
    const exit = alive();
    if (exit !== undefined) throw new PreconditionError(`${what}: the process exited (code ${String(exit.code)}, signal ${String(exit.signal)})`);
    if (Date.now() > deadline) {
      throw new PreconditionError(`${what}: not ready within ${timeoutMs} ms${last instanceof Error ? ` (${last.message})` : ''}`);
    }
    await sleep(200);
  }
}

/** Starts the whole distributed mode as separate processes and waits until each is ready. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const dir = path.resolve(options.dir ?? DEFAULT_DIR);
  const replicas = checkReplicas(options.replicas ?? {});
  const prefix = options.prefix ?? 'mitosis';
  const bucket = options.bucket ?? 'mitosis';
  const grpcAddr = options.grpcAddr ?? '127.0.0.1:0';
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
  const say = options.log ?? ((): void => undefined);
  if (options.natsPort !== undefined && (!Number.isInteger(options.natsPort) || options.natsPort < 1 || options.natsPort > 65535)) {
    throw new InvalidInputError(`NATS port ${options.natsPort} is not an integer in 1..65535`);
  }
  if (!/^[^:\s]+:\d{1,5}$/.test(grpcAddr) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(grpcAddr)) {
    throw new InvalidInputError(`gRPC address "${grpcAddr}" is not host:port`);
  }
  const previous = await readClusterFile(dir).catch(() => undefined);
  const alive = previous?.processes.filter((p) => isRunning(p.pid, p.command)) ?? [];
  if (alive.length > 0) {
    throw new PreconditionError(`a cluster already runs from ${dir} (${alive.map((p) => `${p.id} pid ${p.pid}`).join(', ')}): stop it first (cluster.ts down --dir ${dir})`);
  }
  const nats = ensureNatsServer({ install: options.installNats ?? false, log: say });
  const logs = path.join(dir, 'logs');
  await Promise.all(['logs', 'nats', 's3', 'uploads'].map((sub) => mkdir(path.join(dir, sub), { recursive: true })));

  const started: ManagedProcess[] = [];
  let stopping: Promise<void> | undefined;
  // A supervisor that exits without stop() (a test runner's hard exit) takes its children along.
  const killAll = (): void => {
    for (const p of started) p.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const launch = (name: ServiceName, replica: number, command: string, args: readonly string[], env: NodeJS.ProcessEnv): ManagedProcess => {
    const logFile = path.join(logs, `${name}-${replica}.log`);
    const fd = openSync(logFile, 'w');
    let child: ChildProcess;
    try {
      // Its own process group: a Ctrl-C in the terminal reaches the supervisor only, which then
      // stops everything in order (workers before the servers they need).
      child = spawn(command, [...args], { cwd: ROOT, env, stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    const p = new ManagedProcess(name, replica, child, [command, ...args], logFile);
    started.push(p);
    void p.exited.then((exit) => {
      if (stopping === undefined) say(`${p.id} (pid ${p.pid}) exited: code ${String(exit.code)}, signal ${String(exit.signal)}; see ${logFile}`);
    });
    return p;
  };

  const tsx = require.resolve('tsx/cjs');
  const tsconfig = path.join(ROOT, 'tsconfig.base.json');
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, TSX_TSCONFIG_PATH: tsconfig };

  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const group of STOP_ORDER) {
        await Promise.all(started.filter((p) => group.includes(p.name)).map((p) => p.terminate(stopTimeoutMs)));
      }
      process.removeListener('exit', killAll);
      say(`cluster stopped (logs in ${logs})`);
    })());

  try {
    // NATS and S3 first, side by side.
    say('starting nats-server and the S3 server');
    const natsProcess = launch('nats', 1, nats, ['-js', '-a', '127.0.0.1', '-p', String(options.natsPort ?? -1), '-sd', path.join(dir, 'nats')], baseEnv);
    const s3Process = launch('s3', 1, process.execPath, ['--require', tsx, path.join(__dirname, 's3-server.ts'), '--dir', path.join(dir, 's3'), '--bucket', bucket], baseEnv);
    const [natsPort, s3Info] = await Promise.all([
      (async () => {
        const listening = await natsProcess.waitForLine((l) => /Listening for client connections on/.test(String(l['msg'])), startTimeoutMs);
        await natsProcess.waitForLine((l) => /Server is ready/.test(String(l['msg'])), startTimeoutMs);
        return Number(/:(\d+)\s*$/.exec(String(listening['msg']))?.[1] ?? NaN);
      })(),
      s3Process.waitForLine((l) => l['msg'] === 's3 listening', startTimeoutMs),
    ]);
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    natsProcess.endpoint = natsUrl;
    const s3: Cluster['s3'] = {
      url: String(s3Info['url']),
      port: Number(s3Info['port']),
      accessKey: String(s3Info['accessKey']),
      secretKey: String(s3Info['secretKey']),
      bucket,
      directory: path.join(dir, 's3'),
    };
    s3Process.endpoint = s3.url;
    await until(`s3 at ${s3.url}`, startTimeoutMs, async () => ((await fetch(`${s3.url}/${bucket}`)).status < 500 ? true : undefined), () => s3Process.exit);
    const store = `s3://${s3.accessKey}:${s3.secretKey}@127.0.0.1:${s3.port}/${bucket}?ssl=false`;

    const serviceEnv: NodeJS.ProcessEnv = {
      ...baseEnv,
      MITOSIS_DRAIN_TIMEOUT_MS: String(Math.max(1_000, stopTimeoutMs - 5_000)),
      ...(options.backend ? { MITOSIS_BACKEND: options.backend } : {}),
      ...options.env,
      MITOSIS_NATS_URL: natsUrl,
      MITOSIS_STORE: store,
      MITOSIS_PREFIX: prefix,
    };

    // The gateway next: it creates the streams, consumers and job bucket (ensureTopology) once,
    // before the replicas all ask for them.
    say('starting the gateway');
    const gateway = launch('gateway', 1, process.execPath, [path.join(ROOT, 'apps/gateway/bin/gateway.js')], {
      ...serviceEnv,
      MITOSIS_GRPC_ADDR: grpcAddr,
      MITOSIS_UPLOAD_DIR: path.join(dir, 'uploads'),
    });
    const listening = await gateway.waitForLine((l) => l['msg'] === 'gateway listening', startTimeoutMs);
    const grpcAddress = String(listening['address']).replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '127.0.0.1:');
    gateway.endpoint = grpcAddress;
    await until(`gateway at ${grpcAddress}`, startTimeoutMs, async () => ((await grpcHealth(grpcAddress)) === 'SERVING' ? true : undefined), () => gateway.exit);

    say(`starting the workers: ${WORKER_NAMES.map((n) => `${n} x${replicas[n]}`).join(', ')}`);
    const workers: ManagedProcess[] = [];
    for (const name of WORKER_NAMES) {
      for (let replica = 1; replica <= replicas[name]; replica++) {
        workers.push(launch(name, replica, process.execPath, [path.join(ROOT, 'apps', name, 'start.js')], { ...serviceEnv, MITOSIS_HEALTH_ADDR: '127.0.0.1:0' }));
      }
    }
    await Promise.all(
      workers.map(async (w) => {
        const health = await w.waitForLine((l) => l['msg'] === 'health endpoint', startTimeoutMs);
        w.endpoint = String(health['url']);
        await until(`${w.id} readiness at ${w.endpoint}/readyz`, startTimeoutMs, async () => ((await fetch(`${w.endpoint}/readyz`)).status === 200 ? true : undefined), () => w.exit);
        say(`${w.id} ready (pid ${w.pid})`);
      }),
    );

    const processes: readonly ManagedProcess[] = [...started];
    const file: ClusterFile = {
      startedAt: new Date().toISOString(),
      dir,
      supervisorPid: process.pid,
      grpc: grpcAddress,
      nats: natsUrl,
      store,
      prefix,
      s3,
      processes: processes.map((p) => ({ id: p.id, name: p.name, replica: p.replica, pid: p.pid, endpoint: p.endpoint, log: path.relative(dir, p.logFile), command: p.command })),
    };
    await writeClusterFile(dir, file);
    const cluster: Cluster = {
      dir,
      prefix,
      grpcAddress,
      natsUrl,
      store,
      s3,
      processes,
      replicasOf: (name) => processes.filter((p) => p.name === name),
      describe: () => describeProcesses(file, processes.map((p) => ({ id: p.id, pid: p.pid, endpoint: p.endpoint, state: stateOf(p.exit), log: path.relative(dir, p.logFile) }))),
      stop: async () => {
        await stopAll();
        await writeClusterFile(dir, { ...file, stoppedAt: new Date().toISOString() }).catch(() => undefined);
      },
    };
    return cluster;
  } catch (error: unknown) {
    // Whatever came up goes down again; the error says which process failed and how.
    await stopAll();
    const detail = started
      .filter((p) => p.exit !== undefined && p.exit.signal !== 'SIGTERM' && p.exit.code !== 0)
      .map((p) => `\n--- ${p.id} (${p.logFile}):\n${p.tail(15)}`)
      .join('');
    if (error instanceof MitosisError) throw new MitosisError(error.kind, `cluster did not start: ${error.message}${detail}`, { cause: error });
    throw error;
  }
}

interface ProcessRow {
  readonly id: string;
  readonly pid: number;
  readonly endpoint: string;
  readonly state: string;
  /** Relative to the cluster folder. */
  readonly log: string;
}

const stateOf = (exit: ProcessExit | undefined): string => (exit === undefined ? 'running' : exit.signal !== null ? `killed (${exit.signal})` : `exited ${String(exit.code)}`);

function describeProcesses(file: Pick<ClusterFile, 'dir' | 'grpc' | 'nats' | 'store'>, processes: readonly ProcessRow[]): string {
  const rows = processes.map((p) => [p.id, String(p.pid), p.endpoint, p.state, p.log]);
  const header = ['process', 'pid', 'endpoint', 'state', 'log'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [
    line(header),
    ...rows.map(line),
    '',
    `gRPC       ${file.grpc}`,
    `NATS       ${file.nats}`,
    `store      ${file.store}`,
    `logs       ${path.join(file.dir, 'logs')}/<process>.log`,
    `endpoints  ${path.join(file.dir, 'cluster.json')}`,
  ].join('\n');
}

export async function readClusterFile(dir: string): Promise<ClusterFile> {
  const file = path.join(path.resolve(dir), 'cluster.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error: unknown) {
    throw new PreconditionError(`no cluster in ${path.resolve(dir)}: ${file} does not exist (start one with cluster.ts up --dir ${dir})`, { cause: error });
  }
  const value = JSON.parse(text) as ClusterFile;
  if (!Array.isArray(value.processes)) throw new InvalidInputError(`${file}: no "processes" list`);
  return value;
}

async function writeClusterFile(dir: string, file: ClusterFile): Promise<void> {
  await writeFile(path.join(dir, 'cluster.json'), `${JSON.stringify(file, null, 2)}\n`);
}

async function waitGone(pid: number, command: readonly string[] | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid, command)) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/**
 * Stops the cluster recorded in `<dir>/cluster.json` from another process: its supervisor (the
 * `up` command) is asked first, which stops everything in order; whatever still runs after
 * that is stopped here in the same order (SIGTERM, then SIGKILL after the timeout).
 */
export async function stopClusterInDir(dir: string, options: { timeoutMs?: number; log?: (line: string) => void } = {}): Promise<void> {
  const file = await readClusterFile(dir);
  const timeoutMs = options.timeoutMs ?? 20_000;
  const say = options.log ?? ((): void => undefined);
  const supervisorCommand = ['cluster.ts'];
  if (file.supervisorPid !== process.pid && isRunning(file.supervisorPid, supervisorCommand)) {
    say(`asking the supervisor (pid ${file.supervisorPid}) to stop the cluster`);
    process.kill(file.supervisorPid, 'SIGTERM');
    await waitGone(file.supervisorPid, supervisorCommand, timeoutMs * STOP_ORDER.length + 5_000);
  }
  for (const group of STOP_ORDER) {
    const members = file.processes.filter((p) => group.includes(p.name) && isRunning(p.pid, p.command));
    await Promise.all(
      members.map(async (p) => {
        say(`stopping ${p.id} (pid ${p.pid})`);
        process.kill(p.pid, 'SIGTERM');
        if (!(await waitGone(p.pid, p.command, timeoutMs))) {
          say(`${p.id} still runs after ${timeoutMs} ms: SIGKILL`);
          process.kill(p.pid, 'SIGKILL');
          await waitGone(p.pid, p.command, 5_000);
        }
      }),
    );
  }
  if (file.stoppedAt === undefined) await writeClusterFile(dir, { ...file, stoppedAt: new Date().toISOString() });
}

// ---------------------------------------------------------------------------------------------
// Command line

function count(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 16) throw new InvalidArgumentError(`"${value}" is not a replica count in 0..16`);
  return Number(value);
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new InvalidArgumentError(`"${value}" is not a port in 1..65535`);
  return Number(value);
}

function milliseconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 3_600_000) throw new InvalidArgumentError(`"${value}" is not a duration in ms (0..3600000)`);
  return Number(value);
}

function envPair(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${value}" is not KEY=VALUE`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

export function buildProgram(): Command {
  const program = new Command('cluster').description('the gateway and the stage workers as separate processes, with nats-server and an S3 server').showHelpAfterError();
  program
    .command('up')
    .description('start NATS, S3, the gateway and the workers; runs until Ctrl-C or SIGTERM, then stops them all')
    .option('--dir <dir>', 'folder for logs, JetStream and object data, cluster.json', DEFAULT_DIR)
    .option('--grpc <host:port>', "the gateway's address (port 0: a free one)", '127.0.0.1:50051')
    .option('--nats-port <port>', 'NATS client port (default: a free one)', port)
    .option('--ingest <n>', 'ingest replicas', count, 1)
    .option('--m1 <n>', 'm1 replicas', count, 1)
    .option('--m2 <n>', 'm2 replicas', count, 1)
    .option('--m3 <n>', 'm3 replicas', count, 1)
    .option('--backend <name>', 'MITOSIS_BACKEND of the workers: wasm, cpu or tensorflow')
    .option('--prefix <prefix>', 'MITOSIS_PREFIX', 'mitosis')
    .option('--env <KEY=VALUE>', 'another variable for every service (repeatable), e.g. MITOSIS_M1_ITERATIONS=50', envPair, {})
    .option('--no-install', 'do not install nats-server with apt-get when it is missing')
    .action(async (opts: { dir: string; grpc: string; natsPort?: number; ingest: number; m1: number; m2: number; m3: number; backend?: string; prefix: string; env: Record<string, string>; install: boolean }) => {
      if (opts.backend !== undefined && !['wasm', 'cpu', 'tensorflow'].includes(opts.backend)) {
        throw new InvalidInputError(`--backend "${opts.backend}" is not wasm, cpu or tensorflow`);
      }
      const started = Date.now();
      const cluster = await startCluster({
        dir: opts.dir,
        grpcAddr: opts.grpc,
        ...(opts.natsPort !== undefined ? { natsPort: opts.natsPort } : {}),
        replicas: { ingest: opts.ingest, m1: opts.m1, m2: opts.m2, m3: opts.m3 },
        ...(opts.backend !== undefined ? { backend: opts.backend as 'wasm' | 'cpu' | 'tensorflow' } : {}),
        prefix: opts.prefix,
        env: opts.env,
        installNats: opts.install,
        log: (line) => console.log(`cluster: ${line}`),
      });
      console.log(`\ncluster up in ${((Date.now() - started) / 1000).toFixed(1)} s\n\n${cluster.describe()}\n\nCtrl-C (or: cluster.ts down --dir ${opts.dir}) stops it.`);
      // Listeners stay installed: a second Ctrl-C must not kill the supervisor halfway through
      // the ordered stop (its children have their own process group and would be left running).
      await new Promise<void>((resolve) => {
        let first = 0;
        const onSignal = (signal: NodeJS.Signals): void => {
          if (first === 0) {
            first = Date.now();
            resolve();
          } else if (Date.now() - first > 2_000) {
            // (npx and tsx relay the terminal's Ctrl-C too: repeats within 2 s are that echo)
            console.log(`cluster: ${signal} again; still stopping (down --dir ${opts.dir} from another shell forces it)`);
          }
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      console.log('cluster: stopping (workers, then the gateway, then S3 and NATS)');
      await cluster.stop();
    });
  program
    .command('down')
    .description('stop the cluster recorded in <dir>/cluster.json (started by `up` in another terminal)')
    .option('--dir <dir>', 'the cluster folder', DEFAULT_DIR)
    .option('--timeout <ms>', 'SIGKILL a process still running this long after SIGTERM', milliseconds, 20_000)
    .action(async (opts: { dir: string; timeout: number }) => {
      await stopClusterInDir(opts.dir, { timeoutMs: opts.timeout, log: (line) => console.log(`cluster: ${line}`) });
      console.log('cluster: down');
    });
  program
    .command('status')
    .description('the processes of <dir>/cluster.json and whether they run')
    .option('--dir <dir>', 'the cluster folder', DEFAULT_DIR)
    .action(async (opts: { dir: string }) => {
      const file = await readClusterFile(opts.dir);
      const rows = file.processes.map((p) => ({ id: p.id, pid: p.pid, endpoint: p.endpoint, state: isRunning(p.pid, p.command) ? 'running' : 'stopped', log: p.log }));
      console.log(describeProcesses(file, rows));
    });
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`cluster: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(error instanceof MitosisError ? exitCodeFor(error) : 1);
      },
    );
}
