import { readFileSync } from 'node:fs';
import path from 'node:path';
import { METHOD_DEFAULTS } from '@mitosis/stages';
import { DEFAULT_STAGE_DEFAULTS, loadConfig } from './config';

const PROTO = path.resolve(__dirname, '..', '..', '..', 'proto', 'mitosis', 'v1');

/** The comment lines right above `field` in `message` of a .proto file, joined. */
function fieldComment(file: string, message: string, field: string): string {
  const text = readFileSync(path.join(PROTO, file), 'utf8');
  const body = text.slice(text.indexOf(`message ${message} {`));
  const lines = body.slice(0, body.indexOf('\n}')).split('\n');
  const at = lines.findIndex((line) => new RegExp(`^\\s*(optional\\s+)?\\w+ ${field} = \\d+;`).test(line));
  if (at < 0) throw new Error(`${file}: ${message}.${field} not found`);
  const comment: string[] = [];
  for (let i = at - 1; i >= 0 && /^\s*\/\//.test(lines[i] ?? ''); i--) comment.unshift((lines[i] ?? '').replace(/^\s*\/\/\s?/, ''));
  return comment.join(' ');
}

describe('the method defaults', () => {
  it("are the services' stage defaults", () => {
    expect(DEFAULT_STAGE_DEFAULTS).toEqual({
      downscaleFactor: METHOD_DEFAULTS.factor,
      m1Iterations: METHOD_DEFAULTS.m1.iterations,
      m2Iterations: METHOD_DEFAULTS.m2.iterations,
      m3Iterations: METHOD_DEFAULTS.m3.iterations,
      crop: METHOD_DEFAULTS.m1.crop,
      m3Crop: METHOD_DEFAULTS.m3.crop,
      m2SequenceLength: METHOD_DEFAULTS.m2.sequenceLength,
      m3Batch: METHOD_DEFAULTS.m3.batch,
      m3PositiveWeight: METHOD_DEFAULTS.m3.positiveWeight,
    });
    expect(loadConfig({ MITOSIS_NATS_URL: 'nats://127.0.0.1:4222', MITOSIS_STORE: 'file:///tmp/x', MITOSIS_M3_CROP: '48' }).stageDefaults).toEqual({
      ...DEFAULT_STAGE_DEFAULTS,
      m3Crop: 48,
    });
  });

  it.each([
    ['analysis.proto', 'AnalysisOptions', 'm1_iterations', `0 means ${METHOD_DEFAULTS.m1.iterations}`],
    ['analysis.proto', 'AnalysisOptions', 'm2_iterations', `0 means ${METHOD_DEFAULTS.m2.iterations}`],
    ['analysis.proto', 'AnalysisOptions', 'feature_maps', `0 means ${METHOD_DEFAULTS.m1.featureMaps}`],
    ['analysis.proto', 'AnalysisOptions', 'erosions', `absent means ${METHOD_DEFAULTS.cleaning.erosions}`],
    ['analysis.proto', 'AnalysisOptions', 'min_area', `absent means ${METHOD_DEFAULTS.cleaning.minArea}`],
    ['analysis.proto', 'AnalysisOptions', 'm2_batch', `0 means ${METHOD_DEFAULTS.m2.batch}`],
    ['analysis.proto', 'AnalysisOptions', 'm2_positive_weight', `0 means ${METHOD_DEFAULTS.m2.positiveWeight}`],
    ['analysis.proto', 'AnalysisOptions', 'crop', `0 means ${METHOD_DEFAULTS.m1.crop}`],
    ['analysis.proto', 'AnalysisOptions', 'sequence_length', `0 means ${METHOD_DEFAULTS.m2.sequenceLength}`],
    ['analysis.proto', 'AnalysisOptions', 'm2_runs', `0 means ${METHOD_DEFAULTS.m2.runs}`],
    ['model.proto', 'StartTrainingRequest', 'iterations', `0 means ${METHOD_DEFAULTS.m3.iterations}`],
    ['model.proto', 'StartTrainingRequest', 'crop', `0 means ${METHOD_DEFAULTS.m3.crop}`],
    ['model.proto', 'StartTrainingRequest', 'batch', `0 means ${METHOD_DEFAULTS.m3.batch}`],
    ['model.proto', 'StartTrainingRequest', 'positive_weight', `0 means ${METHOD_DEFAULTS.m3.positiveWeight}`],
    ['model.proto', 'StartTrainingRequest', 'threshold', '0 means automatic'],
    ['detection.proto', 'RunDetectionRequest', 'merge_distance', `absent means ${METHOD_DEFAULTS.m3.mergeDistance}`],
  ])('are what %s documents for %s.%s (%s)', (file, message, field, says) => {
    expect(fieldComment(file, message, field)).toContain(says);
  });

  it("have the automatic threshold as M3's default, as mitosis train", () => {
    expect(METHOD_DEFAULTS.m3.threshold).toBe('auto');
  });
});
