/** Starting the whole cluster in order, waiting for each process, and stopping it in order. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, MitosisError, PreconditionError } from '@mitosis/core';
import { workspaceRoot } from '@mitosis/testing';
import { grpcHealth } from './health-client';
import { ensureNatsServer } from './install';
import { POLL_MS } from './logs';
import type { ClusterProcess, ProcessExit, ServiceName, WorkerName } from './process';
import { ManagedProcess, WORKER_NAMES, isRunning } from './process';
import type { ClusterFile, S3Endpoint } from './state';
import { describeProcesses, readClusterFile, stateOf, writeClusterFile } from './state';

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

export interface Cluster {
  readonly dir: string;
  readonly prefix: string;
  /** The gateway's gRPC address, `host:port`. */
  readonly grpcAddress: string;
  readonly natsUrl: string;
  /** MITOSIS_STORE of every service: `s3://key:secret@127.0.0.1:port/bucket?ssl=false`. */
  readonly store: string;
  readonly s3: S3Endpoint;
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

export const DEFAULT_DIR = 'tmp/cluster';
const ROOT = workspaceRoot();
const STOP_ORDER: readonly (readonly ServiceName[])[] = [['m3', 'm2', 'm1', 'ingest'], ['gateway'], ['s3', 'nats']];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function checkReplicas(replicas: Partial<Record<WorkerName, number>>): Record<WorkerName, number> {
  const counts = {} as Record<WorkerName, number>;
  for (const name of WORKER_NAMES) {
    const n = replicas[name] ?? 1;
    if (!Number.isInteger(n) || n < 0 || n > 16) throw new InvalidInputError(`replicas of ${name}: ${n} is not an integer in 0..16`);
    counts[name] = n;
  }
  return counts;
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
    const s3: S3Endpoint = {
      url: String(s3Info['url']),
      port: Number(s3Info['port']),
      accessKey: String(s3Info['accessKey']),
      secretKey: String(s3Info['secretKey']),
      bucket,
      directory: path.join(dir, 's3'),
    };
    s3Process.endpoint = s3.url;
    await until(
      `s3 at ${s3.url}`,
      startTimeoutMs,
      async () => ((await fetch(`${s3.url}/${bucket}`)).status < 500 ? true : undefined),
      () => s3Process.exit,
    );
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
    const grpcAddress = String(listening['address'])
      .replace(/^0\.0\.0\.0:/, '127.0.0.1:')
      .replace(/^\[::\]:/, '127.0.0.1:');
    gateway.endpoint = grpcAddress;
    await until(
      `gateway at ${grpcAddress}`,
      startTimeoutMs,
      async () => ((await grpcHealth(grpcAddress)) === 'SERVING' ? true : undefined),
      () => gateway.exit,
    );

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
        await until(
          `${w.id} readiness at ${w.endpoint}/readyz`,
          startTimeoutMs,
          async () => ((await fetch(`${w.endpoint}/readyz`)).status === 200 ? true : undefined),
          () => w.exit,
        );
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
      describe: () =>
        describeProcesses(
          file,
          processes.map((p) => ({ id: p.id, pid: p.pid, endpoint: p.endpoint, state: stateOf(p.exit), log: path.relative(dir, p.logFile) })),
        ),
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
