import type { Environment } from '@mitosis/service-kit';

/** How long the gateway waits on the object store, and how long an uncommitted upload's staging may live. */
export interface StoreLimits {
  /** MITOSIS_STORE_TIMEOUT_MS: longest wait for one answer of the store; default 10 s. */
  readonly storeTimeoutMs: number;
  /** MITOSIS_UPLOAD_STAGING_MAX_AGE_S, in ms: staging older than this is removed by the janitor; default 1 hour. */
  readonly stagingMaxAgeMs: number;
}

export const DEFAULT_STORE_TIMEOUT_MS = 10_000;
export const DEFAULT_STAGING_MAX_AGE_MS = 60 * 60_000;

export const STORE_TIMEOUT_ENV = 'MITOSIS_STORE_TIMEOUT_MS';
export const STAGING_MAX_AGE_ENV = 'MITOSIS_UPLOAD_STAGING_MAX_AGE_S';

const wholeNumber = (env: Environment, variable: string, fallback: number, problems: string[]): number => {
  const text = env[variable]?.trim();
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (/^\d+$/.test(text) && Number.isSafeInteger(value) && value >= 1) return value;
  problems.push(`${variable} "${text}" must be a whole number >= 1`);
  return fallback;
};

/** The store limits from the environment; a bad value goes to `problems`, naming its variable. */
export function readStoreLimits(env: Environment, problems: string[]): StoreLimits {
  return {
    storeTimeoutMs: wholeNumber(env, STORE_TIMEOUT_ENV, DEFAULT_STORE_TIMEOUT_MS, problems),
    stagingMaxAgeMs: wholeNumber(env, STAGING_MAX_AGE_ENV, DEFAULT_STAGING_MAX_AGE_MS / 1000, problems) * 1000,
  };
}
