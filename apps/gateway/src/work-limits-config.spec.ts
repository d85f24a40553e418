import { AnalysisOptions } from '@mitosis/proto';
import { WORK_LIMITS, WORK_LIMIT_ENV_NAMES } from '@mitosis/stages';
import { loadGatewayConfig } from './config';
import { checkAnalysisWork } from './services/work-limits';

const minimal = { MITOSIS_NATS_URL: 'nats://nats:4222', MITOSIS_STORE: 'file:///var/mitosis', MITOSIS_UPLOAD_DIR: '/var/uploads' };

describe('work limits in the gateway config', () => {
  it('names one MITOSIS_MAX_* variable per limit', () => {
    expect(WORK_LIMIT_ENV_NAMES).toEqual([
      'MITOSIS_MAX_M1_ITERATIONS',
      'MITOSIS_MAX_M2_ITERATIONS',
      'MITOSIS_MAX_M3_ITERATIONS',
      'MITOSIS_MAX_M2_RUNS',
      'MITOSIS_MAX_FEATURE_MAPS',
      'MITOSIS_MAX_CROP',
      'MITOSIS_MAX_BATCH',
      'MITOSIS_MAX_SEQUENCE_LENGTH',
      'MITOSIS_MAX_K',
    ]);
  });

  it('defaults to WORK_LIMITS and takes the operator overrides, which the checks then apply', () => {
    expect(loadGatewayConfig(minimal).workLimits).toEqual(WORK_LIMITS);
    const { workLimits } = loadGatewayConfig({ ...minimal, MITOSIS_MAX_M1_ITERATIONS: '500', MITOSIS_MAX_CROP: ' 128 ' });
    expect(workLimits).toEqual({ ...WORK_LIMITS, m1Iterations: 500, crop: 128 });
    expect(() => checkAnalysisWork(AnalysisOptions.fromPartial({ m1Iterations: 500, crop: 128 }), workLimits)).not.toThrow();
    expect(() => checkAnalysisWork(AnalysisOptions.fromPartial({ m1Iterations: 501 }), workLimits)).toThrow('options.m1_iterations 501 is above the limit of 500');
    expect(() => checkAnalysisWork(AnalysisOptions.fromPartial({ m2Crop: 129 }), workLimits)).toThrow('options.m2_crop 129 is above the limit of 128');
  });

  it('reports every bad value with its variable, with the other problems', () => {
    expect(() => loadGatewayConfig({ ...minimal, MITOSIS_MAX_K: '0', MITOSIS_MAX_BATCH: 'lots', MITOSIS_UPLOAD_DIR: 'relative' })).toThrow(
      'configuration: MITOSIS_UPLOAD_DIR "relative" must be an absolute path; MITOSIS_MAX_BATCH "lots" must be a whole number >= 1; MITOSIS_MAX_K "0" must be a whole number >= 1',
    );
  });
});
