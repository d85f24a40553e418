import * as api from './index';
import * as analysis from './gen/mitosis/v1/analysis';
import * as annotation from './gen/mitosis/v1/annotation';
import * as common from './gen/mitosis/v1/common';
import * as detection from './gen/mitosis/v1/detection';
import * as job from './gen/mitosis/v1/job';
import * as model from './gen/mitosis/v1/model';
import * as video from './gen/mitosis/v1/video';
import * as stage from './gen/mitosis/internal/v1/stage';

// index.ts lists its exports by hand; this catches a message or service added to a .proto and
// regenerated but forgotten there. Map entries (`X_YEntry`) and per-file constants stay private.
describe('index', () => {
  const generated = { analysis, annotation, common, detection, job, model, video, stage };

  it.each(Object.entries(generated))('re-exports every message, enum and service of %s', (_name, module) => {
    const expected = Object.keys(module).filter((name) => name !== 'protobufPackage' && name !== 'protobufFileName' && !/_\w+Entry$/.test(name));
    expect(expected.length).toBeGreaterThan(0);
    const exported = api as Record<string, unknown>;
    for (const name of expected) {
      expect([name, exported[name]]).toEqual([name, (module as Record<string, unknown>)[name]]);
    }
  });
});
