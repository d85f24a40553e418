import type { JetStreamClient } from 'nats';
import { trace } from '@opentelemetry/api';
import type { BlobStore } from '@mitosis/core';
import { InvalidInputError, MitosisError } from '@mitosis/core';
import type { EventNames, EventsLogger, Job, JobStore, PublishResult, Stage, TopologyConfig } from '@mitosis/events';
import { STAGES, failJob, finishStage, jobStages, newJob, nextStage, publishWork, recordNewJob, recordTransition } from '@mitosis/events';
import { ATTR, mitosisInstruments } from '@mitosis/telemetry';
import { StageRequest } from '@mitosis/proto';
import type { FrameRange as ProtoFrameRange } from '@mitosis/proto';
import type { ServiceConfig } from './config';
import type { AnalysisJobParams, DetectionJobParams, JobKind, JobParamsOf, TrainingJobParams } from './job-params';
import { checkJobKind, checkJobParams, jobParamsJson } from './job-params';
import { arrayMetadataKey, keys } from './keys';
import { stageRequestCodec, toProtoStage } from './stage-codec';

/**
 * How jobs chain their stages (services.md, "Jobs and chaining"): a job lists its stages; they run
 * in the method's order (ingest, m1, m2, m3-train, m3-detect); the gateway publishes the first,
 * and the worker that finishes a stage publishes the next one or marks the job SUCCEEDED. The
 * job record changes only through @mitosis/events' lifecycle (finishStage, failJob).
 */

export { jobStages, nextStage };

/** The stages of a job of `kind`; `ingest: true` puts ingest first (always done for analyses). */
export function stagesFor(kind: JobKind, options: { ingest?: boolean } = {}): Stage[] {
  const ingest = options.ingest ?? kind === 'analysis';
  const own: Stage[] = kind === 'analysis' ? ['m1', 'm2'] : kind === 'training' ? ['m3-train'] : ['m3-detect'];
  return ingest ? ['ingest', ...own] : own;
}

/** The name under which each stage records its main output in `job.outputs`: present means the stage is done. */
export const PRIMARY_OUTPUT: Readonly<Record<Stage, string>> = {
  ingest: 'frames',
  m1: 'normalCellMap',
  m2: 'stats',
  'm3-train': 'model',
  'm3-detect': 'detections',
};

/**
 * The work message of `stage` for `job`: the stage's parameters from the job params, its inputs
 * and output folder from the key layout. INVALID_ARGUMENT when the stage does not belong to the
 * job's kind or the params are malformed.
 */
export function buildStageRequest(job: Pick<Job, 'id' | 'kind' | 'params'>, stage: Stage, options: { attempt?: number; now?: Date } = {}): StageRequest {
  return StageRequest.fromPartial({
    jobId: job.id,
    stage: toProtoStage(stage),
    attempt: options.attempt ?? 1,
    requestTime: options.now ?? new Date(),
    ...stageWork(job, stage),
  });
}

/** The part of a StageRequest that depends on the stage: its video, inputs, output folder and parameters. */
type StageWork = Pick<StageRequest, 'videoId' | 'inputKeys' | 'outputPrefix' | 'params'>;

function stageWork(job: Pick<Job, 'id' | 'kind' | 'params'>, stage: Stage): StageWork {
  const kind = checkJobKind(job.kind);
  // The params of the one kind of job the stage belongs to (every kind has an ingest).
  const paramsOf = <K extends JobKind>(owner: K): JobParamsOf<K> => {
    if (kind !== owner) throw new InvalidInputError(`stage ${stage} is not part of a ${kind} job`);
    return checkJobParams(owner, job.params);
  };
  // Every stage but ingest reads the video's preprocessed frames.
  const onFrames = (videoId: string, outputPrefix: string, params: StageWork['params'], inputs: Record<string, string> = {}): StageWork => ({
    videoId,
    inputKeys: { frames: keys.videoFrames(videoId), ...inputs },
    outputPrefix,
    params,
  });
  switch (stage) {
    case 'ingest': {
      const p = checkJobParams(kind, job.params);
      return {
        videoId: p.videoId,
        inputKeys: { source: keys.videoSource(p.videoId) },
        outputPrefix: keys.video(p.videoId),
        params: { $case: 'ingest', value: { downscaleFactor: p.downscaleFactor ?? 0, ...(p.channel ? { channel: p.channel } : {}) } },
      };
    }
    case 'm1': {
      const p = paramsOf('analysis');
      const value = {
        frames: p.frames ? protoRange(p.frames) : undefined,
        iterations: p.m1Iterations ?? 0,
        seed: p.seed ?? DEFAULT_SEED,
        featureMaps: p.featureMaps ?? 0,
        normalCellMapOverride: p.normalCellMapOverride,
      };
      return onFrames(p.videoId, keys.analysisPrefix(job.id), { $case: 'm1', value });
    }
    case 'm2': {
      const p = paramsOf('analysis');
      const analysis = keys.analysis(job.id);
      const value = { frames: p.frames ? protoRange(p.frames) : undefined, iterations: p.m2Iterations ?? 0, seed: p.seed ?? DEFAULT_SEED };
      return onFrames(p.videoId, keys.analysisPrefix(job.id), { $case: 'm2', value }, { normal_cell_map: analysis.normalCellMap, map_choice: analysis.mapChoice });
    }
    case 'm3-train': {
      const p = paramsOf('training');
      const value = {
        modelId: p.modelId,
        annotationSetId: p.annotationSetId,
        trainingFrames: protoRange(p.trainingFrames),
        k: p.k,
        iterations: p.iterations ?? 0,
        seed: p.seed ?? DEFAULT_SEED,
      };
      return onFrames(p.videoId, keys.model(p.modelId), { $case: 'm3Train', value }, { annotations: keys.annotationSet(p.annotationSetId) });
    }
    case 'm3-detect': {
      const p = paramsOf('detection');
      const value = { modelId: p.modelId, frames: p.frames ? protoRange(p.frames) : undefined, windowStep: p.windowStep ?? 0 };
      return onFrames(p.videoId, keys.detectionsPrefix(job.id), { $case: 'm3Detect', value }, { model: keys.model(p.modelId) });
    }
  }
}

/** The seed of a job that gives none: the CLI's `--seed` default. */
export const DEFAULT_SEED = 1;

function protoRange(range: { first: number; last: number }): ProtoFrameRange {
  return { first: range.first, last: range.last };
}

/** What publishing and chaining need. */
export interface ChainDeps {
  readonly jobs: JobStore;
  readonly js: JetStreamClient;
  readonly names: EventNames;
}

/** Publishes the work message of `stage` for `job` (msg id `jobId:stage:attempt`, so a retried publish is dropped). */
export async function publishStage(
  deps: Pick<ChainDeps, 'js' | 'names'>,
  job: Pick<Job, 'id' | 'kind' | 'params'>,
  stage: Stage,
  options: { attempt?: number; headers?: Readonly<Record<string, string>> } = {},
): Promise<PublishResult> {
  const attempt = options.attempt ?? 1;
  const request = buildStageRequest(job, stage, { attempt });
  return publishWork(deps.js, deps.names, stage, stageRequestCodec.encode(request), { jobId: job.id, attempt, ...(options.headers ? { headers: options.headers } : {}) });
}

/** What starting a job needs: the chaining's, the store (is the video ingested?) and a log for a failed first publish. */
export interface StartJobDeps extends ChainDeps {
  readonly store: BlobStore;
  readonly log?: EventsLogger;
}

export interface StartJobInput {
  readonly id: string;
  readonly kind: JobKind;
  readonly params: AnalysisJobParams | TrainingJobParams | DetectionJobParams;
  /** Put ingest first; default: when the video has no preprocessed frames yet. */
  readonly ingest?: boolean;
  /** Runs after the record exists and before the work is published (e.g. the model record). */
  readonly beforePublish?: (job: Job) => Promise<void>;
}

/**
 * Starts a job, as the gateway does for StartAnalysis, StartTraining and RunDetection: creates
 * the record (QUEUED, its stages in order, the checked params) and publishes the first stage's
 * work (msg id `<jobId>:<stage>:1`). Ingest comes first when the video has no preprocessed frames
 * yet (the proto's "preceded by INGEST if the video was not yet preprocessed") unless `ingest`
 * says otherwise. ALREADY_EXISTS when the id is taken; the record is written before the work so a
 * worker never receives work for a job it cannot find. If anything fails once the record exists,
 * the job is FAILED with the reason (failJob), so no job stays QUEUED with no work behind it.
 */
export async function startJob(deps: StartJobDeps, input: StartJobInput): Promise<Job> {
  const params = checkJobParams(input.kind, input.params);
  // Ingest writes the frames' metadata last: present means the frames are complete.
  const ingest = input.ingest ?? !(await deps.store.exists(arrayMetadataKey(keys.videoFrames(params.videoId))));
  const job = newJob({ id: input.id, kind: input.kind, stages: stagesFor(input.kind, { ingest }), params: jobParamsJson(params) });
  // Every stage's work message must build from these params, before anything is stored.
  for (const stage of jobStages(job)) buildStageRequest(job, stage);
  const created = await recordNewJob(deps.jobs, job);
  // The caller's span names the job: its stages' spans (other processes) join this trace.
  trace.getActiveSpan()?.setAttributes({ [ATTR.jobId]: created.id, [ATTR.jobKind]: created.kind, [ATTR.videoId]: params.videoId });
  mitosisInstruments().jobsStarted.add(1, { [ATTR.jobKind]: created.kind });
  const first = nextStage(created);
  try {
    await input.beforePublish?.(created);
    if (first !== undefined) await publishStage(deps, created, first);
  } catch (error: unknown) {
    deps.log?.error('could not queue the first stage', { jobId: created.id, stage: first, error });
    const reason = `the gateway could not queue stage ${first ?? '(none)'}`;
    await recordTransition(deps.jobs, created.id, (record) => failJob(record, { error: { kind: 'INTERNAL', message: reason, ...(first === undefined ? {} : { stage: first }) } }), [
      'job-ended',
    ]).catch((markError: unknown) => deps.log?.error('could not mark the job FAILED', { jobId: created.id, error: markError }));
    throw new MitosisError('INTERNAL', reason, { cause: error });
  }
  deps.log?.info('job queued', { jobId: created.id, kind: input.kind, stages: jobStages(created) });
  return created;
}

export interface CompleteStageInput {
  readonly jobId: string;
  readonly stage: Stage;
  /** Output keys by name, merged into `job.outputs`. */
  readonly outputs: Readonly<Record<string, string>>;
  /** The delivery that did the work: a stale one (a later delivery recorded the stage) changes nothing. */
  readonly deliveryCount?: number;
  readonly now?: Date;
}

export interface CompleteStageResult {
  readonly job: Job;
  /** False when the job had ended (cancelled, failed) or a later delivery owns the stage. */
  readonly recorded: boolean;
  /** The stage published next, if any. */
  readonly next?: Stage;
  readonly published?: PublishResult;
}

/**
 * After a stage wrote its outputs durably: records the stage SUCCEEDED with its outputs, then
 * publishes the job's next stage, or marks the job SUCCEEDED when this was the last one (in the
 * same compare-and-set write, so a watcher sees the final state with every output). The next
 * stage is not published again when it has started already (a redelivered message whose ack was
 * lost), and the msg id drops a repeat within the duplicate window.
 */
export async function completeStage(deps: ChainDeps, input: CompleteStageInput): Promise<CompleteStageResult> {
  const finish = (job: Job): Job =>
    finishStage(job, {
      stage: input.stage,
      outputs: input.outputs,
      ...(input.deliveryCount === undefined ? {} : { delivery: input.deliveryCount }),
      ...(input.now ? { at: input.now } : {}),
    });
  // An ended job or a later delivery's record takes nothing from this one.
  const { job, applied } = await recordTransition(deps.jobs, input.jobId, finish, ['job-ended', 'stale-delivery']);
  if (!applied) return { job, recorded: false };
  const next = nextStage(job, input.stage);
  if (next === undefined) return { job, recorded: true };
  const nextStatus = job.stages[next];
  if (nextStatus !== undefined && (nextStatus.attempts > 0 || nextStatus.state !== 'QUEUED')) return { job, recorded: true, next };
  const published = await publishStage(deps, job, next);
  return { job, recorded: true, next, published };
}

/**
 * Topology settings every service passes to ensureTopology: the same delivery settings for every
 * stage's durable consumer, from the shared config. (A service that passed none would reset the
 * consumers to the library defaults, and the workers would set them back at their next start.)
 */
export function topologyConfig(config: Pick<ServiceConfig, 'prefix' | 'ackWaitMs' | 'maxDeliver'>): TopologyConfig {
  const settings = { ackWaitMs: config.ackWaitMs, maxDeliver: config.maxDeliver };
  return { prefix: config.prefix, stages: Object.fromEntries(STAGES.map((stage) => [stage, settings])) };
}
