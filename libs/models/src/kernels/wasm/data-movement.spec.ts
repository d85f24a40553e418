import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { liveCounts, runOn, useBackend, withoutSimd } from '../testing/backends';

/**
 * Slice, SplitV, Unpack and Concat rewritten to copy inside the wasm heap: random shapes, boxes
 * and axes, every heap dtype, compared element for element with the cpu backend.
 */

const dtypes = ['float32', 'int32', 'bool'] as const;
type HeapDtype = (typeof dtypes)[number];

function valuesFor(shape: number[], dtype: HeapDtype, seed: number): number[] {
  const size = tf.util.sizeFromShape(shape);
  return Array.from({ length: size }, (_, i) => {
    const v = Math.sin(seed * 7919 + i * 104729) * 1000;
    return dtype === 'float32' ? v : dtype === 'int32' ? Math.trunc(v) : v > 0 ? 1 : 0;
  });
}

async function sameOnBothBackends(body: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const expected = await runOn('cpu', body);
  // With the SIMD module's row copies (Concat) and with the JS loops they replace.
  for (const actual of [await runOn('wasm', body), await withoutSimd(() => runOn('wasm', body))]) {
    expect(actual.map((a) => Array.from(a))).toEqual(expected.map((e) => Array.from(e)));
  }
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 });
const dtypeArb = fc.constantFrom(...dtypes);

describe('data-movement kernels on wasm', () => {
  it('slices any box like the cpu backend', async () => {
    const boxArb = shapeArb.chain((shape) =>
      fc.tuple(fc.constant(shape), fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 0, max: d - b })))))),
    );
    await fc.assert(
      fc.asyncProperty(boxArb, dtypeArb, fc.integer(), async ([shape, box], dtype, seed) => {
        const values = valuesFor(shape, dtype, seed);
        await sameOnBothBackends(() =>
          tf.slice(
            tf.tensor(values, shape, dtype),
            box.map(([b]) => b),
            box.map(([, s]) => s),
          ),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('splits, unstacks and concatenates along any axis like the cpu backend', async () => {
    const caseArb = shapeArb.chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: 0, max: shape.length - 1 })));
    await fc.assert(
      fc.asyncProperty(caseArb, dtypeArb, fc.integer(), async ([shape, axis], dtype, seed) => {
        const values = valuesFor(shape, dtype, seed);
        const n = shape[axis]!;
        const sizes = n === 1 ? [1] : [1, n - 1];
        await sameOnBothBackends(() => {
          const x = tf.tensor(values, shape, dtype);
          const parts = tf.split(x, sizes, axis);
          const other = tf.tensor(valuesFor(shape, dtype, seed + 1), shape, dtype);
          // Equal parts / equal inputs take the Transpose path when their runs are short.
          const halves = n % 2 === 0 ? tf.split(x, 2, axis) : [];
          return [...parts, ...halves, ...tf.unstack(x, axis), tf.concat([x, ...parts, other], axis), tf.concat([x, other, x], axis)];
        });
      }),
      { numRuns: 60 },
    );
  });

  it('handles the hand-worked cases: gates of a ConvLSTM, a frame joined to its hidden state', async () => {
    await useBackend('wasm');
    const gates = tf.tensor4d([0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17], [1, 1, 2, 8]);
    const [i, f, o, g] = tf.split(gates, 4, 3);
    expect(i!.arraySync()).toEqual([
      [
        [
          [0, 1],
          [10, 11],
        ],
      ],
    ]);
    expect(g!.arraySync()).toEqual([
      [
        [
          [6, 7],
          [16, 17],
        ],
      ],
    ]);
    const joined = tf.concat([tf.tensor4d([9, 8], [1, 1, 2, 1]), f!], 3);
    expect(joined.arraySync()).toEqual([
      [
        [
          [9, 2, 3],
          [8, 12, 13],
        ],
      ],
    ]);
    expect(tf.unstack(tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 3, 2]), 1).map((t) => t.arraySync())).toEqual([[[1, 2]], [[3, 4]], [[5, 6]]]);
    // Long runs (copyWithin) as well as short ones (plain loop).
    const wide = tf.range(0, 2 * 100, 1, 'float32').reshape([2, 100]);
    expect(Array.from(tf.slice(wide, [1, 0], [1, 100]).dataSync())).toEqual(Array.from({ length: 100 }, (_, k) => 100 + k));
    tf.dispose([gates, i!, f!, o!, g!, joined, wide]);
  });

  it('clones and same-dtype casts share the buffer, and real casts convert', async () => {
    await useBackend('wasm');
    const x = tf.tensor1d([1.5, -2.25, 3]);
    const buffers = liveCounts().dataIds;
    const copy = tf.clone(x);
    const same = tf.cast(x, 'float32');
    expect(liveCounts().dataIds).toBe(buffers);
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1.5, -2.25, 3]);
    expect(Array.from(same.dataSync())).toEqual([1.5, -2.25, 3]);
    const ints = tf.cast(copy, 'int32');
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([copy, same, ints]);
    expect(liveCounts().dataIds).toBe(buffers - 1);
  });

  it('leaves no tensor and no wasm buffer behind', async () => {
    await useBackend('wasm');
    const x = tf.randomUniform([2, 6, 5, 8]);
    const once = (): void => {
      tf.tidy(() => {
        const parts = tf.split(x, 4, 3);
        tf.concat([...parts, x], 3);
        tf.unstack(x, 1);
      });
    };
    once();
    const before = liveCounts();
    once();
    expect(liveCounts()).toEqual(before);
    x.dispose();
  });
});
