import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';

export interface TileOptions {
  /** Side (pixels) of the square centre each tile contributes to the output. */
  tile: number;
  /**
   * Context (pixels) read around each centre: at least the network's receptive radius for the
   * sequence length (`model.receptiveRadius(t)`), or the stitched output differs from the whole
   * frame near tile seams.
   */
  margin: number;
}

/**
 * Runs `predictFn` over overlapping spatial tiles of input [b, t, h, w, c] and stitches the tile
 * centres into one [b, t, h, w, c'] output. Each tile reads its centre plus `margin` pixels on
 * every side, clipped at the frame border, where the tile's zero padding is then the frame's own
 * (III.H), so with margin >= receptive radius the result equals `predictFn(input)`: it bounds
 * the memory of big frames (the wasm heap is 4 GiB) without changing the answer.
 * The caller disposes the result; `predictFn` must return a new tensor of the tile's size.
 */
export function predictTiled(predictFn: (tile: tf.Tensor5D) => tf.Tensor5D, input: tf.Tensor5D, options: TileOptions): tf.Tensor5D {
  if (input.rank !== 5 || input.size === 0) {
    throw new InvalidInputError(`tiled input must be a non-empty [batch, time, height, width, channels] tensor, got shape [${input.shape.join(', ')}]`);
  }
  const { tile, margin } = options;
  if (!Number.isInteger(tile) || tile < 1) throw new InvalidInputError(`tile must be a positive integer, got ${tile}`);
  if (!Number.isInteger(margin) || margin < 0) throw new InvalidInputError(`margin must be a non-negative integer, got ${margin}`);
  const [b, t, height, width, channels] = input.shape;
  if (tile >= height && tile >= width) return predictFn(input);

  // Slicing and joining go through a [b*t, h, w, c] view: rank-5 slices are copied element by
  // element by tfjs's wasm and cpu backends.
  const frames = tf.reshape(input, [b * t, height, width, channels]) as tf.Tensor4D;
  const rows: tf.Tensor4D[] = [];
  for (let y0 = 0; y0 < height; y0 += tile) {
    const y1 = Math.min(height, y0 + tile);
    const cols: tf.Tensor4D[] = [];
    for (let x0 = 0; x0 < width; x0 += tile) {
      const x1 = Math.min(width, x0 + tile);
      // One tile at a time inside its own scope, so only its centre outlives it.
      cols.push(
        tf.tidy(() => {
          const top = Math.max(0, y0 - margin);
          const left = Math.max(0, x0 - margin);
          const bottom = Math.min(height, y1 + margin);
          const right = Math.min(width, x1 + margin);
          const patch = tf.slice(frames, [0, top, left, 0], [b * t, bottom - top, right - left, channels]);
          const out = predictFn(tf.reshape(patch, [b, t, bottom - top, right - left, channels]));
          if (out.rank !== 5 || out.shape[0] !== b || out.shape[1] !== t || out.shape[2] !== bottom - top || out.shape[3] !== right - left) {
            throw new InvalidInputError(
              `tiled prediction must keep [batch, time, height, width] of its tile: tile [${b}, ${t}, ${bottom - top}, ${right - left}, ${channels}] gave [${out.shape.join(', ')}]`,
            );
          }
          const outChannels = out.shape[4];
          const outFrames = tf.reshape(out, [b * t, bottom - top, right - left, outChannels]) as tf.Tensor4D;
          return tf.slice(outFrames, [0, y0 - top, x0 - left, 0], [b * t, y1 - y0, x1 - x0, outChannels]);
        }),
      );
    }
    rows.push(concatAndDispose(cols, 2));
  }
  frames.dispose();
  const stitched = concatAndDispose(rows, 1);
  const result = tf.reshape(stitched, [b, t, height, width, stitched.shape[3]]) as tf.Tensor5D;
  stitched.dispose();
  return result;
}

function concatAndDispose(parts: tf.Tensor4D[], axis: number): tf.Tensor4D {
  const [first] = parts;
  if (parts.length === 1 && first !== undefined) return first;
  const joined = tf.concat(parts, axis);
  tf.dispose(parts);
  return joined;
}
