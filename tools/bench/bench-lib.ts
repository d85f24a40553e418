/**
 * The model benchmark behind `npm run bench` (tools/bench/bench.ts): one training step and one
 * inference pass of M1, M2 and M3 at given frame sizes on the current tfjs backend, each beside
 * the same network in PyTorch (the peers: peer/m3_torch.py of the shared folder, ../shared or
 * $MITOSIS_SHARED_DATA, and ./peer_m1.py, ./peer_m2.py) run in the same benchmark, right after ours, so that load from elsewhere on the
 * shared machine hits both alike. Achieved GFLOP/s are counted from the layer shapes and set
 * against the best single forward convolution the backend reaches in the same run.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';
import { createM1, createM2, createM3 } from '@mitosis/models';
import { sharedData, sharedPath } from '@mitosis/testing';

export const modelNames = ['m1', 'm2', 'm3'] as const;
export type ModelName = (typeof modelNames)[number];

export interface FrameSize {
  height: number;
  width: number;
}

export interface BenchOptions {
  models: readonly ModelName[];
  sizes: readonly FrameSize[];
  /** Frames per sequence (M2, M3) and frames per M1 batch (the frames one M3 window covers). */
  k: number;
  /** Timed training steps (after one untimed warm-up) and timed inference passes. */
  iterations: number;
  /** Run the PyTorch peers when /usr/bin/python3 imports torch. */
  peer: boolean;
  /**
   * torch.set_num_threads values to run each peer with; the fastest counts. On a shared 2-core
   * machine PyTorch's 2 OpenMP threads slow down several-fold as soon as another process runs,
   * where 1 thread does not: the best of both is the strongest peer the moment allows.
   */
  peerThreads: readonly number[];
  /** Training steps of the leak check, per model; 0 skips it. */
  leakIterations: number;
  /** Frame size of the leak check (small: it checks bookkeeping, not speed). */
  leakSize: FrameSize;
  /** Prints the 12 slowest kernels of one training step and one inference pass per row. */
  profile: boolean;
  log: (line: string) => void;
}

export interface LeakCheck {
  iterations: number;
  size: string;
  tensorsBefore: number;
  tensorsAfter: number;
  bytesBefore: number;
  bytesAfter: number;
}

export interface BenchRow {
  model: ModelName;
  /** 'HEIGHTxWIDTH' */
  size: string;
  k: number;
  backend: string;
  threads: number | null;
  trainStepMs: number;
  inferMs: number;
  peerTrainStepMs: number | null;
  peerInferMs: number | null;
  /** The peer's thread count behind peerTrainStepMs (and behind peerInferMs). */
  peerTrainThreads: number | null;
  peerInferThreads: number | null;
  /** ours / peer: below 1 is faster than PyTorch. */
  trainRatio: number | null;
  inferRatio: number | null;
  /** Convolution work counted from the layer shapes (2 flops per multiply-add). */
  trainGflop: number;
  inferGflop: number;
  trainGflops: number;
  inferGflops: number;
  /** The best forward Conv2D throughput measured in this run at this size. */
  bestConvGflops: number;
  /** Size of the wasm heap after the row (it only grows: the peak so far); null off wasm. */
  wasmHeapBytes: number | null;
  /** Largest resident set size seen so far. */
  peakRssBytes: number;
  leak: LeakCheck | null;
}

/** The fastest peer timings over the thread counts tried, with the count behind each. */
interface PeerBest {
  trainStepMs: number;
  trainThreads: number;
  inferMs: number;
  inferThreads: number;
}

function fastestPeer(before: PeerBest | null, run: PeerResult, threads: number): PeerBest {
  if (before === null) return { trainStepMs: run.trainStepMs, trainThreads: threads, inferMs: run.inferMs, inferThreads: threads };
  const train = run.trainStepMs < before.trainStepMs;
  const infer = run.inferMs < before.inferMs;
  return {
    trainStepMs: train ? run.trainStepMs : before.trainStepMs,
    trainThreads: train ? threads : before.trainThreads,
    inferMs: infer ? run.inferMs : before.inferMs,
    inferThreads: infer ? threads : before.inferThreads,
  };
}

export interface PeerResult {
  trainStepMs: number;
  inferMs: number;
}

/** Where each model's peer lives: M3's is the shared one the issue measured, M1/M2's sit here. */
export function peerScript(model: ModelName): string {
  return model === 'm3' ? sharedPath('peer', 'm3_torch.py') : path.join(__dirname, `peer_${model}.py`);
}

export const peerPython = '/usr/bin/python3';

/** Why the peers cannot run here, or null when they can. */
export function peerUnavailable(): string | null {
  if (!fs.existsSync(peerPython)) return `${peerPython} is missing`;
  const probe = spawnSync(peerPython, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${peerPython} cannot import torch (install it with: apt-get install -y python3-torch)`;
  return null;
}

export function runPeer(model: ModelName, size: FrameSize, k: number, iterations: number, threads: number): PeerResult {
  const script = peerScript(model);
  if (model === 'm3') {
    const shared = sharedData('peer', 'm3_torch.py');
    if (!shared.available) throw new InvalidInputError(`peer script ${shared.reason}`);
  }
  if (!fs.existsSync(script)) throw new InvalidInputError(`peer script ${script} is missing`);
  const run = spawnSync(peerPython, [script, String(size.height), String(size.width), String(k), String(iterations), String(threads)], {
    encoding: 'utf8',
    timeout: 30 * 60 * 1000,
  });
  if (run.status !== 0) throw new Error(`${path.basename(script)} failed (${run.status ?? run.signal}): ${run.stderr.trim().split('\n').pop() ?? ''}`);
  const line = run.stdout.trim().split('\n').pop() ?? '';
  const parsed = JSON.parse(line) as { train_step_ms?: unknown; predict_ms?: unknown };
  if (typeof parsed.train_step_ms !== 'number' || typeof parsed.predict_ms !== 'number') {
    throw new Error(`${path.basename(script)} printed no timing: ${line}`);
  }
  return { trainStepMs: parsed.train_step_ms, inferMs: parsed.predict_ms };
}

/** 'HxW' -> size; rejects anything else with the offending text. */
export function parseSize(text: string): FrameSize {
  const match = /^(\d+)x(\d+)$/.exec(text.trim());
  if (match === null) throw new InvalidInputError(`size '${text}' must be HEIGHTxWIDTH, like 128x128`);
  const size = { height: Number(match[1]), width: Number(match[2]) };
  if (size.height < 1 || size.width < 1) throw new InvalidInputError(`size '${text}' must be at least 1x1`);
  return size;
}

export function sizeLabel(size: FrameSize): string {
  return `${size.height}x${size.width}`;
}

export function parseModels(text: string): ModelName[] {
  return text.split(',').map((name) => {
    const trimmed = name.trim().toLowerCase();
    if (!(modelNames as readonly string[]).includes(trimmed)) throw new InvalidInputError(`model '${name}' is not one of ${modelNames.join(', ')}`);
    return trimmed as ModelName;
  });
}

/** One model set up for the benchmark: its step, its inference and the work each does. */
interface Workload {
  trainStep(): void;
  infer(): void;
  /** Forward convolution kernels [kh, kw, in, out] and how many output pixels each produces per pass. */
  convs: Array<{ shape: number[]; pixels: number; inference: boolean }>;
  dispose(): void;
}

function makeWorkload(model: ModelName, size: FrameSize, k: number): Workload {
  const { height: h, width: w } = size;
  const pixels = k * h * w;
  const kernels = (params: ReadonlyMap<string, tf.Variable>, inference: (name: string) => boolean) =>
    [...params].filter(([name]) => name.endsWith('/kernel')).map(([name, v]) => ({ shape: v.shape, pixels, inference: inference(name) }));
  if (model === 'm1') {
    const m1 = createM1();
    const frames = tf.randomUniform([k, h, w, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    return {
      trainStep: () => void m1.trainStep(frames),
      infer: () => {
        const maps = m1.featureMaps(frames);
        tf.dispose([maps.winner, maps.activation]);
      },
      // Inference is featureMaps: the encoder alone.
      convs: kernels(m1.params, (name) => name.startsWith('encode')),
      dispose: () => {
        m1.dispose();
        frames.dispose();
      },
    };
  }
  if (model === 'm2') {
    const m2 = createM2();
    const context = tf.tidy(() => tf.randomUniform([1, k, h, w, 1], 0, 1, 'float32', 2).round()) as tf.Tensor5D;
    const events = tf.tidy(() => tf.randomUniform([1, k, h, w, 1], 0, 1, 'float32', 3).greater(0.9).toFloat()) as tf.Tensor5D;
    return {
      trainStep: () => void m2.trainStep(context, events),
      infer: () => m2.predict(context).dispose(),
      convs: kernels(m2.params, () => true),
      dispose: () => {
        m2.dispose();
        tf.dispose([context, events]);
      },
    };
  }
  const m3 = createM3();
  const windows = tf.randomUniform([1, k, h, w, 1], 0, 1, 'float32', 4) as tf.Tensor5D;
  const labels = tf.tidy(() => tf.randomUniform([1, k, h, w, 1], 0, 1, 'float32', 5).round()) as tf.Tensor5D;
  return {
    trainStep: () => void m3.trainStep(windows, labels),
    infer: () => m3.predict(windows).dispose(),
    convs: kernels(m3.params, () => true),
    dispose: () => {
      m3.dispose();
      tf.dispose([windows, labels]);
    },
  };
}

/** GFLOP of the forward convolutions; a training step counts them 3 times (forward, dx, dW). */
export function convGflop(convs: ReadonlyArray<{ shape: readonly number[]; pixels: number }>): number {
  return convs.reduce((sum, { shape, pixels }) => sum + 2 * pixels * shape.reduce((a, b) => a * b, 1), 0) / 1e9;
}

function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const wasm = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm;
  return wasm.HEAPU8.buffer.byteLength;
}

let peakRss = 0;
function sampleRss(): number {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  return peakRss;
}

function meanMs(iterations: number, body: () => void): number {
  let total = 0;
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    body();
    total += performance.now() - start;
    sampleRss();
  }
  return total / iterations;
}

/**
 * The best forward Conv2D throughput on this backend at this size: every kernel shape the
 * models use, over k frames, best of 3.
 */
function bestConvGflops(shapes: ReadonlyArray<readonly number[]>, size: FrameSize, k: number): number {
  let best = 0;
  const seen = new Set<string>();
  for (const shape of shapes) {
    const key = shape.join('x');
    if (seen.has(key)) continue;
    seen.add(key);
    const [kh, kw, cin, cout] = shape as [number, number, number, number];
    const x = tf.randomUniform([k, size.height, size.width, cin]) as tf.Tensor4D;
    const filter = tf.randomUniform([kh, kw, cin, cout]) as tf.Tensor4D;
    const gflop = (2 * k * size.height * size.width * kh * kw * cin * cout) / 1e9;
    tf.conv2d(x, filter, 1, 'same').dispose();
    for (let rep = 0; rep < 3; rep++) {
      const start = performance.now();
      tf.conv2d(x, filter, 1, 'same').dispose();
      best = Math.max(best, gflop / ((performance.now() - start) / 1000));
    }
    tf.dispose([x, filter]);
  }
  return best;
}

async function profileKernels(what: string, body: () => void, log: (line: string) => void): Promise<void> {
  const info = await tf.profile(() => {
    body();
    return [];
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  // Ops and custom gradients appear as scopes around their kernels: count kernels only.
  const backendName = tf.getBackend();
  for (const kernel of info.kernels) {
    if (tf.getKernel(kernel.name, backendName) === undefined) continue;
    const ms = Number(await kernel.kernelTimeMs);
    total += ms;
    const entry = byKernel.get(kernel.name) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls += 1;
    byKernel.set(kernel.name, entry);
  }
  const top = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12);
  const calls = [...byKernel.values()].reduce((n, e) => n + e.calls, 0);
  log(`  profile ${what}: ${total.toFixed(0)} ms in ${calls} kernel calls`);
  for (const [name, { ms, calls }] of top) {
    log(`    ${name.padEnd(24)} ${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${String(calls).padStart(5)} calls`);
  }
}

function leakCheck(model: ModelName, size: FrameSize, k: number, iterations: number): LeakCheck {
  const work = makeWorkload(model, size, k);
  try {
    work.trainStep(); // the optimiser makes its slots on the first step
    const before = tf.memory();
    for (let i = 0; i < iterations; i++) {
      work.trainStep();
      sampleRss();
    }
    work.infer();
    const after = tf.memory();
    return {
      iterations,
      size: sizeLabel(size),
      tensorsBefore: before.numTensors,
      tensorsAfter: after.numTensors,
      bytesBefore: before.numBytes,
      bytesAfter: after.numBytes,
    };
  } finally {
    work.dispose();
  }
}

/**
 * Runs the benchmark on the current backend (call initBackend first). Per size: the best
 * convolution throughput, then per model our timing followed by the peer's. Per model, a leak
 * check of `leakIterations` training steps at `leakSize`.
 */
export async function runBench(options: BenchOptions): Promise<BenchRow[]> {
  const { log } = options;
  const backend = tf.getBackend();
  const threads = backend === 'wasm' ? (tf.backend() as unknown as { wasm: { tfjs: { getThreadsCount(): number } } }).wasm.tfjs.getThreadsCount() : null;
  const peerProblem = options.peer ? peerUnavailable() : 'not asked for (--no-peer)';
  if (options.peer && peerProblem !== null) log(`PyTorch peer skipped: ${peerProblem}`);

  const leaks = new Map<ModelName, LeakCheck>();
  if (options.leakIterations > 0) {
    for (const model of options.models) {
      const leak = leakCheck(model, options.leakSize, options.k, options.leakIterations);
      leaks.set(model, leak);
      log(
        `leak check ${model}: ${leak.iterations} training steps at ${leak.size}, tensors ${leak.tensorsBefore} -> ${leak.tensorsAfter}, bytes ${leak.bytesBefore} -> ${leak.bytesAfter}`,
      );
    }
  }

  const rows: BenchRow[] = [];
  for (const size of options.sizes) {
    const workloads = options.models.map((model) => ({ model, convs: makeShapes(model, size, options.k) }));
    const best = bestConvGflops(
      workloads.flatMap((wl) => wl.convs.map((c) => c.shape)),
      size,
      options.k,
    );
    for (const model of options.models) {
      const work = makeWorkload(model, size, options.k);
      let trainStepMs: number;
      let inferMs: number;
      try {
        work.trainStep();
        trainStepMs = meanMs(options.iterations, () => work.trainStep());
        work.infer();
        inferMs = meanMs(options.iterations, () => work.infer());
        if (options.profile) {
          await profileKernels(`${model} ${sizeLabel(size)} train step`, () => work.trainStep(), log);
          await profileKernels(`${model} ${sizeLabel(size)} inference`, () => work.infer(), log);
        }
      } finally {
        work.dispose();
      }
      // Each thread count runs in turn; train and inference each keep their fastest.
      let peer: PeerBest | null = null;
      if (peerProblem === null) {
        for (const peerThreads of options.peerThreads) {
          let run: PeerResult;
          try {
            run = runPeer(model, size, options.k, options.iterations, peerThreads);
          } catch (error: unknown) {
            log(`peer ${model} ${sizeLabel(size)} (${peerThreads} threads) failed: ${error instanceof Error ? error.message : String(error)}`);
            continue;
          }
          peer = fastestPeer(peer, run, peerThreads);
        }
      }
      const trainGflop = 3 * convGflop(work.convs);
      const inferGflop = convGflop(work.convs.filter((c) => c.inference));
      const row: BenchRow = {
        model,
        size: sizeLabel(size),
        k: options.k,
        backend,
        threads,
        trainStepMs: round(trainStepMs),
        inferMs: round(inferMs),
        peerTrainStepMs: peer?.trainStepMs ?? null,
        peerInferMs: peer?.inferMs ?? null,
        peerTrainThreads: peer?.trainThreads ?? null,
        peerInferThreads: peer?.inferThreads ?? null,
        trainRatio: peer === null ? null : round(trainStepMs / peer.trainStepMs, 2),
        inferRatio: peer === null ? null : round(inferMs / peer.inferMs, 2),
        trainGflop: round(trainGflop, 3),
        inferGflop: round(inferGflop, 3),
        trainGflops: round(trainGflop / (trainStepMs / 1000)),
        inferGflops: round(inferGflop / (inferMs / 1000)),
        bestConvGflops: round(best),
        wasmHeapBytes: wasmHeapBytes(),
        peakRssBytes: sampleRss(),
        leak: leaks.get(model) ?? null,
      };
      rows.push(row);
      log(`${model} ${row.size}: train ${row.trainStepMs} ms (peer ${row.peerTrainStepMs ?? '-'}), inference ${row.inferMs} ms (peer ${row.peerInferMs ?? '-'})`);
    }
  }
  return rows;
}

/** Kernel shapes of a model without building its inputs (for the convolution peak). */
function makeShapes(model: ModelName, size: FrameSize, k: number): Workload['convs'] {
  const net = model === 'm1' ? createM1() : model === 'm2' ? createM2() : createM3();
  const convs = [...net.params].filter(([name]) => name.endsWith('/kernel')).map(([, v]) => ({ shape: v.shape, pixels: k * size.height * size.width, inference: true }));
  net.dispose();
  return convs;
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

const mib = (bytes: number | null): string => (bytes === null ? '-' : `${(bytes / 2 ** 20).toFixed(0)} MiB`);
const withThreads = (ms: number | null, threads: number | null): string => (ms === null ? '-' : `${ms.toFixed(0)} (${threads}t)`);
const cell = (value: number | null, digits = 0): string => (value === null ? '-' : value.toFixed(digits));

/** The Markdown table printed by the benchmark and pasted into the README. */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = [
    'model',
    'size',
    'k',
    'train ms',
    'PyTorch train ms',
    'ratio',
    'infer ms',
    'PyTorch infer ms',
    'ratio',
    'train GFLOP/s',
    'infer GFLOP/s',
    'best conv GFLOP/s',
    'wasm heap',
    'peak RSS',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.model.toUpperCase(),
        r.size,
        String(r.k),
        cell(r.trainStepMs),
        withThreads(r.peerTrainStepMs, r.peerTrainThreads),
        cell(r.trainRatio, 2),
        cell(r.inferMs),
        withThreads(r.peerInferMs, r.peerInferThreads),
        cell(r.inferRatio, 2),
        cell(r.trainGflops, 1),
        cell(r.inferGflops, 1),
        cell(r.bestConvGflops, 1),
        mib(r.wasmHeapBytes),
        mib(r.peakRssBytes),
      ].join(' | ')} |`,
    );
  }
  const leaks = [...new Map(rows.filter((r) => r.leak !== null).map((r) => [r.model, r.leak as LeakCheck])).entries()];
  if (leaks.length > 0) lines.push('');
  for (const [model, leak] of leaks) {
    lines.push(
      `${model.toUpperCase()} leak check, ${leak.iterations} training steps at ${leak.size}: tensors ${leak.tensorsBefore} -> ${leak.tensorsAfter}, bytes ${leak.bytesBefore} -> ${leak.bytesAfter} (${leakStable(leak) ? 'stable' : 'GROWING'})`,
    );
  }
  return lines.join('\n');
}

export function leakStable(leak: LeakCheck): boolean {
  return leak.tensorsAfter === leak.tensorsBefore && leak.bytesAfter === leak.bytesBefore;
}
