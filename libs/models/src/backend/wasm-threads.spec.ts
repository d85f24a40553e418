import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultWasmThreads, mainScriptStart, maxWasmThreads, patchForWasmThreads, threadedBuildProblem, workerImport, workerScriptMark } from './wasm-threads';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../../../..');
const probe = path.join(__dirname, 'testing', 'threads-probe.ts');

interface ProbeResult {
  threads: number;
  simd: string;
  helper: boolean;
  loss: number;
  values: number[];
}

/** One fresh process per thread count: a process initialises its backend once. */
async function runProbe(threads: number): Promise<ProbeResult> {
  const { stdout } = await run(process.execPath, ['--require', 'tsx/cjs', probe, String(threads)], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json') },
    // The probe must end on its own once its work is done: a kill here means a pool held it open.
    timeout: 90_000,
    killSignal: 'SIGKILL',
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ProbeResult;
}

describe('the threaded wasm build under Node', () => {
  it('finds the installed tfjs-backend-wasm laid out as the workarounds expect', () => {
    expect(threadedBuildProblem()).toBeUndefined();
  });

  it('writes the scripts the pool loads once and whole, while workers may already be reading them', () => {
    const patch = patchForWasmThreads(2);
    try {
      new Blob([`${mainScriptStart} = (function () { return 1; })();`]);
      const worker = new Blob([`var ${workerScriptMark} = 1; ${workerImport}`]);
      const file = URL.createObjectURL(worker);
      const folder = path.dirname(file);
      const mainFile = path.join(folder, 'tfjs-backend-wasm-threaded-simd.js');
      expect(fs.readFileSync(file, 'utf8')).toBe(`var ${workerScriptMark} = 1; importScripts(${JSON.stringify(mainFile)});`);
      expect(fs.readFileSync(mainFile, 'utf8')).toContain(`${mainScriptStart} = (function`);
      // Emscripten asks once per pool worker; the first workers read the file meanwhile, so it
      // is never rewritten (a rewrite in place once handed a worker an empty script).
      const before = fs.statSync(file);
      fs.writeFileSync(file, 'what a starting worker reads');
      for (let i = 1; i < maxWasmThreads; i++) expect(URL.createObjectURL(worker)).toBe(file);
      expect(fs.readFileSync(file, 'utf8')).toBe('what a starting worker reads');
      expect(fs.statSync(file).ino).toBe(before.ino);
      expect(fs.readdirSync(folder).sort()).toEqual(['tfjs-backend-wasm-threaded-simd.js', 'tfjs-backend-wasm-threaded-simd.worker.js']);
      // Another worker text for the same file would leave the pool with two scripts: refused.
      expect(() => URL.createObjectURL(new Blob([`var ${workerScriptMark} = 2; ${workerImport}`]))).toThrow(/changed while its pool was starting/);
    } finally {
      patch.restore();
    }
  });

  it('defaults to the cores available, within the pool of 8', () => {
    expect(defaultWasmThreads()).toBeGreaterThanOrEqual(1);
    expect(defaultWasmThreads()).toBeLessThanOrEqual(maxWasmThreads);
  });

  it('starts 2 threads, trains and predicts as one thread does, and lets the process exit', async () => {
    const [one, two] = await Promise.all([runProbe(1), runProbe(2)]);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    // The project's SIMD module links to either build's heap (shared memory when threaded).
    expect([one.simd, two.simd]).toEqual(['on', 'on']);
    // With 2 threads its filter gradients were split with its helper thread: the same sums.
    expect([one.helper, two.helper]).toEqual([false, true]);
    // XNNPACK splits the work differently across threads: sums in another order, not other sums.
    expect(Math.abs(two.loss - one.loss)).toBeLessThan(1e-5);
    expect(two.values).toHaveLength(one.values.length);
    const worst = one.values.reduce((w, v, i) => Math.max(w, Math.abs(v - (two.values[i] ?? Number.NaN))), 0);
    expect(worst).toBeLessThan(1e-5);
  }, 120_000);
});
