import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';
import type { Rng } from '@mitosis/core';
import {
  binaryCrossEntropyWithLogits,
  checkFrames,
  conv2d,
  createConv,
  createRmsProp,
  disposeNetwork,
  networkRngs,
  opSeed,
  optimiseStep,
  requireInRange,
  requireOddKernel,
  requirePositiveInt,
  requireSeed,
  requireWidths,
  resolveRmsProp,
} from './common';
import type { NetworkBase, NetworkOptions, ParamMap, TrainedConfig } from './common';
import { receptiveFieldRadius } from './receptive-field';

/** How training differentiates the winner-take-all step (see `winnerTakeAll`). */
export type M1Gradient = 'straight-through' | 'winner';

/** M1, the unsupervised normal-cell map extractor (III.C, Fig. 4). */
export interface M1Config extends TrainedConfig {
  /** Number n of feature maps of h_t (paper: 6). */
  maps: number;
  /** Kernel of the first two encoder and decoder convs (paper: 5; the third is 1x1). */
  kernel: number;
  /** Channels of the two 5x5 encoder convs (the paper does not say; 16 and 16, ReLU). */
  encoderWidths: number[];
  /** Channels of the two 5x5 decoder convs (16 and 16, ReLU). */
  decoderWidths: number[];
  /** Half-width of the uniform noise added to h_t in training (paper: 0.2). */
  noise: number;
  /** How the winner-take-all step passes gradients in training (see winnerTakeAll). */
  gradient: M1Gradient;
}

export type M1Options = NetworkOptions<M1Config>;

export interface M1FeatureMaps {
  /** Index in [0, n) of the map that wins each pixel, [b, h, w] int32. */
  winner: tf.Tensor3D;
  /** The winning map's softmax value at each pixel (the only non-zero entry of h_t), [b, h, w]. */
  activation: tf.Tensor3D;
}

export interface M1Model extends NetworkBase<'m1', M1Config> {
  /**
   * One RMSProp update on frames [b, h, w, 1] with intensities in [0, 1]; returns the mean
   * cross-entropy between the reconstruction x' and the frame x (eq. 10). The dropped maps and the
   * noise come from `rng`, by default the model's own seeded stream.
   */
  trainStep(frames: tf.Tensor4D, rng?: Rng): number;
  /** The winner-take-all feature maps h_t without dropout or noise (inference). Caller disposes both. */
  featureMaps(frames: tf.Tensor4D): M1FeatureMaps;
  /** The reconstruction x' [b, h, w, 1] from the undisturbed h_t, for inspection. Caller disposes. */
  reconstruct(frames: tf.Tensor4D): tf.Tensor4D;
}

/**
 * The paper's "softmax and max-pooling" over the maps (III.C): each pixel of [b, h, w, n] keeps
 * only its winning map's value, the others become 0 (one active map per pixel).
 *
 * `gradient` says how training sees this step. 'winner' treats the one-hot mask as a constant,
 * so the gradient flows through the kept value only. 'straight-through' (the default, a
 * documented deviation: the paper does not say) keeps the same forward values but passes the
 * gradient to every map as if none had been zeroed: a map that loses everywhere early still
 * learns whether winning somewhere would lower the loss. On our synthetic videos 600 updates
 * gave the paper's picture (interiors, edges, background, blank maps; Fig. 7) this way, while
 * the 'winner' gradient stayed at two maps splitting the illumination after 1500 updates.
 */
export function winnerTakeAll(maps: tf.Tensor4D, gradient: M1Gradient = 'winner'): tf.Tensor4D {
  if (gradient === 'winner') {
    return tf.tidy(() => tf.mul(maps, tf.oneHot(tf.argMax(maps, 3), maps.shape[3]).toFloat()));
  }
  const straightThrough = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = inputs[0] as tf.Tensor;
    const kept = tf.mul(x, tf.oneHot(tf.argMax(x, 3), x.shape[3] ?? 1).toFloat());
    return { value: kept, gradFunc: (dy: tf.Tensor) => [dy] };
  });
  return tf.tidy(() => straightThrough(maps) as tf.Tensor4D);
}

/**
 * The training-time disturbance of h_t [b, h, w, n] (III.C): one random map per sample is
 * dropped entirely, then uniform noise in [-noise, noise] is added to every map, so the decoder
 * cannot rely on any single map nor on exact values. The kept maps are not rescaled: the decoder
 * learns to read any n-1 of the n maps. Inference never calls this.
 */
export function disturbMaps(h: tf.Tensor4D, noise: number, rng: Rng): tf.Tensor4D {
  const [b, height, width, n] = h.shape;
  const keep = new Float32Array(b * n).fill(1);
  for (let s = 0; s < b; s++) keep[s * n + rng.int(n)] = 0;
  const noiseSeed = opSeed(rng);
  return tf.tidy(() => {
    const dropped: tf.Tensor4D = tf.mul(h, tf.tensor4d(keep, [b, 1, 1, n]));
    return noise > 0 ? tf.add(dropped, tf.randomUniform([b, height, width, n], -noise, noise, 'float32', noiseSeed)) : dropped;
  });
}

export function resolveM1Config(options: M1Options = {}): M1Config {
  const config: M1Config = {
    maps: options.maps ?? 6,
    kernel: options.kernel ?? 5,
    encoderWidths: options.encoderWidths ?? [16, 16],
    decoderWidths: options.decoderWidths ?? [16, 16],
    noise: options.noise ?? 0.2,
    gradient: options.gradient ?? 'straight-through',
    seed: options.seed ?? 0,
    optimizer: resolveRmsProp(options.optimizer),
  };
  // At least two maps: one is dropped in every training sample.
  if (requirePositiveInt('maps', config.maps) < 2) throw new InvalidInputError(`maps must be at least 2, got ${config.maps}`);
  requireOddKernel('kernel', config.kernel);
  config.encoderWidths = requireWidths('encoderWidths', config.encoderWidths, 2);
  config.decoderWidths = requireWidths('decoderWidths', config.decoderWidths, 2);
  requireInRange('noise', config.noise, 0, Number.MAX_VALUE);
  if (config.gradient !== 'straight-through' && config.gradient !== 'winner') {
    throw new InvalidInputError(`gradient must be 'straight-through' or 'winner', got ${String(config.gradient)}`);
  }
  requireSeed(config.seed);
  return config;
}

export function createM1(options: M1Options = {}): M1Model {
  const config = resolveM1Config(options);
  const { initRng, trainRng } = networkRngs(config.seed);
  const params: ParamMap = new Map();
  const n = config.maps;
  const [e1, e2] = config.encoderWidths as [number, number];
  const [d1, d2] = config.decoderWidths as [number, number];
  const encode1 = createConv(params, 'encode1', config.kernel, 1, e1, initRng);
  const encode2 = createConv(params, 'encode2', config.kernel, e1, e2, initRng);
  const encode3 = createConv(params, 'encode3', 1, e2, n, initRng);
  const decode1 = createConv(params, 'decode1', config.kernel, n, d1, initRng);
  const decode2 = createConv(params, 'decode2', config.kernel, d1, d2, initRng);
  const decode3 = createConv(params, 'decode3', 1, d2, 1, initRng);
  const optimizer = createRmsProp(config.optimizer);

  /** Softmax over the n maps, [b, h, w, n]. */
  function softmaxMaps(frames: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => tf.softmax(conv2d(conv2d(conv2d(frames, encode1, 'relu'), encode2, 'relu'), encode3)));
  }

  function decodeLogits(h: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => conv2d(conv2d(conv2d(h, decode1, 'relu'), decode2, 'relu'), decode3));
  }

  return {
    kind: 'm1',
    config,
    params,
    // Encoder 5x5, 5x5, 1x1 then decoder 5x5, 5x5, 1x1: the reconstruction's field (frames alone).
    receptiveRadius: () =>
      receptiveFieldRadius(
        [1, 2].flatMap(() => [{ kind: 'conv', size: config.kernel } as const, { kind: 'conv', size: config.kernel } as const, { kind: 'conv', size: 1 } as const]),
        1,
      ),
    trainStep(frames, rng = trainRng) {
      checkFrames(frames, 'M1 training frames', 1);
      return optimiseStep(optimizer, params, () => {
        const h = disturbMaps(winnerTakeAll(softmaxMaps(frames), config.gradient), config.noise, rng);
        return binaryCrossEntropyWithLogits(decodeLogits(h), frames);
      });
    },
    featureMaps(frames) {
      checkFrames(frames, 'M1 input frames', 1);
      return tf.tidy(() => {
        const soft = softmaxMaps(frames);
        return { winner: tf.argMax(soft, 3) as tf.Tensor3D, activation: tf.max(soft, 3) as tf.Tensor3D };
      });
    },
    reconstruct(frames) {
      checkFrames(frames, 'M1 input frames', 1);
      return tf.tidy(() => tf.sigmoid(decodeLogits(winnerTakeAll(softmaxMaps(frames)))));
    },
    dispose: () => disposeNetwork(optimizer, params),
  };
}
