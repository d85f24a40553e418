import * as tf from '@tensorflow/tfjs';
import { InvalidInputError, createRng } from '@mitosis/core';
import type { Rng } from '@mitosis/core';

/**
 * Building blocks shared by M1, M2 and M3: plain tfjs ops over `tf.Variable`s (no tf.layers, so
 * the training loop carries no layer bookkeeping), seeded initialisation, 'same' convolutions and
 * the binary cross-entropy of eqs. 10-13.
 */

/** The three networks of the method, as written into a saved model's `kind`. */
export type ModelKind = 'm1' | 'm2' | 'm3';

/**
 * Trainable weights of one network by stable name ('enc1/kernel', 'fwd/bias', ...): the names
 * are what a saved model's weights manifest lists, and the insertion order is the save order.
 */
export type ParamMap = Map<string, tf.Variable>;

/** RMSProp settings (III.H: learning rate 1e-3, decay 0.9). */
export interface RmsPropConfig {
  learningRate: number;
  decay: number;
  momentum: number;
  epsilon: number;
}

export const defaultRmsProp: Readonly<RmsPropConfig> = { learningRate: 1e-3, decay: 0.9, momentum: 0, epsilon: 1e-7 };

export function resolveRmsProp(partial: Partial<RmsPropConfig> | undefined): RmsPropConfig {
  const config = { ...defaultRmsProp, ...partial };
  requirePositive('optimizer.learningRate', config.learningRate);
  requireInRange('optimizer.decay', config.decay, 0, 1);
  requireInRange('optimizer.momentum', config.momentum, 0, 1);
  requirePositive('optimizer.epsilon', config.epsilon);
  return config;
}

export function createRmsProp(config: RmsPropConfig): tf.Optimizer {
  return tf.train.rmsprop(config.learningRate, config.decay, config.momentum, config.epsilon);
}

/**
 * Sets the step size of an optimiser made by createRmsProp, for learning-rate schedules. tfjs
 * keeps it in a protected field read at every update, with no setter.
 */
export function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  requirePositive('learning rate', rate);
  (optimizer as unknown as { learningRate: number }).learningRate = rate;
}

/** The configuration fields every network shares: its seed and its optimiser. */
export interface TrainedConfig {
  /** Seeds the initial weights and the training's random draws (dropped maps, dropout masks). */
  seed: number;
  optimizer: RmsPropConfig;
}

/** A network's options: any field of its configuration, the optimiser's fields one by one. */
export type NetworkOptions<C extends TrainedConfig> = Partial<Omit<C, 'optimizer'>> & { optimizer?: Partial<RmsPropConfig> };

/** A network trained on a learning-rate schedule. */
export interface ScheduledTraining {
  /** The RMSProp step size from the next update on (config.optimizer.learningRate at creation). */
  setLearningRate(rate: number): void;
}

/**
 * The two generators of a network from its seed: one draws the initial weights, the other the
 * training's random choices, so that how much is drawn in training never moves the weights.
 */
export function networkRngs(seed: number): { initRng: Rng; trainRng: Rng } {
  const root = createRng(seed);
  const initRng = root.fork();
  return { initRng, trainRng: root.fork() };
}

/** Frees a network's optimiser state and weights. */
export function disposeNetwork(optimizer: tf.Optimizer, params: ReadonlyMap<string, tf.Variable>): void {
  optimizer.dispose();
  for (const v of params.values()) v.dispose();
}

/** The pieces every network exposes, whatever its kind. */
export interface NetworkBase<K extends ModelKind, C> {
  readonly kind: K;
  /** The resolved configuration, written into model.json on save. */
  readonly config: Readonly<C>;
  readonly params: ReadonlyMap<string, tf.Variable>;
  /**
   * How far (pixels) the output at a pixel can see into the input for a sequence of `steps`
   * frames: the margin tiled inference needs so that tiles match the whole frame.
   */
  receptiveRadius(steps: number): number;
  /** Frees weights and optimiser state. */
  dispose(): void;
}

/**
 * Xavier/Glorot uniform (III.H): U(-l, l) with l = sqrt(6 / (fanIn + fanOut)), drawn from the
 * seeded generator in JS so that the initial weights are the same on every backend.
 */
export function glorotUniform(shape: readonly number[], fanIn: number, fanOut: number, rng: Rng): tf.Tensor {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.uniform(-limit, limit);
  return tf.tensor(values, [...shape], 'float32');
}

/** A k x k convolution with bias; kernel [k, k, in, out]. */
export interface Conv {
  readonly size: number;
  readonly kernel: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1>;
}

/**
 * Adds `<name>/kernel` (Glorot, fans as Keras counts them for convolutions: k*k*in and k*k*out)
 * and `<name>/bias` (zeros, III.H) to `params`.
 */
export function createConv(params: ParamMap, name: string, size: number, inChannels: number, outChannels: number, rng: Rng): Conv {
  const receptive = size * size;
  // tidy frees the initial values; the variables keep their own reference to the data.
  const kernel = tf.tidy(() => tf.variable(glorotUniform([size, size, inChannels, outChannels], receptive * inChannels, receptive * outChannels, rng))) as tf.Variable<tf.Rank.R4>;
  const bias = tf.tidy(() => tf.variable(tf.zeros([outChannels]))) as tf.Variable<tf.Rank.R1>;
  addParam(params, `${name}/kernel`, kernel);
  addParam(params, `${name}/bias`, bias);
  return { size, kernel, bias };
}

export function addParam(params: ParamMap, name: string, variable: tf.Variable): void {
  if (params.has(name)) throw new Error(`parameter "${name}" defined twice`);
  params.set(name, variable);
}

/**
 * Stride-1 convolution with 'same' zero padding (III.H: zero padding assumes nothing about cells
 * outside the frame) plus bias and an optional ReLU, as one fused op where the backend has it.
 */
export function conv2d(x: tf.Tensor4D, conv: Conv, activation: 'linear' | 'relu' = 'linear'): tf.Tensor4D {
  return tf.fused.conv2d({ x, filter: conv.kernel, strides: 1, pad: 'same', bias: conv.bias, activation });
}

/**
 * Mean binary cross-entropy (eqs. 10-13) computed from logits z rather than from sigmoid(z):
 * the same value, but no log(0) when the sigmoid saturates. With y the label,
 *   loss = (1 - y) z + (1 + (w - 1) y) softplus(-z)
 * which for w = 1 is -[y log s(z) + (1 - y) log(1 - s(z))]; w > 1 weighs positive pixels w times.
 * The paper sums over pixels; the mean only rescales the gradient, which RMSProp normalises.
 */
export function binaryCrossEntropyWithLogits(logits: tf.Tensor, labels: tf.Tensor, positiveWeight = 1, mask?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const softplusNeg = tf.softplus(tf.neg(logits));
    const negativePart = tf.mul(tf.sub(1, labels), logits);
    const weight = positiveWeight === 1 ? null : tf.add(1, tf.mul(positiveWeight - 1, labels));
    const positivePart = weight === null ? softplusNeg : tf.mul(weight, softplusNeg);
    const perVoxel = tf.add(negativePart, positivePart);
    if (mask === undefined) return tf.mean(perVoxel);
    // The mean over the voxels the mask keeps (a mask broadcast over the batch and time axes).
    const kept = tf.mul(perVoxel, mask);
    return tf.div(tf.sum(kept), tf.sum(tf.mul(tf.onesLike(perVoxel), mask)));
  });
}

/**
 * [1, 1, h, w, 1]: 1 inside, 0 within `margin` pixels of the crop's edge, to leave the edge out of
 * a loss (see M2's trainStep). A margin that leaves nothing inside is refused.
 */
export function interiorMask(height: number, width: number, margin: number): tf.Tensor5D {
  if (!Number.isInteger(margin) || margin < 0) throw new InvalidInputError(`a loss margin must be a whole number of pixels >= 0, got ${margin}`);
  if (2 * margin >= height || 2 * margin >= width) throw new InvalidInputError(`a loss margin of ${margin} px leaves nothing of a ${width}x${height} crop`);
  const values = new Float32Array(height * width);
  for (let y = margin; y < height - margin; y++) values.fill(1, y * width + margin, y * width + width - margin);
  return tf.tensor5d(values, [1, 1, height, width, 1]);
}

/**
 * Probabilities from the logits of a network trained with binaryCrossEntropyWithLogits and a
 * positive weight w: sigmoid(z - log w). The weighted loss is lowest at sigmoid(z) =
 * w p / (w p + 1 - p), i.e. z = logit(p) + log w, where p is the probability the data support;
 * subtracting log w gives p back, so a threshold of 0.5 keeps its meaning whatever w was.
 */
export function weightCorrectedSigmoid<T extends tf.Tensor>(logits: T, positiveWeight: number): T {
  const shift = Math.log(positiveWeight);
  return tf.tidy(() => tf.sigmoid(shift === 0 ? logits : tf.sub<T>(logits, shift)));
}

/**
 * Runs `lossFn` forward and backward and applies one optimiser update to `params`; returns the
 * loss as a number (one read-back per step). All intermediate tensors are freed.
 */
export function optimiseStep(optimizer: tf.Optimizer, params: ReadonlyMap<string, tf.Variable>, lossFn: () => tf.Scalar): number {
  const cost = optimizer.minimize(lossFn, true, [...params.values()]);
  if (cost === null) throw new Error('optimiser returned no loss');
  const value = cost.dataSync()[0] ?? Number.NaN;
  cost.dispose();
  return value;
}

/** A seed for a tfjs random op, drawn from the model's generator so that a run repeats for a seed. */
export function opSeed(rng: Rng): number {
  return rng.int(2147483647);
}

// ---- input checks -------------------------------------------------------------------------------

/** Requires a [batch, time, height, width, channels] float tensor with the given channel count. */
export function checkSequence(x: tf.Tensor, what: string, channels: number): asserts x is tf.Tensor5D {
  if (x.rank !== 5) throw new InvalidInputError(`${what} must be [batch, time, height, width, ${channels}], got shape [${x.shape.join(', ')}]`);
  if (x.shape[4] !== channels) throw new InvalidInputError(`${what} must have ${channels} channel(s), got shape [${x.shape.join(', ')}]`);
  if (x.shape.some((d) => d === 0)) throw new InvalidInputError(`${what} is empty: shape [${x.shape.join(', ')}]`);
}

/** Requires a [batch, height, width, channels] tensor with the given channel count. */
export function checkFrames(x: tf.Tensor, what: string, channels: number): asserts x is tf.Tensor4D {
  if (x.rank !== 4) throw new InvalidInputError(`${what} must be [batch, height, width, ${channels}], got shape [${x.shape.join(', ')}]`);
  if (x.shape[3] !== channels) throw new InvalidInputError(`${what} must have ${channels} channel(s), got shape [${x.shape.join(', ')}]`);
  if (x.shape.some((d) => d === 0)) throw new InvalidInputError(`${what} is empty: shape [${x.shape.join(', ')}]`);
}

export function checkSameShape(a: tf.Tensor, b: tf.Tensor, whatA: string, whatB: string): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new InvalidInputError(`${whatB} shape [${b.shape.join(', ')}] differs from ${whatA} shape [${a.shape.join(', ')}]`);
  }
}

// ---- config checks ------------------------------------------------------------------------------

export function requirePositiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidInputError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function requireOddKernel(name: string, value: unknown): number {
  const size = requirePositiveInt(name, value);
  // 'same' padding is only symmetric for odd kernels, which keeps tiles and whole frames aligned.
  if (size % 2 === 0) throw new InvalidInputError(`${name} must be odd, got ${size}`);
  return size;
}

export function requirePositive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidInputError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** lo <= value < hi. */
export function requireInRange(name: string, value: unknown, lo: number, hi: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value >= hi) {
    throw new InvalidInputError(`${name} must be in [${lo}, ${hi}), got ${String(value)}`);
  }
  return value;
}

export function requireSeed(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new InvalidInputError(`seed must be an integer, got ${String(value)}`);
  return value;
}

export function requireWidths(name: string, value: unknown, count: number): number[] {
  if (!Array.isArray(value) || value.length !== count) throw new InvalidInputError(`${name} must list ${count} layer widths, got ${JSON.stringify(value)}`);
  return value.map((w, i) => requirePositiveInt(`${name}[${i}]`, w));
}
