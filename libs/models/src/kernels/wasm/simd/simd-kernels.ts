import { backend as currentBackend, getBackend } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type {} from './webassembly';
import { simdKernelsBinary } from './binary.gen';
import { SimdHelper } from './simd-helper';

/**
 * The project's SIMD module (wat.ts), instantiated on the wasm backend's own memory so that its
 * functions read and write tensors where they lie. Every pointer is a byte offset in that memory
 * (a tensor's `memoryOffset`); counts are elements. See wat.ts for each function's contract.
 */
export interface SimdKernels {
  cell_forward(z: number, c: number, h: number, cNext: number, keep: number, i: number, f: number, o: number, g: number, tanhC: number, pixels: number, hidden: number): void;
  cell_backward(
    dh: number,
    dcIn: number,
    c: number,
    i: number,
    f: number,
    o: number,
    g: number,
    tanhC: number,
    dz: number,
    dcPrev: number,
    sums: number,
    pixels: number,
    hidden: number,
  ): void;
  copy_rows32(dst: number, dstStride: number, src: number, srcStride: number, rows: number, run: number): void;
  filter_grad(
    x: number,
    dy: number,
    dw: number,
    batch: number,
    height: number,
    width: number,
    cin: number,
    cout: number,
    kh: number,
    kw: number,
    padTop: number,
    padLeft: number,
    outH: number,
    outW: number,
    ci0: number,
    ci1: number,
  ): void;
  /** y = e^x (and below, sigmoid and tanh) over n floats, n % 4 == 0: the inline expansions alone, for their spec. */
  exp_f32(x: number, y: number, n: number): void;
  sigmoid_f32(x: number, y: number, n: number): void;
  tanh_f32(x: number, y: number, n: number): void;
}

/** MITOSIS_SIMD_KERNELS=off runs the JS loops instead (for timing one against the other). */
let enabled = process.env['MITOSIS_SIMD_KERNELS'] !== 'off';
const instances = new WeakMap<WebAssembly.Memory, SimdKernels | Error>();

/** Turns the module off or on for this process (specs of the JS fallbacks); returns the old setting. */
export function setSimdKernelsEnabled(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

function memoryOf(backend: BackendWasm): WebAssembly.Memory | undefined {
  // tfjs-backend-wasm 4.22's Emscripten modules: the threaded build keeps its (imported, shared)
  // memory as wasmMemory, the single-threaded one exports it as asm.memory.
  const module = backend.wasm as unknown as { wasmMemory?: unknown; asm?: { memory?: unknown } };
  const memory = module.wasmMemory ?? module.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

/** The module on `memory` (either kind); throws where this runtime cannot compile or link it. */
export function instantiateSimdKernels(memory: WebAssembly.Memory): SimdKernels {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = Buffer.from(simdKernelsBinary[shared ? 'shared' : 'unshared'], 'base64');
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return instance.exports as unknown as SimdKernels;
}

function instantiate(memory: WebAssembly.Memory): SimdKernels | Error {
  try {
    return instantiateSimdKernels(memory);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function lookup(backend: BackendWasm): SimdKernels | Error {
  const memory = memoryOf(backend);
  if (memory === undefined) return new Error('the wasm backend exposes no memory (wasmMemory or asm.memory)');
  if (memory.buffer !== (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer) {
    return new Error("the wasm backend's memory is not the buffer its heap views");
  }
  let found = instances.get(memory);
  if (found === undefined) {
    found = instantiate(memory);
    instances.set(memory, found);
  }
  return found;
}

/** The module on this backend's memory, or undefined where it is off or cannot load (callers then loop in JS). */
export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  if (!enabled) return undefined;
  const found = lookup(backend);
  return found instanceof Error ? undefined : found;
}

const helpers = new WeakMap<WebAssembly.Memory, SimdHelper>();

/**
 * The second thread for the module's kernels (simd-helper.ts), on a threaded backend (shared
 * memory) that was given at least 2 threads; undefined otherwise, while it starts, and once it
 * has failed. Started by the first call that asks.
 */
export function simdHelper(backend: BackendWasm): SimdHelper | undefined {
  if (simdKernels(backend) === undefined) return undefined;
  const memory = memoryOf(backend);
  if (memory === undefined || !(memory.buffer instanceof SharedArrayBuffer)) return undefined;
  const threads = (backend.wasm as unknown as { tfjs?: { getThreadsCount?(): number } }).tfjs?.getThreadsCount?.() ?? 1;
  if (threads < 2) return undefined;
  let helper = helpers.get(memory);
  if (helper === undefined) {
    helper = new SimdHelper(memory, Buffer.from(simdKernelsBinary.shared, 'base64'));
    helpers.set(memory, helper);
  }
  return helper.ready ? helper : undefined;
}

/** 'on', or 'off' and why: for the benchmark's header. */
export function simdKernelsStatus(backend: BackendWasm): string {
  if (!enabled) return 'off (MITOSIS_SIMD_KERNELS=off)';
  const found = lookup(backend);
  return found instanceof Error ? `off (${found.message})` : 'on';
}

/** simdKernelsStatus for the backend tfjs runs on now ('not used' off wasm). */
export function currentSimdKernelsStatus(): string {
  const name = getBackend();
  return name === 'wasm' ? simdKernelsStatus(currentBackend() as BackendWasm) : `not used (backend ${name})`;
}
