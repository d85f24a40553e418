import { STAGES } from '@mitosis/events';
import { loadConfig } from '@mitosis/service-kit';
import { WORK_LIMIT_ENV_NAMES } from '@mitosis/stages';
import { gatewayHealthServices, knownEnvironmentNames, workerStages } from './repo-facts';

describe('repo facts the checks use', () => {
  it('covers every stage once, in the workers the apps run', () => {
    const stages = workerStages();
    expect(Object.keys(stages).sort()).toEqual(['ingest', 'm1', 'm2', 'm3']);
    expect(Object.values(stages).flat().sort()).toEqual([...STAGES].sort());
  });

  it('knows exactly the variables loadConfig reads, plus those of the gateway (upload folder, work limits, store limits)', () => {
    // An environment that records every name asked for: what loadConfig reads, not what a list says.
    const asked = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_target, name) => {
        if (typeof name === 'string') asked.add(name);
        return undefined;
      },
    });
    expect(() => loadConfig(env)).toThrow(/MITOSIS_NATS_URL is not set/);
    const known = knownEnvironmentNames();
    expect([...asked].filter((name) => !known.has(name))).toEqual([]);
    expect([...known].filter((name) => !asked.has(name))).toEqual(['MITOSIS_UPLOAD_DIR', ...WORK_LIMIT_ENV_NAMES, 'MITOSIS_STORE_TIMEOUT_MS', 'MITOSIS_UPLOAD_STAGING_MAX_AGE_S']);
  });

  it("names the gateway's six public services and the server as a whole", () => {
    expect([...gatewayHealthServices()].sort()).toEqual([
      '',
      'mitosis.v1.AnalysisService',
      'mitosis.v1.AnnotationService',
      'mitosis.v1.DetectionService',
      'mitosis.v1.JobService',
      'mitosis.v1.ModelService',
      'mitosis.v1.VideoService',
    ]);
  });
});
