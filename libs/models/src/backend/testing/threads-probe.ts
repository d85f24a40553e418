/**
 * Spec fixture (wasm-threads.spec.ts), run as its own process: initialises the wasm backend with
 * argv[2] threads, runs a seeded M3 training step and a prediction, and prints one JSON line,
 * with whether the SIMD module linked to the heap (unshared memory for 1 thread, shared for
 * more) and whether its helper thread ran. The process must then exit by itself (neither the
 * pthread workers nor the helper may hold it open).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../init-backend';
import { createM3 } from '../../nets/m3';
import { randomValues } from '../../kernels/testing/backends';
import { simdHelper, simdKernelsStatus } from '../../kernels/wasm/simd/simd-kernels';

async function main(): Promise<void> {
  const threads = Number(process.argv[2]);
  const info = await initBackend({ preferred: 'wasm', threads, log: () => undefined });
  // With 2 threads the SIMD module's helper thread starts on first asking; wait for it so that
  // the filter gradients below are split between the two threads.
  const backend = tf.backend() as BackendWasm;
  for (let waited = 0; threads > 1 && simdHelper(backend) === undefined && waited < 20_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const helper = simdHelper(backend) !== undefined;
  const model = createM3({ seed: 3 });
  const shape: [number, number, number, number, number] = [1, 4, 40, 36, 1];
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor5d(randomValues(1, size, 0, 1), shape);
  const y = tf.tensor5d(
    randomValues(2, size, 0, 1).map((v) => (v > 0.97 ? 1 : 0)),
    shape,
  );
  const loss = model.trainStep(x, y);
  const predicted = model.predict(x);
  const values = Array.from(predicted.dataSync());
  const simd = simdKernelsStatus(backend);
  process.stdout.write(`${JSON.stringify({ threads: info.threads, simd, helper, loss, values })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
