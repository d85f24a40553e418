import * as fs from 'node:fs';
// The module object itself (a namespace import's members are read-only getters): os.cpus is patched.
import os from 'node:os';
import * as path from 'node:path';

/**
 * Lets tfjs-backend-wasm 4.22 start its threaded build (XNNPACK with a pthread pool) under Node.
 * Out of the box it never does, for three reasons, each worked around here for the duration of
 * the backend's initialisation only:
 *
 * 1. The flag WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false in Node (tfjs issue 3830); the
 *    caller sets it to true.
 * 2. Its loader hands Emscripten's pthread workers Blob URLs (the worker script, and the main
 *    script as a Blob), which Node's worker_threads cannot load. While the backend initialises,
 *    `Blob` and `URL.createObjectURL` are wrapped: the two scripts are written to a private temp
 *    folder and the workers get file paths. The main script is the module factory's source text,
 *    which in the Node bundle refers to the bundle's own `require$$N` aliases of node modules;
 *    they are declared in front of it.
 * 3. Its C++ caps the XNNPACK pool at half the logical cores (one thread on a 2-core machine).
 *    `os.cpus()` reports twice the cores while the module's static initialisers run.
 *
 * `threadedBuildProblem` checks, before anything is patched, that the installed bundle holds the
 * texts these workarounds rely on; the caller keeps the single-threaded build when it does not.
 */

/** Text of the worker script that loads the main script from a Blob; replaced by a file load. */
export const workerImport =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';
export const mainScriptStart = 'var WasmBackendModuleThreadedSimd';
export const workerScriptMark = 'ENVIRONMENT_IS_PTHREAD';
/** The node modules tf-backend-wasm.node.js binds to `require$$N` and its factory refers to. */
const bundleAliases = "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os'),commonjsGlobal=globalThis;\n";

export interface WasmThreadsPatch {
  /** Undoes the wrapping (call once the backend has initialised, whether or not it succeeded). */
  restore(): void;
}

/**
 * Why the installed tfjs-backend-wasm cannot be started threaded by `patchForWasmThreads`, or
 * undefined when it can: the bundle must contain the worker's Blob import, the factory's alias of
 * `os` and the core count read through it, as in 4.22.
 */
export function threadedBuildProblem(): string | undefined {
  let bundle: string;
  try {
    bundle = fs.readFileSync(require.resolve('@tensorflow/tfjs-backend-wasm'), 'utf8');
  } catch (error: unknown) {
    return `cannot read @tensorflow/tfjs-backend-wasm (${error instanceof Error ? error.message : String(error)})`;
  }
  const needed: [string, string][] = [
    [JSON.stringify(workerImport).slice(1, -1), 'the pthread worker loading its main script from a Blob'],
    ["var require$$4 = require('os');", "the bundle's alias of the os module"],
    ['return require$$4.cpus().length;', 'the core count read from os.cpus()'],
    [`${mainScriptStart} = `, 'the threaded module factory passed as a Blob'],
  ];
  const missing = needed.filter(([text]) => !bundle.includes(text)).map(([, what]) => what);
  return missing.length === 0 ? undefined : `@tensorflow/tfjs-backend-wasm is not laid out as this project expects (another version?): no ${missing.join(', no ')}`;
}

/**
 * Wraps Blob, URL.createObjectURL and os.cpus as described above, until `restore()`. The temp
 * folder is removed when the process exits (the pool's workers read their scripts at start-up,
 * and Emscripten may start more of them later).
 */
export function patchForWasmThreads(threads: number): WasmThreadsPatch {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'mitosis-wasm-threads-'));
  process.once('exit', () => fs.rmSync(folder, { recursive: true, force: true }));
  const mainFile = path.join(folder, 'tfjs-backend-wasm-threaded-simd.js');
  const workerFile = path.join(folder, 'tfjs-backend-wasm-threaded-simd.worker.js');

  const OriginalBlob = globalThis.Blob;
  const originalCreateObjectURL = URL.createObjectURL;
  const originalCpus = os.cpus;
  const texts = new WeakMap<Blob, string>();
  const written = new Map<string, string>();
  /**
   * Writes a script the pool's workers load, whole or not at all: Emscripten asks for the worker
   * script once per worker, and a worker that is already starting reads the file meanwhile. A
   * rewrite in place (truncate, then write) let such a worker load an empty or partial script; it
   * never reported 'loaded', and the module waited for it forever. The text is written once, to
   * a temp name renamed into place; a different text for the same file is refused.
   */
  const writeScriptOnce = (file: string, text: string): void => {
    const before = written.get(file);
    if (before === text) return;
    if (before !== undefined) throw new Error(`${path.basename(file)} of @tensorflow/tfjs-backend-wasm changed while its pool was starting`);
    const partial = `${file}.${process.pid}.partial`;
    fs.writeFileSync(partial, text);
    fs.renameSync(partial, file);
    written.set(file, text);
  };

  type BlobArgs = ConstructorParameters<typeof Blob>;
  class ScriptCapturingBlob extends OriginalBlob {
    constructor(parts: BlobArgs[0] = [], options?: BlobArgs[1]) {
      super(parts, options);
      const text = parts.map((part) => (typeof part === 'string' ? part : '')).join('');
      texts.set(this, text);
      // The main script is only ever passed around as this Blob: written now, loaded by path.
      if (text.startsWith(mainScriptStart)) writeScriptOnce(mainFile, bundleAliases + text);
    }
  }
  globalThis.Blob = ScriptCapturingBlob as typeof Blob;
  URL.createObjectURL = (blob: Blob): string => {
    const text = texts.get(blob);
    if (text === undefined || !text.includes(workerScriptMark)) return originalCreateObjectURL(blob);
    // Thrown inside the module factory: its promise rejects and the backend fails to initialise.
    if (!text.includes(workerImport)) throw new Error('the pthread worker script of @tensorflow/tfjs-backend-wasm is not the one this project knows');
    if (!fs.existsSync(mainFile)) throw new Error('the threaded module factory was not seen before its worker script');
    // Called once per pool worker (8 times) while the first workers already read the file.
    writeScriptOnce(workerFile, text.replace(workerImport, `importScripts(${JSON.stringify(mainFile)});`));
    return workerFile;
  };
  os.cpus = () => {
    const cpus = originalCpus.call(os);
    const wanted = Math.max(cpus.length, 2 * threads);
    return Array.from({ length: wanted }, (_, i) => cpus[i % cpus.length] as os.CpuInfo);
  };
  return {
    restore() {
      globalThis.Blob = OriginalBlob;
      URL.createObjectURL = originalCreateObjectURL;
      os.cpus = originalCpus;
    },
  };
}

/** Emscripten's pool in tfjs-backend-wasm's threaded build holds 8 workers, started at load. */
export const maxWasmThreads = 8;

/** Threads to use when the caller does not say: every core the process may use, up to the pool. */
export function defaultWasmThreads(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(maxWasmThreads, cores));
}
