/**
 * Speed of M1, M2 and M3 on the offline backend beside the same networks in PyTorch:
 *
 *   npm run bench -- [--sizes 128x128,259x344] [--models m1,m2,m3] [--k 8] [--iterations 3]
 *                    [--json] [--no-peer] [--peer-threads 1,2] [--leak-iterations 100]
 *                    [--leak-size 32x32] [--profile] [--backend wasm|cpu] [--smoke]
 *
 * Prints a Markdown table (ours, PyTorch, ratio, GFLOP/s against the best single convolution
 * of this run, wasm heap, peak RSS) and the leak checks; with --json also one JSON object per
 * row. --smoke is the few-second run CI does (tiny size, one iteration, no peer).
 * MITOSIS_SIMD_KERNELS=off runs the project's kernels without their SIMD module (the JS loops),
 * to measure what it brings; the header line says whether it was on.
 * See bench-lib.ts for what is measured and how.
 */
import { parseArgs } from 'node:util';
import type { BenchOptions } from './bench-lib';
import { runBenchmark } from './entry';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '128x128,259x344' },
      models: { type: 'string', default: 'm1,m2,m3' },
      k: { type: 'string', default: '8' },
      iterations: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      'no-peer': { type: 'boolean', default: false },
      'peer-threads': { type: 'string', default: '1,2' },
      'leak-iterations': { type: 'string', default: '100' },
      'leak-size': { type: 'string', default: '32x32' },
      profile: { type: 'boolean', default: false },
      backend: { type: 'string', default: 'wasm' },
      smoke: { type: 'boolean', default: false },
    },
  });
  // Imported here, not at the top: they resolve @mitosis/* only once TSX_TSCONFIG_PATH is set.
  const { InvalidInputError } = await import('@mitosis/core');
  const { currentSimdKernelsStatus, initBackend, isBackendName } = await import('@mitosis/models');
  const { formatTable, leakStable, parseModels, parseSize, runBench } = await import('./bench-lib');
  const positiveInt = (name: string, text: string, min = 1): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new InvalidInputError(`--${name} must be an integer >= ${min}, got '${text}'`);
    return n;
  };
  if (!isBackendName(values.backend)) throw new InvalidInputError(`--backend must be wasm, cpu or tensorflow, got '${values.backend}'`);
  const smoke = values.smoke;
  const options: BenchOptions = {
    models: parseModels(values.models),
    sizes: smoke ? [parseSize('16x16')] : values.sizes.split(',').map(parseSize),
    k: smoke ? 2 : positiveInt('k', values.k),
    iterations: smoke ? 1 : positiveInt('iterations', values.iterations),
    peer: !smoke && !values['no-peer'],
    peerThreads: values['peer-threads'].split(',').map((t) => positiveInt('peer-threads', t)),
    leakIterations: smoke ? 2 : positiveInt('leak-iterations', values['leak-iterations'], 0),
    leakSize: smoke ? parseSize('8x8') : parseSize(values['leak-size']),
    profile: values.profile,
    log: (line) => console.log(line),
  };
  const info = await initBackend({ preferred: values.backend, log: (line) => console.log(line) });
  const cpuModel = (await import('node:os')).cpus()[0]?.model ?? 'unknown cpu';
  console.log(`node ${process.version}, ${(await import('node:os')).cpus().length} cores (${cpuModel}), backend ${info.name}, own SIMD module ${currentSimdKernelsStatus()}`);
  const rows = await runBench(options);
  console.log('');
  console.log(formatTable(rows));
  if (values.json) {
    for (const row of rows) console.log(JSON.stringify(row));
  }
  if (rows.some((r) => r.leak !== null && !leakStable(r.leak))) {
    console.error('bench: tensor count or bytes grew across training steps (see the leak check above)');
    process.exitCode = 1;
  }
}

runBenchmark(__filename, 'bench', main);
