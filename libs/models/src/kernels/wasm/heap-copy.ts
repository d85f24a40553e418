import type { DataType, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './simd/simd-kernels';

/**
 * Copies between tensors inside the wasm heap, for the data-movement kernels (Slice, SplitV,
 * Unpack, Concat). The built-in ones read their whole input out of the heap (`readSync` copies
 * it) once per output and copy each row through a fresh `subarray`; these work in place on one
 * view of the heap.
 */
export type HeapArray = Float32Array | Int32Array | Uint8Array;

/** Dtypes stored as plain numbers in the heap (strings live outside it). */
export function isHeapDtype(dtype: DataType): dtype is 'float32' | 'int32' | 'bool' {
  return dtype === 'float32' || dtype === 'int32' || dtype === 'bool';
}

/** The whole heap with the element type of `dtype`; valid until the next allocation. */
export function heapOf(backend: BackendWasm, dtype: 'float32' | 'int32' | 'bool'): HeapArray {
  const buffer = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer;
  return dtype === 'float32' ? new Float32Array(buffer) : dtype === 'int32' ? new Int32Array(buffer) : new Uint8Array(buffer);
}

/** Byte offset of a tensor's first element in the wasm memory (what the SIMD module takes). */
export function byteOffset(backend: BackendWasm, info: TensorInfo): number {
  return backend.dataIdMap.get(info.dataId).memoryOffset;
}

/** Index of a tensor's first element in `heapOf(backend, its dtype)`. */
export function elementOffset(backend: BackendWasm, info: TensorInfo): number {
  const bytes = info.dtype === 'bool' ? 1 : 4;
  return backend.dataIdMap.get(info.dataId).memoryOffset / bytes;
}

/** Below this many elements a plain loop beats `copyWithin` (node 20: 2.3 vs 1.4 ns/element at 16, loop 3x faster at 1). */
const shortRun = 8;

export function copyRun(heap: HeapArray, dst: number, src: number, count: number): void {
  if (count < shortRun) {
    for (let i = 0; i < count; i++) {
      heap[dst + i] = heap[src + i];
    }
  } else {
    heap.copyWithin(dst, src, src + count);
  }
}

/**
 * Float32 runs shorter than this are copied by `copyRowsF32`'s loop rather than a `copyWithin`
 * each (below `shortRun` every dtype loops): for short runs, such as a 1-channel frame joined to
 * 16 hidden channels, the loop beats a `copyWithin` per pixel (docs/history.md).
 */
const float32LoopBelow = 32;

/**
 * `rows` runs of `run` elements from `src` (rows `srcStride` apart) to `dst` (rows `dstStride`
 * apart): copyHeapRows's JS path.
 */
function copyRows(heap: HeapArray, dst: number, dstStride: number, src: number, srcStride: number, rows: number, run: number): void {
  if (heap instanceof Float32Array && run < float32LoopBelow) {
    copyRowsF32(heap, dst, dstStride, src, srcStride, rows, run);
    return;
  }
  for (let r = 0, from = src, to = dst; r < rows; r++, from += srcStride, to += dstStride) copyRun(heap, to, from, run);
}

/**
 * `copyRows` on a backend's heap, element indices as `elementOffset` gives them: 4-byte elements
 * go through the SIMD module's copy_rows32 where it links (16 bytes a move, never slower than a
 * `copyWithin` per row; docs/history.md), the
 * rest (bool, or the module off) through `copyRows`.
 */
export function copyHeapRows(
  backend: BackendWasm,
  dtype: 'float32' | 'int32' | 'bool',
  dst: number,
  dstStride: number,
  src: number,
  srcStride: number,
  rows: number,
  run: number,
): void {
  const simd = dtype === 'bool' ? undefined : simdKernels(backend);
  if (simd !== undefined) {
    simd.copy_rows32(4 * dst, dstStride, 4 * src, srcStride, rows, run);
    return;
  }
  copyRows(heapOf(backend, dtype), dst, dstStride, src, srcStride, rows, run);
}

/** `copyRows` for float32 alone, so that the element accesses stay monomorphic. */
function copyRowsF32(heap: Float32Array, dst: number, dstStride: number, src: number, srcStride: number, rows: number, run: number): void {
  const dstGap = dstStride - run;
  const srcGap = srcStride - run;
  for (let r = 0, to = dst, from = src; r < rows; r++, to += dstGap, from += srcGap) {
    for (let e = 0; e < run; e++) heap[to++] = heap[from++] as number;
  }
}

/**
 * Copies the box `begin`..`begin + size` of a row-major tensor of `shape` starting at heap index
 * `src` into a dense tensor starting at `dst`. Trailing axes taken whole merge into one run, so
 * a slice along the outer axes is a single copy.
 */
export function copyBox(heap: HeapArray, src: number, shape: readonly number[], begin: readonly number[], size: readonly number[], dst: number): void {
  const rank = shape.length;
  if (rank === 0) {
    heap[dst] = heap[src];
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    strides[d] = strides[d + 1] * shape[d + 1];
  }
  let runAxis = rank - 1;
  while (runAxis > 0 && size[runAxis] === shape[runAxis]) {
    runAxis--;
  }
  const run = size[runAxis] * strides[runAxis];
  let from = src;
  for (let d = 0; d < rank; d++) {
    from += begin[d] * strides[d];
  }
  const index = new Array<number>(runAxis).fill(0);
  let to = dst;
  for (;;) {
    copyRun(heap, to, from, run);
    to += run;
    // Odometer over the outer axes, moving `from` along with it.
    let d = runAxis - 1;
    for (; d >= 0; d--) {
      index[d]++;
      from += strides[d];
      if (index[d] < size[d]) {
        break;
      }
      from -= size[d] * strides[d];
      index[d] = 0;
    }
    if (d < 0) {
      return;
    }
  }
}
