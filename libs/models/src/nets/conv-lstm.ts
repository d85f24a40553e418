import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@mitosis/core';
import { conv2d, createConv } from './common';
import type { Conv, ParamMap } from './common';
import { convLstmCellForward, convLstmCellNext } from '../kernels/wasm/conv-lstm-cell';
import { convLstmCellGradient } from '../kernels/wasm/conv-lstm-cell-grad';

/**
 * ConvLSTM (Xingjian et al., the paper's ref. [38]; III.D, III.F): an LSTM whose input-to-state
 * and state-to-state transitions are convolutions, so the hidden state keeps the frame's layout.
 */
export interface ConvLstmCell {
  readonly inChannels: number;
  readonly hidden: number;
  readonly size: number;
  /** One convolution over [input, hidden] channels giving the 4*hidden gate pre-activations (i, f, o, g). */
  readonly gates: Conv;
}

export interface ConvLstmState {
  readonly h: tf.Tensor4D;
  readonly c: tf.Tensor4D;
}

/**
 * Adds `<name>/kernel` [size, size, in + hidden, 4 * hidden] and `<name>/bias` [4 * hidden] to
 * `params`. The input and recurrent kernels are one tensor, so one Glorot draw covers both (III.H:
 * Xavier weights, zero biases, the forget-gate bias included).
 */
export function createConvLstmCell(params: ParamMap, name: string, inChannels: number, hidden: number, size: number, rng: Rng): ConvLstmCell {
  const gates = createConv(params, name, size, inChannels + hidden, 4 * hidden, rng);
  return { inChannels, hidden, size, gates };
}

/** The all-zero state a sequence starts from. */
export function zeroState(cell: ConvLstmCell, batch: number, height: number, width: number): ConvLstmState {
  return { h: tf.zeros([batch, height, width, cell.hidden]), c: tf.zeros([batch, height, width, cell.hidden]) };
}

/**
 * One time step, as plain differentiable ops (the reference the packed step is tested against):
 *   [i, f, o, g] = W * [x, h] + b     (one 'same' convolution over the channel concatenation)
 *   c' = sig(f) c + sig(i) tanh(g)
 *   h' = sig(o) tanh(c')
 * The caller owns the tidy scope.
 */
export function convLstmStep(cell: ConvLstmCell, x: tf.Tensor4D, state: ConvLstmState): ConvLstmState {
  const z = conv2d(tf.concat([x, state.h], 3), cell.gates);
  const [i, f, o, g] = tf.split(z, 4, 3) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const c: tf.Tensor4D = tf.add(tf.mul(tf.sigmoid(f), state.c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
  const h: tf.Tensor4D = tf.mul(tf.sigmoid(o), tf.tanh(c));
  return { h, c };
}

/** How the packed step differentiates. */
export interface ConvLstmStepOptions {
  /**
   * Whether the input x needs its gradient. False where x is data (M3 reads frames): the
   * backward pass then convolves dz back onto the hidden channels only (a 4H -> H transposed
   * convolution instead of 4H -> in + H, which for M3's one input channel also keeps the output
   * channels a multiple of XNNPACK's tile of 8, which is faster) and returns zeros for x.
   * Default true.
   */
  inputGradient?: boolean;
}

/**
 * The same step with a hand-written backward pass, the state packed as hc = [h; c] stacked along
 * the batch axis ([2b, h, w, hidden]: tf.customGrad returns one tensor, and a batch-axis stack
 * packs and unpacks by contiguous copies). Under autodiff every intermediate of every step
 * (concat, gates, activations, products: ~290 channels per pixel per step) stays alive until the
 * backward pass ends; this keeps [x, h], the four activated gates, c and tanh(c'), about 113 + in.
 * So whole downscaled frames, which overflowed the 4 GiB wasm heap under autodiff, train
 * (figures in docs/history.md).
 * The element-wise parts of the forward and backward passes are one kernel each on wasm
 * (kernels/wasm/conv-lstm-cell.ts, conv-lstm-cell-grad.ts).
 * Equal to `convLstmStep` in value and gradients (conv-lstm.spec.ts).
 */
export function convLstmStepPacked(cell: ConvLstmCell, x: tf.Tensor4D, hc: tf.Tensor4D, options: ConvLstmStepOptions = {}): tf.Tensor4D {
  const { hidden, inChannels } = cell;
  const inputGradient = options.inputGradient ?? true;
  const kernel = cell.gates.kernel;
  const step = tf.customGrad<tf.Tensor4D>(((xIn: tf.Tensor4D, hcIn: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const [b2, height, width] = hcIn.shape;
    const half: [number, number, number, number] = [b2 / 2, height, width, hidden];
    const xh = tf.concat([xIn, tf.slice(hcIn, [0, 0, 0, 0], half)], 3);
    const z = tf.fused.conv2d({ x: xh, filter: w, strides: 1, pad: 'same', bias: b });
    // Outside tf.grads (inference) nothing is kept for a backward pass that will not come, and c
    // is read by the cell kernel in place.
    if (tf.engine().state.gradientDepth === 0) return { value: convLstmCellNext(z, hcIn), gradFunc: () => [] };
    const { hcNext, i, f, o, g, tanhC } = convLstmCellForward(z, hcIn);
    save([xh, tf.slice(hcIn, [b2 / 2, 0, 0, 0], half), i, f, o, g, tanhC]);
    return {
      value: hcNext,
      // tfjs calls gradFunc outside any tidy scope: without one, each step's backward
      // temporaries would live until the whole backward pass ends.
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sxh, sc, si, sf, so, sg, stanhC] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
          const [dz, dcPrev, db] = convLstmCellGradient(dy, { c: sc, i: si, f: sf, o: so, g: sg, tanhC: stanhC });
          const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: sxh, dy: dz }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: w.shape }) as tf.Tensor4D;
          let dx: tf.Tensor4D;
          let dhPrev: tf.Tensor4D;
          if (inputGradient) {
            const dxh = tf.conv2dTranspose(dz, w, sxh.shape, 1, 'same');
            [dx, dhPrev] = tf.split(dxh, [inChannels, hidden], 3) as [tf.Tensor4D, tf.Tensor4D];
          } else {
            const [kh, kw] = w.shape;
            const wh = tf.slice(w, [0, 0, inChannels, 0], [kh, kw, hidden, 4 * hidden]) as tf.Tensor4D;
            dhPrev = tf.conv2dTranspose(dz, wh, [...sc.shape], 1, 'same');
            dx = tf.zeros(xIn.shape);
          }
          return [dx, tf.concat([dhPrev, dcPrev], 0), dw, db];
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor4D>>[0]);
  return step(x, hc, kernel, cell.gates.bias);
}

/**
 * Runs the cell over frames [t][batch, h, w, in] and returns the hidden states in the frames'
 * own time order. With `reverse` the cell reads from the last frame to the first (M3's backward
 * unit, III.F); writing each output back at its frame's index is "reverse the input, run, reverse
 * the outputs" without the two copies.
 */
export function runConvLstm(cell: ConvLstmCell, frames: readonly tf.Tensor4D[], reverse = false, options: ConvLstmStepOptions = {}): tf.Tensor4D[] {
  const [first] = frames;
  if (first === undefined) return [];
  const [batch, height, width] = first.shape;
  let hc: tf.Tensor4D = tf.zeros([2 * batch, height, width, cell.hidden]);
  const outputs = new Array<tf.Tensor4D>(frames.length);
  const order = frames.map((frame, t) => ({ frame, t }));
  if (reverse) order.reverse();
  for (const { frame, t } of order) {
    hc = convLstmStepPacked(cell, frame, hc, options);
    outputs[t] = tf.slice(hc, [0, 0, 0, 0], [batch, height, width, cell.hidden]);
  }
  return outputs;
}

/** The same over a [batch, time, h, w, in] tensor, giving [batch, time, h, w, hidden]. */
export function runConvLstmSequence(cell: ConvLstmCell, x: tf.Tensor5D, reverse = false): tf.Tensor5D {
  return tf.tidy(() => sequenceOf(runConvLstm(cell, framesOf(x), reverse)));
}

/**
 * [b, t, h, w, c] -> t frames [b, h, w, c]. Split through a [b, t, h*w*c] view: tfjs's wasm and
 * cpu backends copy rank-5 slices (and unstack/stack, and their gradients) element by element in
 * JS, which made them most of an M3 training step; a rank-3 split copies whole frames. One split
 * rather than t slices: a slice's gradient pads its frame back to the whole [b, t, ...] tensor
 * and the t pads are then summed (t^2 frame writes), the split's gradient is one concat.
 */
export function framesOf(x: tf.Tensor5D): tf.Tensor4D[] {
  const [b, t, h, w, c] = x.shape;
  const flat = tf.reshape(x, [b, t, h * w * c]);
  return tf.split(flat, t, 1).map((frame) => tf.reshape(frame, [b, h, w, c]));
}

/** The inverse of `framesOf`: t frames [b, h, w, c] -> [b, t, h, w, c], through the same rank-3 view. */
export function sequenceOf(frames: readonly tf.Tensor4D[]): tf.Tensor5D {
  const [first] = frames;
  if (first === undefined) throw new Error('sequenceOf needs at least one frame');
  const [b, h, w, c] = first.shape;
  const joined = tf.concat(
    frames.map((f) => tf.reshape(f, [b, 1, h * w * c])),
    1,
  );
  return tf.reshape(joined, [b, frames.length, h, w, c]);
}

/**
 * Pixels of input a ConvLSTM output can see after `steps` frames. With kernel radius r = (k-1)/2:
 * h_1 sees x_1 within r; h_t sees x_t within r and h_{t-1} within r, so x_{t-1} within 2r, ...,
 * x_1 within t*r (c_t adds nothing: it mixes the gates pixel by pixel). Hence r * steps.
 */
export function convLstmRadius(size: number, steps: number): number {
  return ((size - 1) / 2) * steps;
}
