import type { AnalysisOptions, StartTrainingRequest } from '@mitosis/proto';
import type { WorkLimitName, WorkLimits } from '@mitosis/stages';
import { checkWorkLimit } from '@mitosis/stages';

type Checks<T> = readonly (readonly [field: string, value: (request: T) => number | undefined, limit: WorkLimitName])[];

/** Every amount of work AnalysisOptions sets, by its proto field name (0 means the default, always inside). */
const ANALYSIS_CHECKS: Checks<AnalysisOptions> = [
  ['options.m1_iterations', (o) => o.m1Iterations, 'm1Iterations'],
  ['options.m2_iterations', (o) => o.m2Iterations, 'm2Iterations'],
  ['options.m2_runs', (o) => o.m2Runs, 'm2Runs'],
  ['options.feature_maps', (o) => o.featureMaps, 'featureMaps'],
  ['options.crop', (o) => o.crop, 'crop'],
  ['options.m2_crop', (o) => o.m2Crop, 'crop'],
  ['options.m2_batch', (o) => o.m2Batch, 'batch'],
  ['options.sequence_length', (o) => o.sequenceLength, 'sequenceLength'],
];

/** Every amount of work StartTrainingRequest sets. */
const TRAINING_CHECKS: Checks<StartTrainingRequest> = [
  ['iterations', (r) => r.iterations, 'm3Iterations'],
  ['k', (r) => r.k, 'k'],
  ['crop', (r) => r.crop, 'crop'],
  ['batch', (r) => r.batch, 'batch'],
];

function checkAll<T>(request: T, checks: Checks<T>, limits: WorkLimits): void {
  for (const [field, value, limit] of checks) checkWorkLimit(value(request) ?? 0, field, limits[limit]);
}

/** INVALID_ARGUMENT naming the field, the value and the limit when an analysis asks for more work than `limits` allow. */
export function checkAnalysisWork(options: AnalysisOptions | undefined, limits: WorkLimits): void {
  if (options !== undefined) checkAll(options, ANALYSIS_CHECKS, limits);
}

/** The same for a training request (RunDetection's work is bounded by the video and the model's k). */
export function checkTrainingWork(request: StartTrainingRequest, limits: WorkLimits): void {
  checkAll(request, TRAINING_CHECKS, limits);
}
