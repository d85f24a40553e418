/** One child process of the cluster (its exit, its log, its signals) and pid liveness checks. */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PreconditionError } from '@mitosis/core';
import type { LogLine } from './logs';
import { LogTail, POLL_MS } from './logs';

export type WorkerName = 'ingest' | 'm1' | 'm2' | 'm3';
export type ServiceName = 'nats' | 's3' | 'gateway' | WorkerName;
export const WORKER_NAMES: readonly WorkerName[] = ['ingest', 'm1', 'm2', 'm3'];

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Date.now() when the exit was seen. */
  readonly at: number;
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

/** A child process of the supervisor with its followed log file. */
export class ManagedProcess implements ClusterProcess {
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
        throw new PreconditionError(
          `${this.id} exited (code ${String(this.exit.code)}, signal ${String(this.exit.signal)}); last lines of ${this.logFile}:\n${this.tailer.tail()}`,
        );
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
