import { InvalidInputError } from '@mitosis/core';

/**
 * The most work one request may ask for, beside METHOD_DEFAULTS: the gateway checks every amount
 * a client sets against it (the operator may change each, see the gateway's README) and the CLI
 * checks its options against the same numbers. Each is far above any real use and far below what
 * a wrapped uint32 (4294967295, a JS client's -1) asks for.
 */
export const WORK_LIMITS = {
  /** M1 training updates (default 400). */
  m1Iterations: 100_000,
  /** M2 training updates per run (default 300). */
  m2Iterations: 100_000,
  /** M3 training updates (default 800; the paper's 6000). */
  m3Iterations: 100_000,
  /** M2 trainings whose median k is recommended (default 3). */
  m2Runs: 16,
  /** Number n of M1 feature maps (paper: 6). */
  featureMaps: 64,
  /** Side of any square training crop, M1, M2 or M3, in downscaled pixels. */
  crop: 4096,
  /** Sequences (M2) or windows (M3) per training update. */
  batch: 256,
  /** Frames per M2 training sequence (default 16). */
  sequenceLength: 1024,
  /** ConvLSTM sequence length k of M3. */
  k: 1024,
} as const;

export type WorkLimitName = keyof typeof WORK_LIMITS;
export type WorkLimits = Readonly<Record<WorkLimitName, number>>;

export const WORK_LIMIT_NAMES = Object.keys(WORK_LIMITS) as readonly WorkLimitName[];

/** MITOSIS_MAX_M1_ITERATIONS, MITOSIS_MAX_CROP, ...: the variable an operator sets each work limit with. */
export const workLimitEnvName = (name: WorkLimitName): string => `MITOSIS_MAX_${name.replace(/([A-Z])/g, '_$1').toUpperCase()}`;

/** Every work-limit variable, in the order of WORK_LIMITS. */
export const WORK_LIMIT_ENV_NAMES: readonly string[] = WORK_LIMIT_NAMES.map(workLimitEnvName);

/** `value` when it is at most `limit`; otherwise an InvalidInputError naming `field`, the value and the limit. */
export function checkWorkLimit(value: number, field: string, limit: number): number {
  if (value > limit) throw new InvalidInputError(`${field} ${value} is above the limit of ${limit}`);
  return value;
}
