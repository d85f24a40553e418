import { InvalidInputError } from '@mitosis/core';

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
  const inRange = (name: string, value: number, min: number, max: number): number =>
    check(name, value, value >= min && value <= max, `a number in [${min}, ${max}]`);
  const rate = (name: string, value: number): number => inRange(name, value, 0, 1);
  const duration = (
    name: string,
    given: Partial<DurationDistribution> | undefined,
    defaults: DurationDistribution,
    lowest: number,
    frames: number,
  ): DurationDistribution => {
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
  const resolved: ResolvedSynthOptions = {
    seed: integer('seed', options.seed ?? D.seed, 0, 2 ** 32 - 1),
    frames,
    width,
    height,
    initialCells: integer('initialCells', options.initialCells ?? Math.max(1, Math.round((width * height) / areaPerInitialCell)), 0, 100_000),
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
  };
  const total = resolved.mitosisRate + resolved.deathRate + resolved.transientRate;
  if (total > 1) {
    throw new InvalidInputError(
      `synthetic video: ${label('mitosisRate')} + ${label('deathRate')} + ${label('transientRate')} must be at most 1, got ${total}`,
    );
  }
  return resolved;
}
