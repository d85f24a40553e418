import { InvalidInputError } from '@mitosis/core';
import { eventLengthScale, lowestDuration } from './durations';

/** Grey levels of the written video: 8-bit (0..255) or 16-bit (0..65535). */
export type BitDepth = 8 | 16;

/**
 * How many frames an event keeps a cell out of its normal appearance: a normal law of this mean
 * and standard deviation, rounded to whole frames and truncated to [min, max] (values outside are
 * redrawn, so the bounds do not pile up probability the way clipping would).
 */
export interface DurationDistribution {
  readonly mean: number;
  readonly sd: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Everything a synthetic video depends on. Every field is optional; the defaults (in brackets)
 * give a 120-frame 320x256 video with a few dozen mitoses whose rounding lasts about 7 frames,
 * close to the paper's Table I (p75 of event lengths 8).
 *
 * Rates are hazards per cell per frame: each frame each eligible normal cell starts that event
 * with this probability. Sizes and speeds are in original pixels, frames in frames.
 */
export interface SynthOptions {
  /** Seed of every random choice [1]: the same options give the same bytes. */
  readonly seed?: number;
  /** Number of frames [120]. */
  readonly frames?: number;
  /** Frame width in pixels [320]. The CLI's `--size` is WIDTHxHEIGHT, like image tools. */
  readonly width?: number;
  /** Frame height in pixels [256]. */
  readonly height?: number;
  /** Cells in the first frame [one per 3400 px^2: 24 at 320x256]. */
  readonly initialCells?: number;
  /**
   * Equivalent radius of a new normal cell, sqrt(long x short semi-axis) [12]: after the method's
   * downscale by 4 a cell keeps about 3 px of radius (the default shrinks to an eighth of the
   * shorter side in frames under 96 px). Cells are elongated 2:1 to 3.6:1 around it.
   */
  readonly cellRadius?: number;
  /** Root-mean-square speed of a free cell, px per frame [1.2]. */
  readonly speed?: number;
  /** Persistence of the random walk, 0 (Brownian) to <1 (straight runs) [0.85]. */
  readonly persistence?: number;
  /** Relative growth of a cell's radius per frame [0.004], capped at 1.5 x cellRadius. */
  readonly growth?: number;
  /** Frames after its birth before a daughter may divide again [20]. */
  readonly minCycleFrames?: number;
  /** Hazard of mitosis per cell per frame [0.008]. */
  readonly mitosisRate?: number;
  /** Frames a dividing cell is out of its normal appearance, rounding to the daughters flattening [mean 7, sd 2, 3..16]. */
  readonly mitosisDuration?: Partial<DurationDistribution>;
  /** Hazard of death per cell per frame [0.0015]. */
  readonly deathRate?: number;
  /** Frames a dying cell shrinks and brightens before it disappears [mean 5, sd 1.5, 2..10]. */
  readonly deathDuration?: Partial<DurationDistribution>;
  /** Hazard of a transient round-up without division (a distractor) per cell per frame [0.003]. */
  readonly transientRate?: number;
  /** Frames a transient round-up lasts [mean 4, sd 1.5, 2..10]. */
  readonly transientDuration?: Partial<DurationDistribution>;
  /** Expected number of cells entering through the borders per frame [0.05]. */
  readonly entryRate?: number;
  /** Standard deviation of the pixel noise, as a fraction of the grey range [0.012]. */
  readonly noise?: number;
  /** Amplitude of the smooth illumination unevenness, fraction of the grey range [0.05]. */
  readonly unevenness?: number;
  /** 8 or 16 [8]. */
  readonly bitDepth?: BitDepth;
  /**
   * Fraction of the frame the first frame's cells cover, counting each as a disc of `cellRadius`
   * [unset: `initialCells` applies]. Sets `initialCells` to coverage x area / (pi cellRadius^2),
   * placed by a relaxation that lets them touch without piling up: 0.5 at 480x384 with radius 10
   * gives about 290 touching cells. Give it or `initialCells`, not two that disagree; null is unset.
   */
  readonly coverage?: number | null;
  /**
   * Crowding, 0 to 1 [1 with `coverage`, else 0]: above 0, cells collide as ellipses rather than
   * circles, several times per frame, so touching cells press without overlapping much; a cell
   * moving into a neighbour loses (at 1: reverses half of) that part of its velocity (contact
   * inhibition of locomotion), pressed cells align with their neighbours and shorten, and a cell
   * without room stops growing. 0 keeps the sparse videos' soft circular repulsion.
   */
  readonly contactInhibition?: number;
  /**
   * Target p75 of all event lengths, frames [unset: the three distributions as given]. Scales
   * the mitosis, death and transient distributions (mean, sd, min, max) by one common factor,
   * chosen so that the mixture of the three, weighted by their rates, has this 75th percentile:
   * the `durations.all.p75` of truth.json lands within about a frame of it on a long video.
   * null is unset.
   */
  readonly eventLengthP75?: number | null;
  /** Amplitude of the cells' phase signal (bodies, halos, rounded discs) relative to today's look [1]. */
  readonly contrast?: number;
  /**
   * Stage drift, px per frame [0, 0]: the whole field (cells and debris, not the illumination)
   * translates by this much each frame. Positions in the truth are where things are in the frame.
   */
  readonly drift?: { readonly x?: number; readonly y?: number };
  /** Lamp flicker: innovation sd of the AR(1) global level, fraction of the grey range [0.002]. */
  readonly flicker?: number;
  /**
   * Illumination ramp over the video: the light, so every grey level, is multiplied by
   * 1 + ramp x (t - 1) / (frames - 1) [0]; -0.3 dims the last frame by 30%.
   */
  readonly illuminationRamp?: number;
  /**
   * A moving uneven illumination: a linear gradient of this relative amplitude (the light is
   * 1 +- this at the frame's far corners) whose direction turns half a turn over the video [0].
   */
  readonly illuminationGradient?: number;
}

/** The options with every default filled in: what a video was made from (written to truth.json). */
export interface ResolvedSynthOptions {
  readonly seed: number;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly initialCells: number;
  readonly cellRadius: number;
  readonly speed: number;
  readonly persistence: number;
  readonly growth: number;
  readonly minCycleFrames: number;
  readonly mitosisRate: number;
  readonly mitosisDuration: DurationDistribution;
  readonly deathRate: number;
  readonly deathDuration: DurationDistribution;
  readonly transientRate: number;
  readonly transientDuration: DurationDistribution;
  readonly entryRate: number;
  readonly noise: number;
  readonly unevenness: number;
  readonly bitDepth: BitDepth;
  readonly coverage: number | null;
  readonly contactInhibition: number;
  readonly eventLengthP75: number | null;
  /**
   * The factor `eventLengthP75` chose, 1 without it: the durations drawn are those above with
   * mean, sd, min and max scaled by it ({@link scaledDuration}).
   */
  readonly eventLengthScale: number;
  readonly contrast: number;
  readonly drift: { readonly x: number; readonly y: number };
  readonly flicker: number;
  readonly illuminationRamp: number;
  readonly illuminationGradient: number;
}

export const defaultMitosisDuration: DurationDistribution = { mean: 7, sd: 2, min: 3, max: 16 };
export const defaultDeathDuration: DurationDistribution = { mean: 5, sd: 1.5, min: 2, max: 10 };
export const defaultTransientDuration: DurationDistribution = { mean: 4, sd: 1.5, min: 2, max: 10 };

/**
 * The scalar defaults of {@link SynthOptions}, one source for the library and the CLI's help.
 * `initialCells` (one cell per 3400 px^2) and `cellRadius` (12, at most an eighth of the shorter
 * side) depend on the frame size and are not listed.
 */
export const synthDefaults = {
  seed: 1,
  frames: 120,
  width: 320,
  height: 256,
  speed: 1.2,
  persistence: 0.85,
  growth: 0.004,
  minCycleFrames: 20,
  mitosisRate: 0.008,
  deathRate: 0.0015,
  transientRate: 0.003,
  entryRate: 0.05,
  noise: 0.012,
  unevenness: 0.05,
  bitDepth: 8,
  contrast: 1,
  flicker: 0.002,
  illuminationRamp: 0,
  illuminationGradient: 0,
} as const;

/** Area per initial cell in px^2 when `initialCells` is not given. */
const areaPerInitialCell = 3400;

/**
 * How an option is called in error messages: its SynthOptions key by default ('mitosisRate',
 * 'mitosisDuration.min'); the CLI passes its flag names.
 */
export type OptionLabel = (option: string) => string;

/** Fills in the defaults and checks every option; a bad one throws InvalidInputError naming it. */
export function resolveSynthOptions(options: SynthOptions = {}, label: OptionLabel = (option) => option): ResolvedSynthOptions {
  const check = (name: string, value: number, ok: boolean, rule: string): number => {
    if (!Number.isFinite(value) || !ok) {
      throw new InvalidInputError(`synthetic video: ${label(name)} must be ${rule}, got ${String(value)}`);
    }
    return value;
  };
  const integer = (name: string, value: number, min: number, max: number): number =>
    check(name, value, Number.isInteger(value) && value >= min && value <= max, `an integer in [${min}, ${max}]`);
  const inRange = (name: string, value: number, min: number, max: number): number => check(name, value, value >= min && value <= max, `a number in [${min}, ${max}]`);
  const rate = (name: string, value: number): number => inRange(name, value, 0, 1);
  const duration = (name: string, given: Partial<DurationDistribution> | undefined, defaults: DurationDistribution, lowest: number, frames: number): DurationDistribution => {
    // An event must fit between a normal first frame and a normal frame after it; the default
    // bounds shrink to fit a short video, bounds the caller gives are checked.
    const longest = Math.max(lowest, frames - 2);
    const max = given?.max ?? Math.min(defaults.max, longest);
    const min = given?.min ?? Math.min(defaults.min, max);
    const d = { ...defaults, ...given, min, max };
    integer(`${name}.min`, d.min, lowest, longest);
    integer(`${name}.max`, d.max, d.min, longest);
    check(`${name}.mean`, d.mean, d.mean > 0, 'a positive number');
    check(`${name}.sd`, d.sd, d.sd >= 0, 'a non-negative number');
    return { mean: d.mean, sd: d.sd, min: d.min, max: d.max };
  };

  const D = synthDefaults;
  const frames = integer('frames', options.frames ?? D.frames, 3, 100_000);
  const width = integer('width', options.width ?? D.width, 16, 16_384);
  const height = integer('height', options.height ?? D.height, 16, 16_384);
  if (frames * width * height > 2 ** 31 - 1) {
    throw new InvalidInputError(`synthetic video: ${frames} frames of ${width}x${height} exceed 2^31 voxels`);
  }
  const shorter = Math.min(width, height);
  const persistence = options.persistence ?? D.persistence;
  const bitDepth: number = options.bitDepth ?? D.bitDepth;
  const cellRadius = inRange('cellRadius', options.cellRadius ?? Math.min(12, shorter / 8), 2, shorter / 4);
  const coverage = options.coverage === undefined || options.coverage === null ? null : inRange('coverage', options.coverage, 0.01, 0.8);
  const byCoverage = coverage === null ? undefined : Math.max(1, Math.round((coverage * width * height) / (Math.PI * cellRadius * cellRadius)));
  if (byCoverage !== undefined && options.initialCells !== undefined && options.initialCells !== byCoverage) {
    throw new InvalidInputError(
      `synthetic video: give ${label('initialCells')} or ${label('coverage')}, not both (${label('coverage')} ${String(coverage)} means ${byCoverage} cells, ${label('initialCells')} says ${String(options.initialCells)})`,
    );
  }
  const driftX = inRange('drift.x', options.drift?.x ?? 0, -4, 4);
  const driftY = inRange('drift.y', options.drift?.y ?? 0, -4, 4);
  const resolved: ResolvedSynthOptions = {
    seed: integer('seed', options.seed ?? D.seed, 0, 2 ** 32 - 1),
    frames,
    width,
    height,
    initialCells: integer('initialCells', options.initialCells ?? byCoverage ?? Math.max(1, Math.round((width * height) / areaPerInitialCell)), 0, 100_000),
    cellRadius,
    speed: inRange('speed', options.speed ?? D.speed, 0, cellRadius),
    persistence: check('persistence', persistence, persistence >= 0 && persistence < 1, 'a number in [0, 1)'),
    growth: inRange('growth', options.growth ?? D.growth, 0, 0.1),
    minCycleFrames: integer('minCycleFrames', options.minCycleFrames ?? D.minCycleFrames, 0, 100_000),
    mitosisRate: rate('mitosisRate', options.mitosisRate ?? D.mitosisRate),
    mitosisDuration: duration('mitosisDuration', options.mitosisDuration, defaultMitosisDuration, 2, frames),
    deathRate: rate('deathRate', options.deathRate ?? D.deathRate),
    deathDuration: duration('deathDuration', options.deathDuration, defaultDeathDuration, 1, frames),
    transientRate: rate('transientRate', options.transientRate ?? D.transientRate),
    transientDuration: duration('transientDuration', options.transientDuration, defaultTransientDuration, 1, frames),
    entryRate: inRange('entryRate', options.entryRate ?? D.entryRate, 0, 10),
    noise: inRange('noise', options.noise ?? D.noise, 0, 0.5),
    unevenness: inRange('unevenness', options.unevenness ?? D.unevenness, 0, 0.3),
    bitDepth: check('bitDepth', bitDepth, bitDepth === 8 || bitDepth === 16, '8 or 16') as BitDepth,
    coverage,
    contactInhibition: inRange('contactInhibition', options.contactInhibition ?? (coverage === null ? 0 : 1), 0, 1),
    eventLengthP75: options.eventLengthP75 === undefined || options.eventLengthP75 === null ? null : inRange('eventLengthP75', options.eventLengthP75, 2, 40),
    eventLengthScale: 1,
    contrast: inRange('contrast', options.contrast ?? D.contrast, 0.1, 3),
    drift: { x: driftX, y: driftY },
    flicker: inRange('flicker', options.flicker ?? D.flicker, 0, 0.05),
    illuminationRamp: inRange('illuminationRamp', options.illuminationRamp ?? D.illuminationRamp, -0.9, 2),
    illuminationGradient: inRange('illuminationGradient', options.illuminationGradient ?? D.illuminationGradient, 0, 0.9),
  };
  // The field of view sweeps a dish as long as the drift carries it; that dish is what is simulated.
  const dishWidth = width + Math.ceil(Math.abs(driftX) * (frames - 1));
  const dishHeight = height + Math.ceil(Math.abs(driftY) * (frames - 1));
  if (dishWidth > 4 * width || dishHeight > 4 * height) {
    throw new InvalidInputError(
      `synthetic video: ${label('drift.x')}, ${label('drift.y')} carry the view ${dishWidth - width}x${dishHeight - height} px over ${frames} frames, more than 3 frame sizes`,
    );
  }
  const total = resolved.mitosisRate + resolved.deathRate + resolved.transientRate;
  if (total > 1) {
    throw new InvalidInputError(`synthetic video: ${label('mitosisRate')} + ${label('deathRate')} + ${label('transientRate')} must be at most 1, got ${total}`);
  }
  if (resolved.eventLengthP75 === null) return resolved;
  const target = resolved.eventLengthP75;
  // Weights: the share of events of each kind. A mitosis needs minCycleFrames since the cell's
  // birth, so a cell is eligible for it about 1 / (1 + minCycleFrames x rate) of the time.
  const scale = eventLengthScale(
    [
      { law: resolved.mitosisDuration, weight: resolved.mitosisRate / (1 + resolved.minCycleFrames * resolved.mitosisRate), lowest: lowestDuration.mitosis },
      { law: resolved.deathDuration, weight: resolved.deathRate, lowest: lowestDuration.death },
      { law: resolved.transientDuration, weight: resolved.transientRate, lowest: lowestDuration['transient-rounding'] },
    ],
    target,
    Math.max(2, frames - 2),
  );
  if (scale === undefined) {
    throw new InvalidInputError(`synthetic video: ${label('eventLengthP75')} ${target} cannot be reached by scaling the event durations within ${frames} frames`);
  }
  return { ...resolved, eventLengthScale: scale };
}
