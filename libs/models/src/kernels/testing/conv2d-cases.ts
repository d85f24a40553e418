/** Spec cases shared by the wasm Conv2D gradient kernels' specs. Not exported from the library. */
export type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

export interface Conv2DCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  pad: Pad;
  strides?: number;
  /** Smaller values where one gradient sums over ~10^4 products, to stay within float32. */
  scale?: number;
}

/** Top 2 and left 1, bottom 0 and right 2: no side equal to another. */
export const ASYMMETRIC_PADDING: Pad = [
  [0, 0],
  [2, 0],
  [1, 2],
  [0, 0],
];

/** The shapes and paddings both gradients (input and filter) are checked against. */
export const CONV2D_CASES: readonly Conv2DCase[] = [
  { name: '3x3 same, one input channel', x: [1, 8, 8, 1], filter: [3, 3, 1, 4], pad: 'same' },
  { name: '5x5 same, odd sizes', x: [2, 9, 7, 3], filter: [5, 5, 3, 5], pad: 'same' },
  { name: '3x3 valid', x: [2, 9, 7, 3], filter: [3, 3, 3, 2], pad: 'valid' },
  { name: '1x1 same', x: [3, 6, 5, 4], filter: [1, 1, 4, 2], pad: 'same' },
  { name: '2x4 same (even kernel, uneven padding)', x: [1, 6, 9, 2], filter: [2, 4, 2, 3], pad: 'same' },
  { name: 'explicit asymmetric padding', x: [2, 6, 6, 2], filter: [3, 3, 2, 2], pad: ASYMMETRIC_PADDING },
];
