import '@tensorflow/tfjs-backend-wasm';
import { Sum, getKernel, util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, SumAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { withWasmScope } from './kernel-scope';

/**
 * A sum over the leading axes (the bias gradient of every convolution: dy [b,h,w,c] summed to
 * [c]) as one XNNPACK product ones[1, rows] x dy[rows, c]. The built-in kernel transposes the
 * reduced axes innermost first and adds in scalar C++: 10.3 ms against 0.5 for [4,96,96,64]
 * (tools/bench). Other reductions, and non-float32 sums, keep the built-in kernel.
 */
const builtin = getKernel(Sum, 'wasm');

function sum(args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as SumAttrs;
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.every((a, i) => a === i);
  const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
  const inner = util.sizeFromShape(x.shape.slice(axes.length));
  if ((x.dtype !== 'float32' || !leading || inner < 2 || rows < 2) && builtin !== undefined) {
    return builtin.kernelFunc(args);
  }
  const outShape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
  return withWasmScope(backend, (scope) => {
    const ones = scope.alloc([1, 1, rows]);
    // BatchMatMul caches XNNPACK's packed copy of b by tensor id, not by shape: a fresh tensor
    // (one memcpy) keeps a later product with x viewed as another shape from reusing it.
    const matrix = scope.alloc([1, rows, inner]);
    const heap = scope.heapF32();
    heap.fill(1, scope.offsetOf(ones), scope.offsetOf(ones) + rows);
    heap.copyWithin(scope.offsetOf(matrix), scope.offsetOf(x), scope.offsetOf(x) + rows * inner);
    const total = scope.run('BatchMatMul', { a: ones, b: matrix }, { transposeA: false, transposeB: false });
    return scope.run('Reshape', { x: total }, { shape: outShape });
  });
}

export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'wasm',
  // The built-in kernel binds its C++ entry point in its setup; keep that for the other cases.
  setupFunc: builtin?.setupFunc,
  kernelFunc: sum as KernelFunc,
};
