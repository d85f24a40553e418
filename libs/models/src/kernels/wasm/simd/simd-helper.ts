import { Worker } from 'node:worker_threads';
import type {} from './webassembly';

/**
 * A second thread for the SIMD module: a worker that instantiates the module on the same shared
 * memory as the threaded backend and runs filter_grad on part of a layer's input channels while
 * the calling thread runs the rest (disjoint parts of dW, so no reduction after). XNNPACK's pool
 * uses both cores for the convolutions; the module's own kernels ran on one until this.
 *
 * The hand-over is synchronous, through a small shared control block: the caller writes the
 * arguments, flips the state to `job` and wakes the worker; after its own share it waits on the
 * state (Atomics.wait, allowed on Node's main thread) until the worker flips it back. Nothing is
 * queued and the caller never waits for the worker to start: until the worker reports `idle`
 * the caller does all the work itself. A worker that fails or does not finish within `joinLimitMs`
 * is given up: that call throws, naming it, and later calls run on one thread. (A worker that
 * hung may still write into the memory it was given: the caller then leaves that buffer
 * allocated rather than hand it back to the heap.)
 */
const State = { Starting: 0, Idle: 1, Job: 2, Failed: 3 } as const;

/** Most arguments a job takes (filter_grad's 16). */
const maxArgs = 16;
/** Control block: [state, argument count, arguments...]. */
const argsAt = 2;

/** How long a join waits for the worker's share: far longer than a full-size layer's share takes (docs/benchmarks.md). */
export const joinLimitMs = 60_000;

// Plain CommonJS run by the worker (eval: the project runs from TypeScript sources).
const workerSource = `
const { workerData } = require('node:worker_threads');
const { bytes, memory, control } = workerData;
const state = new Int32Array(control);
let exports;
try {
  exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  Atomics.store(state, 0, ${State.Idle});
} catch (error) {
  Atomics.store(state, 0, ${State.Failed});
}
Atomics.notify(state, 0);
while (Atomics.load(state, 0) !== ${State.Failed}) {
  Atomics.wait(state, 0, ${State.Idle});
  if (Atomics.load(state, 0) !== ${State.Job}) continue;
  const args = Array.from(state.subarray(${argsAt}, ${argsAt} + state[1]));
  let next = ${State.Idle};
  try {
    exports.filter_grad(...args);
  } catch (error) {
    next = ${State.Failed};
  }
  Atomics.store(state, 0, next);
  Atomics.notify(state, 0);
}
`;

export class SimdHelper {
  private readonly state = new Int32Array(new SharedArrayBuffer(4 * (argsAt + maxArgs)));
  private readonly worker: Worker;
  private problem: string | undefined;

  constructor(memory: WebAssembly.Memory, bytes: Uint8Array) {
    this.worker = new Worker(workerSource, { eval: true, workerData: { bytes, memory, control: this.state.buffer } });
    // The worker waits for work for ever; it must not keep the process alive.
    this.worker.unref();
    this.worker.on('error', (error: Error) => (this.problem ??= `the SIMD helper thread failed: ${error.message}`));
    this.worker.on('exit', (code: number) => (this.problem ??= `the SIMD helper thread exited (code ${code})`));
  }

  /** Whether the worker has the module and waits for work (false while it starts, and once given up). */
  get ready(): boolean {
    return this.problem === undefined && Atomics.load(this.state, 0) === State.Idle;
  }

  /** Why the helper is out of use, if it is. */
  get failure(): string | undefined {
    if (this.problem === undefined && Atomics.load(this.state, 0) === State.Failed) this.problem = 'the SIMD helper thread could not run the module';
    return this.problem;
  }

  /** Starts filter_grad(...args) on the worker; call `join` before reading what it writes. */
  start(args: readonly number[]): void {
    if (!this.ready) throw new Error('SimdHelper.start: the helper is not idle');
    if (args.length > maxArgs) throw new Error(`SimdHelper.start: at most ${maxArgs} arguments, got ${args.length}`);
    this.state.set(args, argsAt);
    this.state[1] = args.length;
    Atomics.store(this.state, 0, State.Job);
    Atomics.notify(this.state, 0);
  }

  /** Waits for the job `start` gave; throws, and gives the helper up, if it failed or hung. */
  join(): void {
    Atomics.wait(this.state, 0, State.Job, joinLimitMs);
    const now = Atomics.load(this.state, 0);
    if (now === State.Idle) return;
    this.problem = now === State.Job ? `the SIMD helper thread did not finish its share within ${joinLimitMs / 1000} s` : 'the SIMD helper thread failed on its share';
    void this.worker.terminate();
    throw new Error(this.problem);
  }

  /** Stops the worker (specs; the process otherwise ends it at exit). */
  async close(): Promise<void> {
    this.problem ??= 'closed';
    await this.worker.terminate();
  }
}
