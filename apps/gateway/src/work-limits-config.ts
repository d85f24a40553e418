import type { Environment } from '@mitosis/service-kit';
import type { WorkLimitName, WorkLimits } from '@mitosis/stages';
import { WORK_LIMITS, WORK_LIMIT_NAMES, workLimitEnvName } from '@mitosis/stages';

/**
 * The work limits with the operator's MITOSIS_MAX_* overrides over @mitosis/stages' WORK_LIMITS:
 * each a whole number >= 1; a bad value goes to `problems`, naming its variable, and leaves the default.
 */
export function readWorkLimits(env: Environment, problems: string[]): WorkLimits {
  const limits: Record<WorkLimitName, number> = { ...WORK_LIMITS };
  for (const name of WORK_LIMIT_NAMES) {
    const variable = workLimitEnvName(name);
    const text = env[variable]?.trim();
    if (text === undefined || text === '') continue;
    const value = Number(text);
    if (/^\d+$/.test(text) && Number.isSafeInteger(value) && value >= 1) limits[name] = value;
    else problems.push(`${variable} "${text}" must be a whole number >= 1`);
  }
  return limits;
}
