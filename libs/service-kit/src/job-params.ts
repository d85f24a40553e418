import type { FrameRange } from '@mitosis/core';
import { InvalidInputError } from '@mitosis/core';
import type { JsonValue } from '@mitosis/events';
import { checkId } from './keys';

/**
 * What a job computes; its record's `params` (plain JSON, copied from the gRPC request by the
 * gateway) say with what. Fields mirror StartAnalysisRequest, StartTrainingRequest and
 * RunDetectionRequest in camelCase; absent or 0 means the default of @mitosis/stages'
 * METHOD_DEFAULTS (the CLI's), as in the proto.
 */
export type JobKind = 'analysis' | 'training' | 'detection';
export const JOB_KINDS: readonly JobKind[] = ['analysis', 'training', 'detection'];

export interface AnalysisJobParams {
  readonly videoId: string;
  /** Frames M1 and M2 learn on (1-based, inclusive); absent for the whole video. */
  readonly frames?: FrameRange;
  readonly seed?: number;
  readonly m1Iterations?: number;
  readonly m2Iterations?: number;
  /** Number n of M1 feature maps; 0 or absent for 6. */
  readonly featureMaps?: number;
  readonly normalCellMapOverride?: number;
  /** Ingest's spatial downscaling; absent for the configured default (4). */
  readonly downscaleFactor?: number;
  /** The video's channel of its file (chosen at upload), which ingest reads; absent for 0. */
  readonly channel?: number;
  /** Side of the M1 and M2 training crops; absent for 96. */
  readonly crop?: number;
  /** Frames per M2 training sequence; absent for 16. */
  readonly sequenceLength?: number;
  /** Erosions of the binarised normal-cell map; absent for 1 (paper). */
  readonly erosions?: number;
  /** Normal-cell map components under this many pixels dropped; 0 or absent keeps all. */
  readonly minArea?: number;
  /** Normal-cell map trajectories in fewer frames dropped; 0 or absent keeps all. */
  readonly minFrames?: number;
  /** Side of the M2 training crops; 0 or absent for the M1 crop. */
  readonly m2Crop?: number;
  /** Sequences per M2 update; 0 or absent for 2. */
  readonly m2Batch?: number;
  /** Weight of event voxels in M2's loss; 0 or absent for 1 (paper). */
  readonly m2PositiveWeight?: number;
  /** Pixels along each M2 crop edge left out of its loss; 0 or absent for none (paper). */
  readonly m2LossMargin?: number;
  /** M2 trainings whose median k is recommended; 0 or absent for METHOD_DEFAULTS.m2.runs. */
  readonly m2Runs?: number;
}

export interface TrainingJobParams {
  readonly videoId: string;
  readonly annotationSetId: string;
  /** Id the model is stored under (`models/<modelId>/`). */
  readonly modelId: string;
  readonly trainingFrames: FrameRange;
  readonly k: number;
  /** Training updates; 0 or absent for 800. */
  readonly iterations?: number;
  readonly seed?: number;
  readonly downscaleFactor?: number;
  /** The video's channel of its file (chosen at upload), which ingest reads; absent for 0. */
  readonly channel?: number;
  /** Side of the training crops; absent for 32. */
  readonly crop?: number;
  /** Windows per update; absent for 4. */
  readonly batch?: number;
  /** Weight of mitosis pixels in the loss; absent for 20. */
  readonly positiveWeight?: number;
  /** Detection threshold stored with the model, in (0, 1); absent: chosen on the annotated frames ('auto'). */
  readonly threshold?: number;
}

export interface DetectionJobParams {
  readonly videoId: string;
  readonly modelId: string;
  /** Frames to search; absent for the whole video. */
  readonly frames?: FrameRange;
  /** Temporal step between windows; 0 or absent for 2 (paper III.G). */
  readonly windowStep?: number;
  /** For an ingest stage in this job: must be the model's factor. */
  readonly downscaleFactor?: number;
  /** The video's channel of its file (chosen at upload), which ingest reads; absent for 0. */
  readonly channel?: number;
  /** How windows are combined: 'any' (paper) or 'mean'; absent: the rule stored with the model. */
  readonly vote?: 'any' | 'mean';
  /** Binarisation threshold in (0, 1); absent: the one stored with the model. */
  readonly threshold?: number;
  /** Groups within this many downscaled pixels and 3 frames merged; absent for 6 (paper: 0). */
  readonly mergeDistance?: number;
}

export type JobParamsOf<K extends JobKind> = K extends 'analysis' ? AnalysisJobParams : K extends 'training' ? TrainingJobParams : DetectionJobParams;

export function isJobKind(value: unknown): value is JobKind {
  return typeof value === 'string' && (JOB_KINDS as readonly string[]).includes(value);
}

export function checkJobKind(kind: string): JobKind {
  if (!isJobKind(kind)) throw new InvalidInputError(`job kind "${kind}" is not one of ${JOB_KINDS.join(', ')}`);
  return kind;
}

/**
 * Checks a job's params for its kind and returns them typed. Errors are InvalidInputErrors naming
 * the field (`job params: k must be...`): the gateway calls this before creating the job, the
 * workers again when reading it.
 */
export function checkJobParams<K extends JobKind>(kind: K, params: unknown): JobParamsOf<K> {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new InvalidInputError(`job params of a ${kind} job must be a JSON object`);
  const p = params as Record<string, unknown>;
  const known = new Set(KNOWN_FIELDS[checkJobKind(kind)]);
  const unknown = Object.keys(p).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new InvalidInputError(`job params of a ${kind} job: unknown field ${unknown.map((k) => `"${k}"`).join(', ')}`);
  const f = fields(p);
  f.id('videoId', 'video id');
  f.range('frames');
  f.int('seed', 0, 2 ** 32 - 1);
  f.int('downscaleFactor', 1, 64);
  f.int('channel', 0, 1023);
  if (kind === 'analysis') {
    f.int('m1Iterations', 0);
    f.int('m2Iterations', 0);
    f.int('featureMaps', 0, 64);
    f.int('normalCellMapOverride', 0, 63);
    f.int('crop', 4, 4096);
    f.int('sequenceLength', 2, 1024);
    f.int('erosions', 0, 64);
    f.int('minArea', 0);
    f.int('minFrames', 0, 1_000_000);
    f.int('m2Crop', 0, 4096);
    if (typeof p['m2Crop'] === 'number' && p['m2Crop'] > 0 && p['m2Crop'] < 4)
      throw new InvalidInputError(`job params: m2Crop must be 0 (the M1 crop) or at least 4, got ${p['m2Crop']}`);
    f.int('m2Batch', 0, 256);
    if (p['m2PositiveWeight'] !== 0) f.positive('m2PositiveWeight');
    f.int('m2LossMargin', 0, 1024);
    f.int('m2Runs', 0, 16);
    const maps = typeof p['featureMaps'] === 'number' && p['featureMaps'] > 0 ? p['featureMaps'] : 6;
    if (typeof p['normalCellMapOverride'] === 'number' && p['normalCellMapOverride'] >= maps) {
      throw new InvalidInputError(`job params: normalCellMapOverride ${p['normalCellMapOverride']} is not one of the ${maps} feature maps (0..${maps - 1})`);
    }
  } else if (kind === 'training') {
    f.id('annotationSetId', 'annotation set id');
    f.id('modelId', 'model id');
    f.range('trainingFrames', true);
    f.int('k', 1, 1024, true);
    f.int('iterations', 0);
    f.int('crop', 4, 4096);
    f.int('batch', 1, 256);
    f.positive('positiveWeight');
    f.probability('threshold');
    const range = p['trainingFrames'] as FrameRange;
    const k = p['k'] as number;
    if (range.last - range.first + 1 < k) {
      throw new InvalidInputError(`job params: trainingFrames ${range.first}:${range.last} hold ${range.last - range.first + 1} frames, fewer than k = ${k}`);
    }
  } else {
    f.id('modelId', 'model id');
    f.int('windowStep', 0, 1024);
    if (p['vote'] !== undefined && p['vote'] !== 'any' && p['vote'] !== 'mean') throw new InvalidInputError(`job params: vote must be "any" or "mean"`);
    f.probability('threshold');
    f.int('mergeDistance', 0, 1024);
  }
  return p as unknown as JobParamsOf<K>;
}

/** The params as the JSON the job record stores. */
export function jobParamsJson(params: AnalysisJobParams | TrainingJobParams | DetectionJobParams): { [key: string]: JsonValue } {
  return JSON.parse(JSON.stringify(params)) as { [key: string]: JsonValue };
}

const COMMON = ['videoId', 'seed', 'downscaleFactor', 'channel'];
const KNOWN_FIELDS: Readonly<Record<JobKind, readonly string[]>> = {
  analysis: [
    ...COMMON,
    'frames',
    'm1Iterations',
    'm2Iterations',
    'featureMaps',
    'normalCellMapOverride',
    'crop',
    'sequenceLength',
    'erosions',
    'minArea',
    'minFrames',
    'm2Crop',
    'm2Batch',
    'm2PositiveWeight',
    'm2LossMargin',
    'm2Runs',
  ],
  training: [...COMMON, 'annotationSetId', 'modelId', 'trainingFrames', 'k', 'iterations', 'crop', 'batch', 'positiveWeight', 'threshold'],
  detection: [...COMMON, 'modelId', 'frames', 'windowStep', 'vote', 'threshold', 'mergeDistance'],
};

function fields(p: Record<string, unknown>) {
  const missing = (name: string): never => {
    throw new InvalidInputError(`job params: ${name} is required`);
  };
  return {
    id(name: string, what: string): void {
      const value = p[name];
      if (value === undefined) missing(name);
      if (typeof value !== 'string') throw new InvalidInputError(`job params: ${name} must be a string`);
      checkId(value, `job params: ${what}`);
    },
    int(name: string, min: number, max = Number.MAX_SAFE_INTEGER, required = false): void {
      const value = p[name];
      if (value === undefined) {
        if (required) missing(name);
        return;
      }
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new InvalidInputError(`job params: ${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
      }
    },
    positive(name: string): void {
      const value = p[name];
      if (value === undefined) return;
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InvalidInputError(`job params: ${name} must be a number > 0, got ${JSON.stringify(value)}`);
    },
    probability(name: string): void {
      const value = p[name];
      if (value === undefined) return;
      if (typeof value !== 'number' || !(value > 0 && value < 1)) throw new InvalidInputError(`job params: ${name} must be a number between 0 and 1, got ${JSON.stringify(value)}`);
    },
    range(name: string, required = false): void {
      const value = p[name];
      if (value === undefined) {
        if (required) missing(name);
        return;
      }
      const r = value as { first?: unknown; last?: unknown };
      if (
        typeof value !== 'object' ||
        value === null ||
        typeof r.first !== 'number' ||
        typeof r.last !== 'number' ||
        !Number.isInteger(r.first) ||
        !Number.isInteger(r.last) ||
        r.first < 1 ||
        r.last < r.first
      ) {
        throw new InvalidInputError(`job params: ${name} must be {first, last} with 1 <= first <= last (1-based, inclusive), got ${JSON.stringify(value)}`);
      }
    },
  };
}
