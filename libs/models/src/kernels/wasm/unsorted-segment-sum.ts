import { UnsortedSegmentSum } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { InvalidInputError } from '@mitosis/core';
import { withWasmScope } from './kernel-scope';

/**
 * out[s, ...] = sum of x[i, ...] over the i with segmentIds[i] = s: the gradient of tf.gather,
 * missing from the wasm backend. Done by the backend's ScatterNd, which adds rows sent to the
 * same index. Ids outside [0, numSegments) are dropped, as the cpu backend does (ScatterNd
 * itself would write outside its output).
 */
function unsortedSegmentSum(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as unknown as UnsortedSegmentSumAttrs;
  if (segmentIds.shape.length !== 1 || x.shape.length < 1 || x.shape[0] !== segmentIds.shape[0]) {
    throw new InvalidInputError(`${UnsortedSegmentSum} on wasm: segmentIds must be 1-D with one id per row of x, got [${segmentIds.shape.join(',')}] for x [${x.shape.join(',')}]`);
  }
  if (segmentIds.dtype !== 'int32' || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
    throw new InvalidInputError(`${UnsortedSegmentSum} on wasm: expected float32/int32 x and int32 segmentIds, got ${x.dtype} and ${segmentIds.dtype}`);
  }
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new InvalidInputError(`${UnsortedSegmentSum} on wasm: numSegments must be a non-negative integer, got ${numSegments}`);
  }
  const rows = x.shape[0];
  const rowShape = x.shape.slice(1);
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  const kept: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (ids[i] >= 0 && ids[i] < numSegments) {
      kept.push(i);
    }
  }

  return withWasmScope(backend, (scope) => {
    const shape = [numSegments, ...rowShape];
    if (kept.length === 0) {
      return scope.run('Fill', {}, { shape, value: 0, dtype: x.dtype });
    }
    let indices: TensorInfo;
    let updates: TensorInfo;
    if (kept.length === rows) {
      indices = scope.run('Reshape', { x: segmentIds }, { shape: [rows, 1] });
      updates = x;
    } else {
      const keptIds = scope.alloc([kept.length, 1], 'int32');
      const keptRows = scope.alloc([kept.length], 'int32');
      // Views after the allocations: those may have grown the heap.
      const idsNow = backend.typedArrayFromHeap(segmentIds) as Int32Array;
      const keptIdsView = backend.typedArrayFromHeap(keptIds) as Int32Array;
      const keptRowsView = backend.typedArrayFromHeap(keptRows) as Int32Array;
      kept.forEach((row, j) => {
        keptIdsView[j] = idsNow[row];
        keptRowsView[j] = row;
      });
      indices = keptIds;
      updates = scope.run('GatherV2', { x, indices: keptRows }, { axis: 0, batchDims: 0 });
    }
    return scope.run('ScatterNd', { indices, updates }, { shape });
  });
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as KernelFunc,
};
