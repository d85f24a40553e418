import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@mitosis/core';
import {
  binaryCrossEntropyWithLogits,
  checkSameShape,
  checkSequence,
  conv2d,
  createConv,
  createRmsProp,
  disposeNetwork,
  networkRngs,
  opSeed,
  optimiseStep,
  requireInRange,
  requireOddKernel,
  requirePositive,
  requirePositiveInt,
  requireSeed,
  resolveRmsProp,
  setLearningRate,
  weightCorrectedSigmoid,
} from './common';
import type { NetworkBase, NetworkOptions, ParamMap, TrainedConfig, ScheduledTraining } from './common';
import { createConvLstmCell, framesOf, runConvLstm, sequenceOf } from './conv-lstm';
import { receptiveFieldRadius } from './receptive-field';

/** M3, the supervised mitosis detector (III.F, Fig. 6). */
export interface M3Config extends TrainedConfig {
  /** Hidden channels of each ConvLSTM unit (paper: 16). */
  hidden: number;
  /** Kernel of the ConvLSTM units and of the first decoder conv (paper: 3). */
  kernel: number;
  /** Dropout rate on the concatenated hidden states, training only (paper: 0.3). */
  dropout: number;
  /** Channels of the 3x3 decoder conv (not given by the paper; 16 like the hidden state). */
  decoderWidth: number;
  /**
   * Weight of positive (mitosis) pixels in the cross-entropy. 1 is the paper's eq. 13; larger
   * values are a deviation offered for the strong class imbalance of mitosis labels: they make
   * the rare positives pull harder early in training. `predict` undoes the shift they cause in
   * the output (a weight w moves the logits by log w), so its probabilities do not depend on w.
   */
  positiveWeight: number;
}

export type M3Options = NetworkOptions<M3Config>;

export interface M3Model extends NetworkBase<'m3', M3Config>, ScheduledTraining {
  /**
   * One RMSProp update on windows [b, k, h, w, 1] of frames in [0, 1] against labels of the same
   * shape (1 = dilated mitosis volume); returns the loss of eq. 13 (mean over voxels). Dropout
   * masks come from `rng`, by default the model's own seeded stream.
   */
  trainStep(windows: tf.Tensor5D, labels: tf.Tensor5D, rng?: Rng): number;
  /**
   * Mitosis probabilities [b, k, h, w, 1] (no dropout), corrected for the positive weight of the
   * training loss (see positiveWeight). The caller disposes the result.
   */
  predict(windows: tf.Tensor5D): tf.Tensor5D;
}

export function resolveM3Config(options: M3Options = {}): M3Config {
  const config: M3Config = {
    hidden: options.hidden ?? 16,
    kernel: options.kernel ?? 3,
    dropout: options.dropout ?? 0.3,
    decoderWidth: options.decoderWidth ?? 16,
    positiveWeight: options.positiveWeight ?? 1,
    seed: options.seed ?? 0,
    optimizer: resolveRmsProp(options.optimizer),
  };
  requirePositiveInt('hidden', config.hidden);
  requireOddKernel('kernel', config.kernel);
  requireInRange('dropout', config.dropout, 0, 1);
  requirePositiveInt('decoderWidth', config.decoderWidth);
  requirePositive('positiveWeight', config.positiveWeight);
  requireSeed(config.seed);
  return config;
}

export function createM3(options: M3Options = {}): M3Model {
  const config = resolveM3Config(options);
  const { initRng, trainRng } = networkRngs(config.seed);
  const params: ParamMap = new Map();
  // III.F: one unit reads the window forward in time, the other backward.
  const forward = createConvLstmCell(params, 'forward', 1, config.hidden, config.kernel, initRng);
  const backward = createConvLstmCell(params, 'backward', 1, config.hidden, config.kernel, initRng);
  const decode = createConv(params, 'decode', config.kernel, 2 * config.hidden, config.decoderWidth, initRng);
  const output = createConv(params, 'output', 1, config.decoderWidth, 1, initRng);
  const optimizer = createRmsProp(config.optimizer);

  /** Logits [b, k, h, w, 1]; `dropoutSeed` null at inference. */
  function logits(windows: tf.Tensor5D, dropoutSeed: number | null): tf.Tensor5D {
    return tf.tidy(() => {
      const [b, k, h, w] = windows.shape;
      const frames = framesOf(windows);
      // The frames are data: no gradient flows into them (kernels skip that convolution).
      const ahead = runConvLstm(forward, frames, false, { inputGradient: false });
      const behind = runConvLstm(backward, frames, true, { inputGradient: false });
      // Both directions side by side per frame, frames stacked into the batch for the decoder.
      const asBatch = (states: tf.Tensor4D[]): tf.Tensor4D => tf.reshape(sequenceOf(states), [b * k, h, w, config.hidden]);
      let features = tf.concat([asBatch(ahead), asBatch(behind)], 3);
      if (dropoutSeed !== null && config.dropout > 0) features = tf.dropout(features, config.dropout, undefined, dropoutSeed) as tf.Tensor4D;
      const decoded = conv2d(features, decode, 'relu');
      return tf.reshape(conv2d(decoded, output), [b, k, h, w, 1]);
    });
  }

  return {
    kind: 'm3',
    config,
    params,
    receptiveRadius: (steps) =>
      receptiveFieldRadius(
        [
          { kind: 'convlstm', size: config.kernel },
          { kind: 'conv', size: config.kernel },
          { kind: 'conv', size: 1 },
        ],
        steps,
      ),
    trainStep(windows, labels, rng = trainRng) {
      checkSequence(windows, 'M3 training windows', 1);
      checkSameShape(windows, labels, 'M3 training windows', 'M3 labels');
      const seed = opSeed(rng);
      return optimiseStep(optimizer, params, () => binaryCrossEntropyWithLogits(logits(windows, seed), labels, config.positiveWeight));
    },
    setLearningRate(rate) {
      setLearningRate(optimizer, rate);
    },
    predict(windows) {
      checkSequence(windows, 'M3 input windows', 1);
      // Corrected for the positive weight, so the paper's threshold 0.5 (III.G) keeps its meaning;
      // uncorrected, w = 20 fired at p = 1/21 and flooded detection with false positives.
      return tf.tidy(() => weightCorrectedSigmoid(logits(windows, null), config.positiveWeight));
    },
    dispose: () => disposeNetwork(optimizer, params),
  };
}
