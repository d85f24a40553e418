import { InvalidInputError } from '@mitosis/core';
import { convLstmRadius } from './conv-lstm';

/** One spatial layer of a network as far as its receptive field is concerned. */
export type LayerSpec = { readonly kind: 'conv'; readonly size: number } | { readonly kind: 'convlstm'; readonly size: number };

/**
 * Radius (pixels) of the input region an output pixel depends on, for a chain of stride-1
 * 'same' layers over a sequence of `steps` frames:
 *   radius = sum over conv layers of (k-1)/2  +  sum over ConvLSTM layers of steps * (k-1)/2
 * A ConvLSTM widens its field by (k-1)/2 at every step because h_t is convolved into h_{t+1}
 * (see `convLstmRadius`); parallel branches that read the same input (M3's forward and backward
 * units) count once, as the wider of the two, which for equal kernels is the same number.
 * A tile with at least this margin around its centre computes the centre exactly as the whole
 * frame does.
 */
export function receptiveFieldRadius(layers: readonly LayerSpec[], steps: number): number {
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidInputError(`sequence length must be a positive integer, got ${steps}`);
  let radius = 0;
  for (const layer of layers) {
    radius += layer.kind === 'conv' ? (layer.size - 1) / 2 : convLstmRadius(layer.size, steps);
  }
  return radius;
}
