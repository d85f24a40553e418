import { createRng } from '@mitosis/core';
import type { Volume } from '@mitosis/volume';
import { resolveSynthOptions } from './options';
import type { BitDepth, ResolvedSynthOptions, SynthOptions } from './options';
import { renderVideo } from './render';
import { simulateCells } from './simulate';
import type { MitosisAnnotation, SyntheticCell, SyntheticEvent } from './simulate';

/** A synthetic phase-contrast video and its exact ground truth. */
export interface SyntheticVideo {
  /** Frame-major grey levels, 8- or 16-bit as `bitDepth` says. */
  readonly volume: Volume<Uint8Array | Uint16Array>;
  readonly bitDepth: BitDepth;
  /** One annotation per mitosis, sorted by frame: where and when the daughters separate. */
  readonly mitoses: readonly MitosisAnnotation[];
  /** Every simulated event (mitoses and distractors), sorted by start frame. */
  readonly events: readonly SyntheticEvent[];
  /** Every cell in every frame, as drawn (ground truth of the normal-cell map). */
  readonly cells: readonly SyntheticCell[];
  /** The options with their defaults filled in. */
  readonly options: ResolvedSynthOptions;
}

/**
 * Simulates a population of cells and renders it as a phase-contrast time-lapse video: the test
 * bed of M1 (normal-cell map), M2 (event lengths -> recommended k) and M3 (mitosis detector).
 * Deterministic for `options.seed`; see {@link SynthOptions} for every option and its default.
 * Throws InvalidInputError on a bad option.
 */
export function generateSyntheticVideo(options: SynthOptions = {}): SyntheticVideo {
  const o = resolveSynthOptions(options);
  // One stream per concern: the noise level, say, changes no cell and no event.
  const root = createRng(o.seed);
  const population = root.fork();
  const background = root.fork();
  const texture = root.fork();
  const flicker = root.fork();
  const noise = root.fork();
  // Forked after the others, so videos without a moving gradient keep their streams.
  const illumination = root.fork();
  const simulation = simulateCells(o, population);
  const volume = renderVideo(o, simulation.drawings, { background, texture, flicker, noise, illumination });
  return {
    volume,
    bitDepth: o.bitDepth,
    mitoses: simulation.mitoses,
    events: simulation.events,
    cells: simulation.cells,
    options: o,
  };
}
