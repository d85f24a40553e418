import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Context } from '@opentelemetry/api';
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import type { BlobStore, ErrorKind, ProgressEvent, ProgressSink } from '@mitosis/core';
import { MitosisError } from '@mitosis/core';
import type { BackendChoice } from './config';
import type { Logger } from './logger';
import type { StageOutcome, StageTask } from './stage-task';
import { executeStage } from './stage-execution';
import type { StoreLocation } from './store';

/** Runs resolved stage tasks: in a stage thread (workers) or in the calling thread. */
export interface StageRunner {
  /**
   * Resolves with the outcome once the stage's outputs are written. When `signal` aborts, a
   * thread runner stops the stage at once (the thread is terminated) and rejects with the
   * signal's reason; the inline runner can only stop between phases.
   */
  run(task: StageTask, options?: { progress?: ProgressSink; signal?: AbortSignal }): Promise<StageOutcome>;
  /** Ends idle and running threads. */
  close(): Promise<void>;
  /** Stage threads alive now (0 for the inline runner). */
  readonly threads: number;
}

/** Runs stages in the calling thread (tests, tools): simple, but training blocks its event loop. */
export function createInlineRunner(store: BlobStore): StageRunner {
  return {
    run: (task, options = {}) => executeStage(task, { store, ...options }),
    close: async () => undefined,
    threads: 0,
  };
}

export interface ThreadRunnerOptions {
  readonly store: StoreLocation;
  /** The backend each thread initialises; default: the fastest that loads. */
  readonly backend?: BackendChoice;
  /** wasm threads of each stage thread's backend; default: the cores this process may use. */
  readonly wasmThreads?: number;
  readonly log?: Pick<Logger, 'info' | 'warn'>;
}

/** Messages between a runner and its stage threads. */
export type ToThread = { readonly type: 'run'; readonly id: number; readonly task: StageTask };
export type FromThread =
  | { readonly type: 'progress'; readonly id: number; readonly event: ProgressEvent }
  | { readonly type: 'log'; readonly level: 'info' | 'warn'; readonly message: string; readonly fields?: Record<string, unknown> }
  | { readonly type: 'done'; readonly id: number; readonly outcome: StageOutcome }
  | { readonly type: 'failed'; readonly id: number; readonly error: SerializedError };

export interface SerializedError {
  readonly kind: string;
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** The data a stage thread starts with. */
export interface ThreadData {
  readonly store: StoreLocation;
  readonly backend?: BackendChoice;
  readonly wasmThreads?: number;
}

interface Slot {
  readonly worker: Worker;
  busy: boolean;
  /** Settles the run in hand when the thread dies under it. */
  fail?: (error: Error) => void;
  /** Trace context of the run in hand: the thread's log lines and progress belong to its span. */
  context?: Context;
}

const BOOTSTRAP = path.join(__dirname, 'stage-thread.js');

/**
 * Runs each stage in a worker thread, so the worker's main thread stays free for what must go
 * on while a stage trains for minutes or hours: the NATS connection (pings, the in-progress
 * heartbeats that keep the message from being redelivered), progress writes, cancellation
 * (noticed at a progress write, it terminates the thread), health probes. The stage functions of
 * @mitosis/stages are synchronous loops over tfjs, which would otherwise block all of that.
 * Threads are kept and reused (each loads tfjs and its backend once, about a second).
 */
export function createThreadRunner(options: ThreadRunnerOptions): StageRunner {
  const slots = new Set<Slot>();
  let alive = 0;
  let nextId = 1;
  let closed = false;

  const spawn = (): Slot => {
    const data: ThreadData = {
      store: options.store,
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.wasmThreads ? { wasmThreads: options.wasmThreads } : {}),
    };
    // No inherited execArgv: the bootstrap registers tsx itself, whatever started this process.
    const worker = new Worker(BOOTSTRAP, { workerData: data, execArgv: [] });
    const slot: Slot = { worker, busy: false };
    alive++;
    worker.on('message', (message: FromThread) => {
      if (message.type === 'log') {
        context.with(slot.context ?? ROOT_CONTEXT, () => options.log?.[message.level](message.message, { ...message.fields, component: 'stage-thread' }));
      }
    });
    const died = (why: string): void => {
      slots.delete(slot);
      slot.fail?.(new MitosisError('INTERNAL', `stage thread ${why}`));
    };
    worker.on('error', (error) => died(`crashed: ${error.message}`));
    worker.on('exit', (code) => {
      alive--;
      died(`exited with code ${code}`);
    });
    slots.add(slot);
    return slot;
  };

  const run = (task: StageTask, runOptions: { progress?: ProgressSink; signal?: AbortSignal } = {}): Promise<StageOutcome> => {
    if (closed) return Promise.reject(new MitosisError('CANCELLED', 'the stage runner is closed'));
    const { signal } = runOptions;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const slot = [...slots].find((s) => !s.busy) ?? spawn();
    slot.busy = true;
    const id = nextId++;
    const active = context.active();
    slot.context = active;
    return new Promise<StageOutcome>((resolve, reject) => {
      const finish = (): void => {
        slot.worker.off('message', onMessage);
        signal?.removeEventListener('abort', onAbort);
        slot.fail = undefined;
        slot.context = undefined;
        slot.busy = false;
      };
      // Messages arrive outside any async context: progress (and the job writes it causes) runs in the run's.
      const onMessage = context.bind(active, (message: FromThread): void => {
        if (message.type === 'progress' && message.id === id) runOptions.progress?.(message.event);
        else if (message.type === 'done' && message.id === id) {
          finish();
          resolve(message.outcome);
        } else if (message.type === 'failed' && message.id === id) {
          finish();
          reject(deserializeError(message.error));
        }
      });
      const onAbort = (): void => {
        finish();
        // A synchronous training loop cannot be interrupted politely: end the thread.
        slots.delete(slot);
        void slot.worker.terminate();
        reject(signal?.reason as Error);
      };
      slot.fail = (error) => {
        finish();
        reject(error);
      };
      slot.worker.on('message', onMessage);
      signal?.addEventListener('abort', onAbort, { once: true });
      const message: ToThread = { type: 'run', id, task };
      slot.worker.postMessage(message);
    });
  };

  return {
    run,
    get threads() {
      return alive;
    },
    close: async () => {
      closed = true;
      const all = [...slots];
      slots.clear();
      await Promise.all(all.map((slot) => slot.worker.terminate()));
    },
  };
}

const KINDS: readonly string[] = ['INVALID_ARGUMENT', 'NOT_FOUND', 'FAILED_PRECONDITION', 'RESOURCE_EXHAUSTED', 'ALREADY_EXISTS', 'UNAUTHENTICATED', 'CANCELLED', 'INTERNAL'];

export function serializeError(error: unknown): SerializedError {
  const e = error instanceof Error ? error : new Error(String(error));
  const kind = (e as { kind?: unknown }).kind;
  return { kind: typeof kind === 'string' && KINDS.includes(kind) ? kind : 'INTERNAL', name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
}

/** A MitosisError of the same kind (what decides retry or dead letter), message and stack. */
export function deserializeError(error: SerializedError): MitosisError {
  const out = new MitosisError(error.kind as ErrorKind, error.message);
  if (error.stack !== undefined) out.stack = error.stack;
  return out;
}
