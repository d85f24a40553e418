import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { InvalidInputError, PreconditionError } from '@mitosis/core';
import { registerWasmKernels } from '../kernels';
import { defaultWasmThreads, maxWasmThreads, patchForWasmThreads, threadedBuildProblem } from './wasm-threads';

/** The tfjs backends this project runs on, fastest first. */
export const backendNames = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

export interface BackendInfo {
  name: BackendName;
  /** wasm only: whether the SIMD build was loaded. */
  simd?: boolean;
  /** wasm only: threads of XNNPACK's pool (convolutions and products run on all of them). */
  threads?: number;
  /** Why this backend: what loaded, and why the faster ones did not. */
  reason: string;
}

export interface InitBackendOptions {
  /** Force one backend; initBackend fails when it cannot load. Default: the fastest that loads. */
  preferred?: BackendName;
  /** Receives the one line describing the choice; default: stderr. */
  log?: (line: string) => void;
  /**
   * wasm only: threads for XNNPACK (1 = the single-threaded build). Default: the cores this
   * process may use, up to 8. Fixed by the first initialisation of the process.
   */
  threads?: number;
}

export function isBackendName(value: string): value is BackendName {
  return (backendNames as readonly string[]).includes(value);
}

/**
 * The native bindings, tried in order. Optional dependencies: absent here (their install downloads
 * libtensorflow), present in the production GPU images. Never imported statically.
 */
const nativeBindings = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

const attempts = new Map<BackendName | 'auto', Promise<BackendInfo>>();
let active: BackendInfo | undefined;

/**
 * Makes the fastest available backend current for @tensorflow/tfjs: tfjs-node-gpu, tfjs-node,
 * wasm (SIMD build when the runtime has SIMD; the project's extra kernels registered first), then
 * the pure-JS cpu backend. Logs the choice once and returns it. Calling it again returns the same
 * choice (and makes it current again if something switched backends in between); `preferred`
 * asks for one backend and fails with a PreconditionError when it cannot load.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const { preferred } = options;
  if (preferred !== undefined && !isBackendName(preferred)) {
    throw new InvalidInputError(`unknown backend '${String(preferred)}' (expected one of ${backendNames.join(', ')})`);
  }
  if (active !== undefined && (preferred === undefined || preferred === active.name)) {
    return makeCurrent(active);
  }
  const key = preferred ?? 'auto';
  let attempt = attempts.get(key);
  if (attempt === undefined) {
    attempt = choose(preferred, options.threads, options.log ?? ((line) => process.stderr.write(`${line}\n`)));
    attempts.set(key, attempt);
    // A failed attempt is not cached: it may succeed later (another preferred, a reinstall).
    attempt.catch(() => attempts.delete(key));
  }
  active = await attempt;
  return makeCurrent(active);
}

/** The backend chosen by the last successful initBackend, if any. */
export function currentBackend(): BackendInfo | undefined {
  return active;
}

async function makeCurrent(info: BackendInfo): Promise<BackendInfo> {
  if (tf.getBackend() !== info.name && !(await tf.setBackend(info.name))) {
    throw new PreconditionError(`backend '${info.name}' was chosen earlier but can no longer be set`);
  }
  return info;
}

async function choose(preferred: BackendName | undefined, threads: number | undefined, log: (line: string) => void): Promise<BackendInfo> {
  const skipped: string[] = [];
  const report = (info: BackendInfo): BackendInfo => {
    const build = info.name === 'wasm' ? ` (${info.simd ? 'simd' : 'no simd'}, ${info.threads} thread${info.threads === 1 ? '' : 's'})` : '';
    log(`backend: ${info.name}${build}: ${info.reason}`);
    return info;
  };
  const unavailable = (name: BackendName): PreconditionError => new PreconditionError(`backend '${name}' is not available: ${skipped.join('; ')}`);

  if (preferred === undefined || preferred === 'tensorflow') {
    const loaded = loadNativeBinding(skipped);
    if (loaded !== undefined) {
      if (await tf.setBackend('tensorflow')) {
        return report({ name: 'tensorflow', reason: `${loaded} loaded` });
      }
      skipped.push(`${loaded} loaded but its 'tensorflow' backend did not initialise`);
    }
    if (preferred === 'tensorflow') {
      throw unavailable('tensorflow');
    }
  }
  if (preferred === undefined || preferred === 'wasm') {
    const info = await loadWasm(skipped, threads ?? defaultWasmThreads());
    if (info !== undefined) {
      return report({ ...info, reason: preferred === 'wasm' ? 'requested' : skipped.join('; ') });
    }
    if (preferred === 'wasm') {
      throw unavailable('wasm');
    }
  }
  if (!(await tf.setBackend('cpu'))) {
    skipped.push('the cpu backend did not initialise');
    throw unavailable('cpu');
  }
  return report({ name: 'cpu', reason: preferred === 'cpu' ? 'requested' : skipped.join('; ') });
}

/** Requires the first native binding that loads; notes why each one before it did not. */
function loadNativeBinding(skipped: string[]): string | undefined {
  for (const name of nativeBindings) {
    try {
      // A runtime require (never a static import): the package is optional and absent here.
      require(name);
    } catch (error: unknown) {
      skipped.push(isMissingModule(error, name) ? `${name} not installed` : `${name} failed to load (${firstLine(error)})`);
      continue;
    }
    // The binding registers 'tensorflow' with the tfjs-core it depends on: a second copy of
    // tfjs-core (version mismatch) would leave our engine without it.
    if (tf.findBackendFactory('tensorflow') === null) {
      skipped.push(`${name} loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs (version mismatch?)`);
      continue;
    }
    return name;
  }
  return undefined;
}

async function loadWasm(skipped: string[], threads: number): Promise<Omit<BackendInfo, 'reason'> | undefined> {
  if (!Number.isInteger(threads) || threads < 1 || threads > maxWasmThreads) {
    throw new InvalidInputError(`wasm threads must be a whole number from 1 to ${maxWasmThreads}, got ${threads}`);
  }
  registerWasmKernels();
  let folder: string;
  try {
    folder = wasmBinariesFolder();
    setWasmPaths(folder + path.sep);
  } catch (error: unknown) {
    skipped.push(`wasm binaries not usable (${firstLine(error)})`);
    return undefined;
  }
  const problem = threads > 1 ? threadedBuildProblem() : undefined;
  if (threads > 1 && problem === undefined) {
    // The threaded SIMD build, started under Node as wasm-threads.ts explains.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    setThreadsCount(threads);
    const patch = patchForWasmThreads(threads);
    let started = false;
    try {
      started = await withinDeadline(
        tf.setBackend('wasm'),
        threadedStartLimitMs,
        `the threaded wasm build did not start within ${threadedStartLimitMs / 1000} s (a worker of its pthread pool never reported it had loaded); run with one thread (--threads 1, MITOSIS_WASM_THREADS=1)`,
      );
    } finally {
      patch.restore();
    }
    if (!started) skipped.push(`the threaded wasm build did not start with ${threads} threads`);
    else {
      unrefPoolWorkers(tf.backend() as BackendWasm);
      return describeWasm();
    }
  } else if (problem !== undefined) {
    skipped.push(`one wasm thread: ${problem}`);
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) {
    skipped.push(`the wasm backend did not initialise from ${folder}`);
    return undefined;
  }
  return describeWasm();
}

/**
 * Emscripten waits for every worker of its pool to load before the module starts, and for ever
 * when one never does; a process should fail naming that instead, long after a pool's usual start
 * (docs/benchmarks.md).
 */
const threadedStartLimitMs = 120_000;

async function withinDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PreconditionError(message)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Emscripten keeps its pthread workers referenced, so a process that has finished its work would
 * never exit on its own; they only serve the main thread's calls, so they need not hold it open.
 */
function unrefPoolWorkers(backend: BackendWasm): void {
  const pool = (backend.wasm as unknown as { PThread?: { unusedWorkers: { unref(): void }[]; runningWorkers: { unref(): void }[] } }).PThread;
  for (const worker of [...(pool?.unusedWorkers ?? []), ...(pool?.runningWorkers ?? [])]) worker.unref();
}

async function describeWasm(): Promise<Omit<BackendInfo, 'reason'>> {
  return {
    name: 'wasm',
    simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true,
    // Asked of the backend instance itself, not of this copy of the wasm package's module state.
    threads: (tf.backend() as BackendWasm).wasm.tfjs.getThreadsCount(),
  };
}

/**
 * The folder holding tfjs-backend-wasm's .wasm files, found through module resolution so it is
 * the same under plain node, tsx and jest, wherever node_modules sits.
 */
function wasmBinariesFolder(): string {
  const folder = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const simd = path.join(folder, 'tfjs-backend-wasm-simd.wasm');
  if (!fs.existsSync(simd)) {
    throw new PreconditionError(`${simd} is missing (reinstall @tensorflow/tfjs-backend-wasm)`);
  }
  return folder;
}

// Structural checks, not instanceof: under jest, module errors come from another realm.
function isMissingModule(error: unknown, name: string): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === 'MODULE_NOT_FOUND' && messageOf(error).includes(`'${name}'`);
}

function messageOf(error: unknown): string {
  const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : String(error);
}

function firstLine(error: unknown): string {
  return messageOf(error).split('\n')[0] ?? '';
}
