import { getKernel } from '@tensorflow/tfjs';
import type { DataType, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Lets one of our wasm kernels compose the backend's own kernels (XNNPACK Conv2D, BatchMatMul,
 * Transpose...) without going through the engine, the way the backend's kernels call each other.
 * Every intermediate it makes is tracked and freed by `finish`, except the one result handed back,
 * so a kernel cannot leak wasm heap however it exits.
 */
export class WasmKernelScope {
  private readonly made: TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Runs a kernel registered for 'wasm' on tensors already in the wasm heap. */
  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(kernelName, 'wasm');
    if (kernel === undefined) {
      throw new Error(`wasm kernel '${kernelName}' is not registered (is @tensorflow/tfjs-backend-wasm loaded?)`);
    }
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) {
      this.made.push(...out);
      throw new Error(`wasm kernel '${kernelName}' returned ${out.length} tensors where one was expected`);
    }
    this.made.push(out);
    return out;
  }

  /** A new uninitialised tensor in the wasm heap (moves the heap: take views after allocating). */
  alloc(shape: number[], dtype: DataType = 'float32'): TensorInfo {
    const out = this.backend.makeOutput(shape, dtype);
    this.made.push(out);
    return out;
  }

  /** Takes charge of a tensor made outside `run`/`alloc` (by a shared helper). */
  track(info: TensorInfo): TensorInfo {
    this.made.push(info);
    return info;
  }

  /** Frees an intermediate now rather than at `finish` (keeps the heap small in long loops). */
  release(info: TensorInfo): void {
    const at = this.made.indexOf(info);
    if (at >= 0) {
      this.made.splice(at, 1);
      this.backend.disposeData(info.dataId);
    }
  }

  /** The whole wasm heap as floats; valid only until the next allocation may grow the heap. */
  heapF32(): Float32Array {
    // The Emscripten module's typings are not in this project's `types`; HEAPU8 is always there.
    return new Float32Array((this.backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer);
  }

  /** Index in `heapF32()` of the first element of a float32 tensor. */
  offsetOf(info: TensorInfo): number {
    return this.backend.dataIdMap.get(info.dataId).memoryOffset / Float32Array.BYTES_PER_ELEMENT;
  }

  /** Frees every intermediate except the result(s), which the caller hands to the engine. */
  finish(result: TensorInfo | TensorInfo[] | undefined): void {
    const kept = new Set(Array.isArray(result) ? result : result === undefined ? [] : [result]);
    for (const info of this.made) {
      if (!kept.has(info)) {
        this.backend.disposeData(info.dataId);
      }
    }
    this.made.length = 0;
  }
}

/** Runs `body` in a fresh scope; intermediates are freed on success and on error alike. */
export function withWasmScope<T extends TensorInfo | TensorInfo[]>(backend: BackendWasm, body: (scope: WasmKernelScope) => T): T {
  const scope = new WasmKernelScope(backend);
  let result: T | undefined;
  try {
    result = body(scope);
    return result;
  } finally {
    scope.finish(result);
  }
}
