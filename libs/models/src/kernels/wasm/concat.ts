import '@tensorflow/tfjs-backend-wasm';
import { Concat, backend_util, getKernel, util } from '@tensorflow/tfjs';
import type { ConcatAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { InvalidInputError } from '@mitosis/core';
import { copyHeapRows, copyRun, elementOffset, heapOf, isHeapDtype } from './heap-copy';
import { withWasmScope } from './kernel-scope';
import { transposeBelow } from './split-v';

/**
 * tf.concat copied in place in the heap. The built-in kernel makes a `subarray` per input per
 * outer row: joining a 1-channel frame to the 16 hidden channels (the ConvLSTM's input at every
 * step) cost one allocation per pixel. Rows are copied by heap-copy's copyHeapRows (the SIMD
 * module's row copy, or a JS loop where it is off), and equal inputs with short runs (the gate gradients joined back
 * into [.., 4h] in the backward pass) are stacked and regrouped by one C++ Transpose, as in
 * split-v.ts.
 */
const builtin = getKernel(Concat, 'wasm');

function concat(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const inputs = args.inputs as unknown as TensorInfo[];
  const { axis } = args.attrs as unknown as ConcatAttrs;
  const first = inputs[0];
  const dtype = first?.dtype;
  if (first === undefined || dtype === undefined || !isHeapDtype(dtype)) {
    if (builtin === undefined) {
      throw new InvalidInputError(`${Concat} on wasm: no inputs, or dtype ${String(dtype)} not held in the heap`);
    }
    return builtin.kernelFunc(args);
  }
  const $axis = util.parseAxisParam(axis, first.shape)[0];
  const shapes = inputs.map((t) => t.shape);
  backend_util.assertParamsConsistent(shapes, $axis);
  const outShape = backend_util.computeOutShape(shapes, $axis);
  const rows = util.sizeFromShape(outShape.slice(0, $axis));
  const run = util.sizeFromShape(first.shape.slice($axis));
  if (inputs.length > 1 && inputs.every((t) => util.arraysEqual(t.shape, first.shape)) && rows > 1 && run > 0 && run < transposeBelow) {
    return concatByTranspose(backend, inputs, dtype, rows, run, outShape);
  }
  const out = backend.makeOutput(outShape, dtype);
  const parts = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
  // Rows are everything before the axis; each input contributes a run of `inner` per row.
  const rowLength = util.sizeFromShape(outShape.slice($axis));
  let column = elementOffset(backend, out);
  for (const part of parts) {
    const inner = util.sizeFromShape(part.shape.slice($axis));
    copyHeapRows(backend, dtype, column, rowLength, elementOffset(backend, part), inner, rows, inner);
    column += inner;
  }
  return out;
}

/** Equal inputs with short runs: stack them as [parts, rows, run], then one C++ Transpose. */
function concatByTranspose(backend: BackendWasm, inputs: TensorInfo[], dtype: 'float32' | 'int32' | 'bool', rows: number, run: number, outShape: number[]): TensorInfo {
  return withWasmScope(backend, (scope) => {
    const stacked = scope.alloc([inputs.length, rows, run], dtype);
    const heap = heapOf(backend, dtype);
    const block = rows * run;
    const to = elementOffset(backend, stacked);
    inputs.forEach((input, p) => copyRun(heap, to + p * block, elementOffset(backend, input), block));
    const moved = scope.run('Transpose', { x: stacked }, { perm: [1, 0, 2] });
    return scope.run('Reshape', { x: moved }, { shape: outShape });
  });
}

export const concatConfig: KernelConfig = {
  kernelName: Concat,
  backendName: 'wasm',
  kernelFunc: concat as KernelFunc,
};
