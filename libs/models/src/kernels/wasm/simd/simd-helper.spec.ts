import { simdKernelsBinary } from './binary.gen';
import { SimdHelper } from './simd-helper';
import { instantiateSimdKernels } from './simd-kernels';
import type {} from './webassembly';
import { randomValues } from '../../testing/backends';

/**
 * The helper thread on a shared memory of the spec's own: filter_grad split over the input
 * channels between this thread and the worker gives exactly what one thread gives (each dW
 * element is summed by one of them, in the same order), and a worker that fails is given up.
 */
async function whenReady(helper: SimdHelper): Promise<void> {
  for (let waited = 0; !helper.ready; waited += 10) {
    if (waited > 20_000) throw new Error(`the helper did not start: ${helper.failure ?? 'no reason given'}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('SimdHelper', () => {
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 4096, shared: true });
  const kernels = instantiateSimdKernels(memory);
  let helper: SimdHelper;

  beforeAll(async () => {
    helper = new SimdHelper(memory, Buffer.from(simdKernelsBinary.shared, 'base64'));
    await whenReady(helper);
  });
  afterAll(() => helper.close());

  it('splits a filter gradient with the main thread and gives the one-thread result exactly', () => {
    // 17 -> 64 3x3 'same' on two 20x24 frames (the ConvLSTM gate layer's shape, smaller).
    const [batch, height, width, cin, cout, k] = [2, 20, 24, 17, 64, 3];
    const heap = new Float32Array(memory.buffer);
    const [x, dy, one, two] = [0, 40_000, 120_000, 140_000];
    heap.set(randomValues(1, batch * height * width * cin), x);
    heap.set(randomValues(2, batch * height * width * cout), dy);
    const size = k * k * cin * cout;
    heap.fill(0, one, one + size);
    heap.fill(0, two, two + size);
    const args = (dw: number): number[] => [4 * x, 4 * dy, 4 * dw, batch, height, width, cin, cout, k, k, 1, 1, height, width];
    const call = (a: number[], ci0: number, ci1: number): void =>
      kernels.filter_grad(...(a as [number, number, number, number, number, number, number, number, number, number, number, number, number, number]), ci0, ci1);
    call(args(one), 0, cin);
    helper.start([...args(two), 8, cin]);
    call(args(two), 0, 8);
    helper.join();
    const view = new Float32Array(memory.buffer);
    expect(Array.from(view.subarray(two, two + size))).toEqual(Array.from(view.subarray(one, one + size)));
    expect(view.subarray(one, one + size).some((v) => v !== 0)).toBe(true);
    expect(helper.ready).toBe(true);
  });

  it('refuses more arguments than its control block holds', () => {
    expect(() => helper.start(new Array<number>(17).fill(0))).toThrow(/at most 16 arguments/);
  });

  it('gives up a worker whose share traps, naming it, and stays out of use', async () => {
    const other = new SimdHelper(memory, Buffer.from(simdKernelsBinary.shared, 'base64'));
    try {
      await whenReady(other);
      // dy far beyond the memory: the worker's filter_grad traps (out of bounds).
      other.start([0, 2 ** 31, 1024, 1, 4, 4, 4, 4, 1, 1, 0, 0, 4, 4, 0, 4]);
      expect(() => other.join()).toThrow(/SIMD helper thread failed on its share/);
      expect(other.ready).toBe(false);
      expect(other.failure).toMatch(/failed on its share/);
    } finally {
      await other.close();
    }
  });
});
