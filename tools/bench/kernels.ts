/**
 * Times the project's wasm kernels (libs/models/src/kernels) against the alternatives on the
 * shapes the networks train on, and the forward Conv2D peak for reference:
 *
 *   npx tsx tools/bench/kernels.ts [--quick] [--reps N]
 *
 * Per shape: milliseconds (best of N, the machine is shared) and GFLOP/s (2 flops per
 * multiply-add) for
 *   - Conv2DBackpropFilter: ours (im2col bands + XNNPACK matmul), the other candidate (forward
 *     XNNPACK Conv2D over transposed tensors), and tfjs's generic kernel (cpu backend; wasm has
 *     none) where it finishes in reasonable time;
 *   - Conv2DBackpropInput: ours (forward Conv2D with the rotated filter) vs the wasm built-in;
 *   - Conv2D forward on wasm, whose best GFLOP/s is the machine's practical ceiling;
 * then one training step of a bidirectional ConvLSTM (M3-like: RMSProp, fused convolutions,
 * concat/split/sigmoid/tanh) with the wasm backend's own kernels (plus our Conv2DBackpropFilter,
 * without which it cannot train) against all of the project's kernels.
 */
import type * as Tf from '@tensorflow/tfjs';
import { runBenchmark } from './entry';

type Shape = { batch: number; height: number; width: number; inChannels: number; outChannels: number; kernel: number; what: string };

// Layers of M1 (5x5 encoder/decoder on 1 and 16 channels), M2/M3 ConvLSTM gates (input + 16 hidden
// -> 4x16) and read-out convolutions, on 128x128 training crops and whole 259x344 frames.
const shapes: Shape[] = [
  { batch: 1, height: 128, width: 128, inChannels: 1, outChannels: 16, kernel: 5, what: 'M1 enc1' },
  { batch: 1, height: 128, width: 128, inChannels: 16, outChannels: 16, kernel: 5, what: 'M1 enc2' },
  { batch: 4, height: 128, width: 128, inChannels: 16, outChannels: 16, kernel: 3, what: 'M2 conv' },
  { batch: 8, height: 128, width: 128, inChannels: 17, outChannels: 64, kernel: 3, what: 'ConvLSTM gates' },
  { batch: 8, height: 128, width: 128, inChannels: 32, outChannels: 64, kernel: 3, what: 'wide 3x3' },
  { batch: 1, height: 259, width: 344, inChannels: 1, outChannels: 16, kernel: 5, what: 'M1 enc1 frame' },
  { batch: 1, height: 259, width: 344, inChannels: 16, outChannels: 16, kernel: 5, what: 'M1 enc2 frame' },
  { batch: 2, height: 259, width: 344, inChannels: 17, outChannels: 64, kernel: 3, what: 'ConvLSTM gates frame' },
  { batch: 2, height: 259, width: 344, inChannels: 32, outChannels: 16, kernel: 3, what: 'M3 read-out' },
  { batch: 4, height: 259, width: 344, inChannels: 16, outChannels: 1, kernel: 1, what: '1x1 to one map' },
];

/** The cpu reference is a scalar JS loop: only run it where it takes seconds, not minutes. */
const cpuFlopLimit = 0.1e9;

function flops(s: Shape): number {
  return 2 * s.batch * s.height * s.width * s.inChannels * s.outChannels * s.kernel * s.kernel;
}

function label(s: Shape): string {
  return `B${s.batch} ${s.height}x${s.width} ${s.inChannels}->${s.outChannels} ${s.kernel}x${s.kernel} (${s.what})`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const repsAt = args.indexOf('--reps');
  const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : quick ? 2 : 4;
  // Imported here, not at the top: they resolve @mitosis/* only once TSX_TSCONFIG_PATH is set.
  const tf: typeof Tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('@mitosis/models');

  // The built-in wasm kernels, kept before initBackend registers ours over them.
  await import('@tensorflow/tfjs-backend-wasm');
  const { registerWasmKernels, wasmKernelConfigs } = await import('@mitosis/models');
  const builtins = new Map(wasmKernelConfigs.map((c) => [c.kernelName, tf.getKernel(c.kernelName, 'wasm')] as const));
  const builtinBackpropInput = builtins.get(tf.Conv2DBackpropInput);
  const info = await initBackend({ preferred: 'wasm', log: (line) => console.log(line) });
  const ours = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  console.log(`node ${process.version}, ${info.threads} thread(s), best of ${reps} runs; ms and GFLOP/s per call\n`);

  // Variants of one shape run round-robin, so a burst of load from elsewhere hits them alike;
  // each keeps its best time.
  const timeAll = (variants: Array<() => Tf.Tensor | Tf.Tensor[]>): number[] => {
    const best = variants.map(() => Infinity);
    variants.forEach((body) => tf.dispose(body()));
    for (let i = 0; i < reps; i++) {
      variants.forEach((body, v) => {
        const start = performance.now();
        const out = body();
        best[v] = Math.min(best[v], performance.now() - start);
        tf.dispose(out);
      });
    }
    return best;
  };
  const cell = (ms: number, s: Shape): string => `${ms.toFixed(1).padStart(8)} ms ${(flops(s) / ms / 1e6).toFixed(1).padStart(5)} GF/s`;
  const swapKernel = (config: Tf.KernelConfig | undefined): void => {
    if (config === undefined) return;
    tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  };

  let bestForward = { gflops: 0, shape: '' };
  const list = quick ? shapes.filter((s) => flops(s) < 2e9) : shapes;
  for (const s of list) {
    await tf.setBackend('wasm');
    const xShape: [number, number, number, number] = [s.batch, s.height, s.width, s.inChannels];
    const dyShape: [number, number, number, number] = [s.batch, s.height, s.width, s.outChannels];
    const filterShape: [number, number, number, number] = [s.kernel, s.kernel, s.inChannels, s.outChannels];
    const x = tf.randomUniform(xShape, -1, 1) as Tf.Tensor4D;
    const dy = tf.randomUniform(dyShape, -1, 1) as Tf.Tensor4D;
    const w = tf.randomUniform(filterShape, -1, 1) as Tf.Tensor4D;
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC' };
    const before = tf.tidy(() => (tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape }) as Tf.Tensor).dataSync());

    const top = Math.floor((s.kernel - 1) / 2);
    const pads: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [top, s.kernel - 1 - top],
      [top, s.kernel - 1 - top],
      [0, 0],
    ];
    const backpropInput = (): Tf.Tensor => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, { ...attrs, inputShape: xShape }) as Tf.Tensor;
    const [filterOurs, filterViaConv, inputOurs, forward] = timeAll([
      () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape }) as Tf.Tensor,
      // The other candidate: the images' channels as the batch, dy as a (height x width) filter.
      () =>
        tf.tidy(() => {
          const xT = tf.transpose(x, [3, 1, 2, 0]) as Tf.Tensor4D;
          const dyT = tf.transpose(dy, [1, 2, 0, 3]) as Tf.Tensor4D;
          return tf.transpose(tf.conv2d(xT, dyT, 1, pads), [1, 2, 0, 3]);
        }),
      backpropInput,
      () => tf.conv2d(x, w, 1, 'same'),
    ]);
    swapKernel(builtinBackpropInput);
    const [inputBuiltin] = timeAll([backpropInput]);
    swapKernel(ours);
    const gflops = flops(s) / forward / 1e6;
    if (gflops > bestForward.gflops) bestForward = { gflops, shape: label(s) };

    let filterCpu = 'skipped (too slow)';
    let check = '';
    if (flops(s) <= cpuFlopLimit) {
      const [xv, dyv] = [x.dataSync(), dy.dataSync()];
      await tf.setBackend('cpu');
      // tfjs-backend-cpu's first write in Node prints an advert for tfjs-node; not in a table.
      (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
      const [xc, dyc] = [tf.tensor4d(xv, xShape), tf.tensor4d(dyv, dyShape)];
      const start = performance.now();
      const ref = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: xc, dy: dyc }, { ...attrs, filterShape }) as Tf.Tensor;
      filterCpu = cell(performance.now() - start, s);
      const refValues = ref.dataSync();
      let worst = 0;
      let largest = 0;
      refValues.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - before[i]));
        largest = Math.max(largest, Math.abs(v));
      });
      check = `   (max |diff| / max |dW| vs cpu: ${(worst / largest).toExponential(1)})`;
      tf.dispose([xc, dyc, ref]);
      await tf.setBackend('wasm');
    }
    console.log(label(s) + `, ${(flops(s) / 1e9).toFixed(2)} GFLOP`);
    console.log(`  Conv2DBackpropFilter  ours ${cell(filterOurs, s)} | fwd-conv candidate ${cell(filterViaConv, s)} | cpu generic ${filterCpu}${check}`);
    console.log(`  Conv2DBackpropInput   ours ${cell(inputOurs, s)} | wasm built-in     ${cell(inputBuiltin, s)}`);
    console.log(`  Conv2D forward             ${cell(forward, s)}`);
    tf.dispose([x, dy, w]);
  }
  console.log(`\nbest forward Conv2D on wasm: ${bestForward.gflops.toFixed(1)} GFLOP/s (${bestForward.shape})`);

  await tf.setBackend('wasm');
  const useBuiltins = (): void => {
    for (const [name, config] of builtins) {
      if (config !== undefined) swapKernel(config);
      else if (name !== tf.Conv2DBackpropFilter) tf.unregisterKernel(name, 'wasm');
    }
    swapKernel(wasmKernelConfigs.find((c) => c.kernelName === tf.Conv2DBackpropFilter));
  };
  const step = convLstmStep(tf, quick ? { batch: 1, frames: 4, size: 64 } : { batch: 2, frames: 6, size: 96 });
  useBuiltins();
  const before = step.time(reps);
  registerWasmKernels();
  const after = step.time(reps);
  step.dispose();
  console.log(`\n${step.label}: built-in kernels ${before.toFixed(0)} ms, project kernels ${after.toFixed(0)} ms (${(before / after).toFixed(2)}x)`);
}

/** One RMSProp step of a bidirectional ConvLSTM (16 hidden, 3x3) with a 3x3 + 1x1 read-out. */
function convLstmStep(tf: typeof Tf, { batch, frames, size }: { batch: number; frames: number; size: number }) {
  const hidden = 16;
  const weight = (shape: number[]): Tf.Variable => tf.variable(tf.randomUniform(shape, -0.1, 0.1));
  const cells = [0, 1].map(() => ({ kernel: weight([3, 3, 1 + hidden, 4 * hidden]), bias: weight([4 * hidden]) }));
  const readout = { kernel: weight([3, 3, 2 * hidden, hidden]), bias: weight([hidden]) };
  const logit = { kernel: weight([1, 1, hidden, 1]), bias: weight([1]) };
  const video = tf.randomUniform([batch, frames, size, size, 1]);
  const labels = tf.randomUniform([batch, frames, size, size, 1]).round();
  const optimizer = tf.train.rmsprop(1e-3, 0.9);
  const run = (cell: (typeof cells)[number], inputs: Tf.Tensor4D[], reverse: boolean): Tf.Tensor4D[] => {
    let h = tf.zeros([batch, size, size, hidden]) as Tf.Tensor4D;
    let c = h;
    const out = new Array<Tf.Tensor4D>(inputs.length);
    const order = inputs.map((_, t) => t);
    if (reverse) order.reverse();
    for (const t of order) {
      const z = tf.fused.conv2d({ x: tf.concat([inputs[t] as Tf.Tensor4D, h], 3), filter: cell.kernel as Tf.Tensor4D, strides: 1, pad: 'same', bias: cell.bias });
      const [i, f, o, g] = tf.split(z, 4, 3) as [Tf.Tensor4D, Tf.Tensor4D, Tf.Tensor4D, Tf.Tensor4D];
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
      h = tf.mul(tf.sigmoid(o), tf.tanh(c));
      out[t] = h;
    }
    return out;
  };
  const loss = (): Tf.Scalar => {
    const inputs = tf.unstack(video, 1) as Tf.Tensor4D[];
    const [forwardCell, backwardCell] = cells as [(typeof cells)[number], (typeof cells)[number]];
    const forward = run(forwardCell, inputs, false);
    const backward = run(backwardCell, inputs, true);
    const z = tf.stack(
      forward.map((h, t) => {
        const both = tf.dropout(tf.concat([h, backward[t] as Tf.Tensor4D], 3), 0.3) as Tf.Tensor4D;
        const r = tf.fused.conv2d({ x: both, filter: readout.kernel as Tf.Tensor4D, strides: 1, pad: 'same', bias: readout.bias, activation: 'relu' });
        return tf.fused.conv2d({ x: r, filter: logit.kernel as Tf.Tensor4D, strides: 1, pad: 'same', bias: logit.bias });
      }),
      1,
    );
    return tf.mean(tf.add(tf.mul(tf.sub(1, labels), z), tf.softplus(tf.neg(z)))) as Tf.Scalar;
  };
  return {
    label: `bidirectional ConvLSTM step, ${batch}x${frames} frames of ${size}x${size}`,
    time(reps: number): number {
      let best = Infinity;
      for (let i = 0; i <= reps; i++) {
        const start = performance.now();
        tf.dispose(optimizer.minimize(loss, true) ?? []);
        if (i > 0) best = Math.min(best, performance.now() - start);
      }
      return best;
    },
    dispose(): void {
      optimizer.dispose();
      tf.dispose([video, labels, ...cells.flatMap((c) => [c.kernel, c.bias]), readout.kernel, readout.bias, logit.kernel, logit.bias]);
    },
  };
}

runBenchmark(__filename, 'kernels', main);
