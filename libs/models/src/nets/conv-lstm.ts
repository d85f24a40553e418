import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@mitosis/core';
import { conv2d, createConv } from './common';
import type { Conv, ParamMap } from './common';

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
 * One time step:
 *   [i, f, o, g] = W * [x, h] + b     (one 'same' convolution over the channel concatenation)
 *   c' = sig(f) c + sig(i) tanh(g)
 *   h' = sig(o) tanh(c')
 * The caller owns the tidy scope (the training step or the sequence runner).
 */
export function convLstmStep(cell: ConvLstmCell, x: tf.Tensor4D, state: ConvLstmState): ConvLstmState {
  const z = conv2d(tf.concat([x, state.h], 3), cell.gates);
  const [i, f, o, g] = tf.split(z, 4, 3) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const c: tf.Tensor4D = tf.add(tf.mul(tf.sigmoid(f), state.c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
  const h: tf.Tensor4D = tf.mul(tf.sigmoid(o), tf.tanh(c));
  return { h, c };
}

/**
 * Runs the cell over frames [t][batch, h, w, in] and returns the hidden states in the frames'
 * own time order. With `reverse` the cell reads from the last frame to the first (M3's backward
 * unit, III.F); writing each output back at its frame's index is "reverse the input, run, reverse
 * the outputs" without the two copies.
 */
export function runConvLstm(cell: ConvLstmCell, frames: readonly tf.Tensor4D[], reverse = false): tf.Tensor4D[] {
  const [first] = frames;
  if (first === undefined) return [];
  const [batch, height, width] = first.shape;
  let state = zeroState(cell, batch, height, width);
  const outputs = new Array<tf.Tensor4D>(frames.length);
  const order = frames.map((frame, t) => ({ frame, t }));
  if (reverse) order.reverse();
  for (const { frame, t } of order) {
    state = convLstmStep(cell, frame, state);
    outputs[t] = state.h;
  }
  return outputs;
}

/** The same over a [batch, time, h, w, in] tensor, giving [batch, time, h, w, hidden]. */
export function runConvLstmSequence(cell: ConvLstmCell, x: tf.Tensor5D, reverse = false): tf.Tensor5D {
  return tf.tidy(() => sequenceOf(runConvLstm(cell, framesOf(x), reverse)));
}

/**
 * [b, t, h, w, c] -> t frames [b, h, w, c]. Sliced through a [b, t, h*w*c] view: tfjs's wasm and
 * cpu backends copy rank-5 slices (and unstack/stack, and their gradients) element by element in
 * JS, which made them most of an M3 training step; a rank-3 slice copies whole frames.
 */
export function framesOf(x: tf.Tensor5D): tf.Tensor4D[] {
  const [b, t, h, w, c] = x.shape;
  const flat = tf.reshape(x, [b, t, h * w * c]);
  return Array.from({ length: t }, (_, i) => tf.reshape(tf.slice(flat, [0, i, 0], [b, 1, h * w * c]), [b, h, w, c]));
}

/** The inverse of `framesOf`: t frames [b, h, w, c] -> [b, t, h, w, c], through the same rank-3 view. */
export function sequenceOf(frames: readonly tf.Tensor4D[]): tf.Tensor5D {
  const [first] = frames;
  if (first === undefined) throw new Error('sequenceOf needs at least one frame');
  const [b, h, w, c] = first.shape;
  const joined = tf.concat(frames.map((f) => tf.reshape(f, [b, 1, h * w * c])), 1);
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
