import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** One parsed log line of a worker; a line that is not JSON becomes `{ msg: <the text> }`. */
export type LogLine = Record<string, unknown>;

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A worker process started by its launcher, with its stdout and stderr read as JSON log lines. */
export interface WorkerRun {
  readonly child: ChildProcess;
  /** Every line so far, in arrival order (stdout and stderr interleaved). */
  readonly lines: LogLine[];
  /** Resolves with the first log line that matches; rejects, listing the lines seen, after timeoutMs (default 30 s) or once the process exited without one. */
  line(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  readonly exit: Promise<WorkerExit>;
}

export interface WorkerLauncher {
  /**
   * Runs `node <script>` in `cwd` with only PATH and `env` set, so the process sees exactly the
   * MITOSIS_* variables a test gives it.
   */
  start(env: Record<string, string>, cwd: string): WorkerRun;
  /** SIGKILLs every process started here that is still running (for afterAll). */
  killAll(): void;
}

/**
 * Starts worker processes from one launcher script (an app's start.js, or a built main.js with
 * `nodeArgs` such as --enable-source-maps) and keeps track of them.
 */
export function workerLauncher(script: string, nodeArgs: readonly string[] = []): WorkerLauncher {
  const children: ChildProcess[] = [];
  return {
    start(env, cwd) {
      const child = spawn(process.execPath, [...nodeArgs, script], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return readWorkerProcess(child);
    },
    killAll() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function readWorkerProcess(child: ChildProcess): WorkerRun {
  const lines: LogLine[] = [];
  const waiters: (() => void)[] = [];
  // Each stream keeps its own partial line: a chunk may end mid-line.
  const reader = (): ((chunk: Buffer) => void) => {
    let buffer = '';
    return (chunk) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const part of parts) {
        try {
          lines.push(JSON.parse(part) as LogLine);
        } catch {
          lines.push({ msg: part });
        }
      }
      for (const wake of waiters.splice(0)) wake();
    };
  };
  // 'close' comes after both streams ended, so no line is still on its way once it fired.
  let closed = false;
  child.once('close', () => {
    closed = true;
    for (const wake of waiters.splice(0)) wake();
  });
  child.stdout?.on('data', reader());
  child.stderr?.on('data', reader());
  const exit = new Promise<WorkerExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const line = async (predicate: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find(predicate);
      if (found) return found;
      if (Date.now() > deadline || closed) throw new Error(`no such log line; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  return { child, lines, line, exit };
}
