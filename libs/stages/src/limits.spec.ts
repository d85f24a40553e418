import { InvalidInputError } from '@mitosis/core';
import { METHOD_DEFAULTS } from './defaults';
import { WORK_LIMITS, checkWorkLimit } from './limits';

describe('WORK_LIMITS', () => {
  it('leaves every default far inside and stops a wrapped uint32', () => {
    const defaults: Record<string, number> = {
      m1Iterations: METHOD_DEFAULTS.m1.iterations,
      m2Iterations: METHOD_DEFAULTS.m2.iterations,
      m3Iterations: METHOD_DEFAULTS.m3.iterations,
      m2Runs: METHOD_DEFAULTS.m2.runs,
      featureMaps: METHOD_DEFAULTS.m1.featureMaps,
      crop: Math.max(METHOD_DEFAULTS.m1.crop, METHOD_DEFAULTS.m2.crop, METHOD_DEFAULTS.m3.crop),
      batch: Math.max(METHOD_DEFAULTS.m2.batch, METHOD_DEFAULTS.m3.batch),
      sequenceLength: METHOD_DEFAULTS.m2.sequenceLength,
      k: 110,
    };
    for (const [name, limit] of Object.entries(WORK_LIMITS)) {
      expect({ name, inside: limit >= 4 * (defaults[name] ?? Infinity) }).toEqual({ name, inside: true });
      expect(limit).toBeLessThan(2 ** 32 - 1);
    }
  });

  it('passes values up to the limit and names field, value and limit above it', () => {
    expect(checkWorkLimit(100_000, 'options.m1_iterations', WORK_LIMITS.m1Iterations)).toBe(100_000);
    expect(() => checkWorkLimit(4294967295, 'options.m1_iterations', WORK_LIMITS.m1Iterations)).toThrow(
      new InvalidInputError('options.m1_iterations 4294967295 is above the limit of 100000'),
    );
  });
});
