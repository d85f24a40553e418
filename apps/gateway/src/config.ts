import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import type { Environment, GatewayEnvName, ServiceConfig } from '@mitosis/service-kit';
import { loadConfig } from '@mitosis/service-kit';
import type { WorkLimits } from '@mitosis/stages';
import type { StoreLimits } from './store-limits-config';
import { readStoreLimits } from './store-limits-config';
import { readWorkLimits } from './work-limits-config';

/** The services' config (service-kit's loadConfig) plus what only the gateway reads. */
export interface GatewayConfig extends ServiceConfig, StoreLimits {
  /** MITOSIS_UPLOAD_DIR: local folder where an upload is staged until verified; default the OS temp folder. */
  readonly uploadDir: string;
  /** MITOSIS_MAX_M1_ITERATIONS, MITOSIS_MAX_CROP, ...: the most work one request may ask for; default @mitosis/stages' WORK_LIMITS. */
  readonly workLimits: WorkLimits;
}

const UPLOAD_DIR: GatewayEnvName = 'MITOSIS_UPLOAD_DIR';

/**
 * Every MITOSIS_* variable the gateway reads, checked at once: service-kit's (NATS, store,
 * prefix, gRPC address, auth tokens, TLS, upload limit, log level...), MITOSIS_UPLOAD_DIR, the
 * work limits (MITOSIS_MAX_*), MITOSIS_STORE_TIMEOUT_MS and MITOSIS_UPLOAD_STAGING_MAX_AGE_S.
 * All problems in one InvalidInputError, each naming its variable.
 */
export function loadGatewayConfig(env: Environment): GatewayConfig {
  const problems: string[] = [];
  const uploadDir = env[UPLOAD_DIR]?.trim() || tmpdir();
  if (!path.isAbsolute(uploadDir)) problems.push(`${UPLOAD_DIR} "${uploadDir}" must be an absolute path`);
  const workLimits = readWorkLimits(env, problems);
  const storeLimits = readStoreLimits(env, problems);
  let config: ServiceConfig | undefined;
  try {
    config = loadConfig(env);
  } catch (error: unknown) {
    problems.unshift(error instanceof Error ? error.message.replace(/^configuration: /, '') : String(error));
  }
  if (problems.length > 0 || config === undefined) throw new InvalidInputError(`configuration: ${problems.join('; ')}`);
  return { ...config, uploadDir, workLimits, ...storeLimits };
}
