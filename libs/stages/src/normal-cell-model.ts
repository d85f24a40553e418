import * as tf from '@tensorflow/tfjs';
import type { ProgressSink } from '@mitosis/core';
import { InvalidInputError, createRng, silentProgress } from '@mitosis/core';
import type { M1Model, M1Options } from '@mitosis/models';
import { createM1 } from '@mitosis/models';
import type { Volume } from '@mitosis/volume';
import { applyAugmentation, cropVolume } from '@mitosis/volume';
import { randomAugmentation, randomCrop } from './sampling';

export interface NormalCellTrainingOptions {
  /** RMSProp updates. Default 400. */
  readonly iterations?: number;
  /** Side of the square crops (the network is convolutional; crops keep the wasm heap small). Default 96. */
  readonly crop?: number;
  /** Frames per update. Default 4. */
  readonly batch?: number;
  readonly seed?: number;
  readonly model?: M1Options;
  readonly onProgress?: ProgressSink;
}

/** M1 training (SPEC step 2): random augmented crops of random frames, reconstruction loss (eq. 10). */
export function trainNormalCellModel(frames: Volume<Float32Array>, options: NormalCellTrainingOptions = {}): { model: M1Model; losses: number[] } {
  if (frames.frames === 0) throw new InvalidInputError('M1 needs at least one frame');
  const iterations = options.iterations ?? 400;
  const batch = options.batch ?? 4;
  const crop = options.crop ?? 96;
  const seed = options.seed ?? 1;
  const rng = createRng(seed);
  const progress = options.onProgress ?? silentProgress;
  const model = createM1({ seed, ...options.model });
  const losses: number[] = [];
  try {
    for (let iteration = 0; iteration < iterations; iteration++) {
      const parts: Volume<Float32Array>[] = [];
      for (let b = 0; b < batch; b++) {
        const box = randomCrop(rng, frames, { frames: 1, height: crop, width: crop });
        const square = box.height === box.width;
        parts.push(applyAugmentation(cropVolume(frames, box), randomAugmentation(rng, square)));
      }
      const { height, width } = parts[0] ?? { height: 0, width: 0 };
      const data = new Float32Array(batch * height * width);
      parts.forEach((p, b) => data.set(p.data, b * height * width));
      const x = tf.tensor4d(data, [batch, height, width, 1]);
      try {
        losses.push(model.trainStep(x));
      } finally {
        x.dispose();
      }
      progress({ step: 'm1.train', done: iteration + 1, total: iterations, detail: `loss ${losses[losses.length - 1]?.toFixed(4)}` });
    }
  } catch (error: unknown) {
    model.dispose();
    throw error;
  }
  return { model, losses };
}

/**
 * M1 inference: the index of the winning feature map at every pixel of every frame, frame by
 * frame (whole frames: the encoder is three convolutions, light enough for 259x344).
 */
export function extractFeatureMaps(model: M1Model, frames: Volume<Float32Array>, onProgress: ProgressSink = silentProgress): Volume<Uint8Array> {
  const { height, width } = frames;
  const plane = height * width;
  const out = new Uint8Array(frames.data.length);
  for (let t = 0; t < frames.frames; t++) {
    const x = tf.tensor4d(frames.data.subarray(t * plane, (t + 1) * plane), [1, height, width, 1]);
    const maps = model.featureMaps(x);
    try {
      const winner = maps.winner.dataSync();
      for (let i = 0; i < plane; i++) out[t * plane + i] = winner[i] ?? 0;
    } finally {
      x.dispose();
      maps.winner.dispose();
      maps.activation.dispose();
    }
    onProgress({ step: 'm1.maps', done: t + 1, total: frames.frames });
  }
  return { data: out, frames: frames.frames, height, width };
}
