import * as tf from '@tensorflow/tfjs';
import { createRng } from '@mitosis/core';
import {
  binaryCrossEntropyWithLogits,
  checkSameShape,
  checkSequence,
  conv2d,
  createConv,
  createRmsProp,
  disposeNetwork,
  interiorMask,
  optimiseStep,
  requireOddKernel,
  requirePositiveInt,
  requireSeed,
  requirePositive,
  requireWidths,
  resolveRmsProp,
  setLearningRate,
  weightCorrectedSigmoid,
} from './common';
import type { NetworkBase, NetworkOptions, ParamMap, TrainedConfig, ScheduledTraining } from './common';
import { convLstmStepPacked, createConvLstmCell, framesOf, runConvLstm, sequenceOf } from './conv-lstm';
import { receptiveFieldRadius } from './receptive-field';

/** M2, the unsupervised cell-event predictor (III.D, Fig. 5). */
export interface M2Config extends TrainedConfig {
  /** Hidden channels of the ConvLSTM (paper: 16). */
  hidden: number;
  /** Kernel of every layer but the last 1x1 (paper: 3). */
  kernel: number;
  /** Channels of the two feature convs before the ConvLSTM (the paper does not say; 16 each, ReLU). */
  encoderWidths: number[];
  /** Channels of the 3x3 decoder conv after the ConvLSTM (16, ReLU). */
  decoderWidth: number;
  /**
   * Weight of event voxels (e = 1) in the cross-entropy; 1 is eqs. 11-12. Events are a few
   * percent of the map, so early updates learn "no event anywhere"; a larger weight makes them
   * pull harder, and `predict` corrects its probabilities for it (weightCorrectedSigmoid).
   */
  positiveWeight: number;
}

export type M2Options = NetworkOptions<M2Config>;

export interface M2Model extends NetworkBase<'m2', M2Config>, ScheduledTraining {
  /**
   * One RMSProp update: input the context sequence c [b, t, h, w, 1] (binary normal-cell maps with
   * the artificial events removed), label the removed parts e (same shape); returns the mean
   * cross-entropy BCE(e', e) over the sequence (eqs. 11-12).
   *
   * How this matches the paper's reconstruction loss (eqs. 11-12 with the decoder fixed to the
   * sum y' = c + e', III.B): c is known, so where c = 0 we have y = e and y' = e', and BCE(y', y)
   * is exactly BCE(e', e). Where c = 1 the sum is already y = 1 (as a probability) whatever e' is,
   * so eq. 12 says nothing there; BCE(e', e) additionally asks e' = 0 there, which is what the data
   * says, since a removed part never overlaps the context it was removed from (e = 0 where c = 1).
   *
   * `lossMargin` (default 0) leaves the voxels within that many pixels of the crop's edge out of
   * the loss: there cells leave the crop as they move, vanishing from c without an event label,
   * which on small crops taught M2 that a vanished cell is soon no event (see EventModelTraining).
   */
  trainStep(context: tf.Tensor5D, events: tf.Tensor5D, lossMargin?: number): number;
  /**
   * Event probabilities e' [b, t, h, w, 1] for a sequence of normal-cell maps: at inference the
   * real map sequence y goes in, and e' marks where and when cells leave it (cell events).
   */
  predict(maps: tf.Tensor5D): tf.Tensor5D;
}

export function resolveM2Config(options: M2Options = {}): M2Config {
  const config: M2Config = {
    hidden: options.hidden ?? 16,
    kernel: options.kernel ?? 3,
    encoderWidths: options.encoderWidths ?? [16, 16],
    decoderWidth: options.decoderWidth ?? 16,
    positiveWeight: options.positiveWeight ?? 1,
    seed: options.seed ?? 0,
    optimizer: resolveRmsProp(options.optimizer),
  };
  requirePositiveInt('hidden', config.hidden);
  requireOddKernel('kernel', config.kernel);
  config.encoderWidths = requireWidths('encoderWidths', config.encoderWidths, 2);
  requirePositive('positiveWeight', config.positiveWeight);
  requirePositiveInt('decoderWidth', config.decoderWidth);
  requireSeed(config.seed);
  return config;
}

export function createM2(options: M2Options = {}): M2Model {
  const config = resolveM2Config(options);
  const initRng = createRng(config.seed);
  const params: ParamMap = new Map();
  const [width1, width2] = config.encoderWidths as [number, number];
  const encode1 = createConv(params, 'encode1', config.kernel, 1, width1, initRng);
  const encode2 = createConv(params, 'encode2', config.kernel, width1, width2, initRng);
  const lstm = createConvLstmCell(params, 'lstm', width2, config.hidden, config.kernel, initRng);
  const decode = createConv(params, 'decode', config.kernel, config.hidden, config.decoderWidth, initRng);
  const output = createConv(params, 'output', 1, config.decoderWidth, 1, initRng);
  const optimizer = createRmsProp(config.optimizer);

  function logits(maps: tf.Tensor5D): tf.Tensor5D {
    return tf.tidy(() => {
      const [b, t, h, w] = maps.shape;
      // The feature convs see each frame alone, so all frames go through them as one batch.
      const flat = tf.reshape(maps, [b * t, h, w, 1]) as tf.Tensor4D;
      const features = tf.reshape(conv2d(conv2d(flat, encode1, 'relu'), encode2, 'relu'), [b, t, h, w, width2]) as tf.Tensor5D;
      const hidden = runConvLstm(lstm, framesOf(features));
      const states = tf.reshape(sequenceOf(hidden), [b * t, h, w, config.hidden]) as tf.Tensor4D;
      return tf.reshape(conv2d(conv2d(states, decode, 'relu'), output), [b, t, h, w, 1]);
    });
  }

  return {
    kind: 'm2',
    config,
    params,
    receptiveRadius: (steps) =>
      receptiveFieldRadius(
        [
          { kind: 'conv', size: config.kernel },
          { kind: 'conv', size: config.kernel },
          { kind: 'convlstm', size: config.kernel },
          { kind: 'conv', size: config.kernel },
          { kind: 'conv', size: 1 },
        ],
        steps,
      ),
    trainStep(context, events, lossMargin = 0) {
      checkSequence(context, 'M2 context sequence', 1);
      checkSameShape(context, events, 'M2 context sequence', 'M2 event labels');
      const mask = lossMargin > 0 ? interiorMask(context.shape[2], context.shape[3], lossMargin) : undefined;
      try {
        return optimiseStep(optimizer, params, () => binaryCrossEntropyWithLogits(logits(context), events, config.positiveWeight, mask));
      } finally {
        mask?.dispose();
      }
    },
    setLearningRate(rate) {
      setLearningRate(optimizer, rate);
    },
    predict(maps) {
      checkSequence(maps, 'M2 input maps', 1);
      // Frame by frame, keeping only the ConvLSTM state and the one-channel output of each step:
      // the same values as logits() over the whole sequence, but memory that does not grow with
      // its length (110 frames of 259x344 would not fit the wasm heap otherwise).
      const [b, t, h, w] = maps.shape;
      const frames = tf.tidy(() => framesOf(maps));
      let hc: tf.Tensor4D = tf.zeros([2 * b, h, w, config.hidden]);
      const outputs: tf.Tensor4D[] = [];
      try {
        for (let step = 0; step < t; step++) {
          const frame = frames[step] as tf.Tensor4D;
          const next = tf.tidy(() => convLstmStepPacked(lstm, conv2d(conv2d(frame, encode1, 'relu'), encode2, 'relu'), hc));
          hc.dispose();
          hc = next;
          outputs.push(tf.tidy(() => weightCorrectedSigmoid(conv2d(conv2d(tf.slice(hc, [0, 0, 0, 0], [b, h, w, config.hidden]), decode, 'relu'), output), config.positiveWeight)));
          frame.dispose();
        }
        return tf.tidy(() => sequenceOf(outputs));
      } finally {
        hc.dispose();
        tf.dispose(outputs);
        tf.dispose(frames);
      }
    },
    dispose: () => disposeNetwork(optimizer, params),
  };
}
