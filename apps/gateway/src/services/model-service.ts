import { frameRangeLength, InvalidInputError, NotFoundError, PreconditionError } from '@mitosis/core';
import type { Model, ModelServiceServer, StartTrainingRequest } from '@mitosis/proto';
import { JobState } from '@mitosis/proto';
import { checkFramesFor } from '@mitosis/stages';
import { describeRange, isInside, resolveFrameRange } from '../frames';
import { unary } from '../grpc/calls';
import type { TrainingJobParams } from '@mitosis/service-kit';
import { startJob } from '../jobs/start';
import { PROTO_JOB_STATE, jobToProto } from '../jobs/to-proto';
import { newId } from '../storage/ids';
import { keys } from '../storage/keys';
import type { ModelRecord } from '../storage/records';
import { encodeJson, readAnnotationSet, readModelRecord, readVideoRecord } from '../storage/records';
import type { ServiceContext } from './context';
import { checkTrainingWork } from './work-limits';

/**
 * The request checked against what is stored: the annotation set must belong to the video, the
 * training frames lie inside its annotated frames (labels need fully searched frames, III.F), and
 * hold at least k frames, since every training window is k consecutive frames (III.F, Table II).
 */
export async function trainingParams(ctx: ServiceContext, request: StartTrainingRequest): Promise<TrainingJobParams> {
  checkTrainingWork(request, ctx.workLimits);
  const video = await readVideoRecord(ctx.store, request.videoId);
  const set = await readAnnotationSet(ctx.store, request.annotationSetId);
  if (set.videoId !== video.videoId) {
    throw new PreconditionError(`annotation set "${set.setId}" belongs to video "${set.videoId}", not to "${video.videoId}"`);
  }
  if (request.k === 0) throw new InvalidInputError('k must be at least 1 (the ConvLSTM sequence length; EventLengthReport.recommended_k suggests one)');
  checkFramesFor(`video "${video.videoId}"`, video.frameCount, { job: 'training', k: request.k });
  const trainingFrames = request.trainingFrames === undefined ? set.annotatedFrames : resolveFrameRange(request.trainingFrames, video.frameCount, 'training_frames');
  if (!isInside(trainingFrames, set.annotatedFrames)) {
    throw new InvalidInputError(
      `training_frames ${trainingFrames.first}:${trainingFrames.last} are not inside the annotated frames ${set.annotatedFrames.first}:${set.annotatedFrames.last} of set "${set.setId}"`,
    );
  }
  if (request.k > frameRangeLength(trainingFrames)) {
    throw new PreconditionError(`k = ${request.k} is larger than the training frames ${describeRange(trainingFrames)}: annotate at least k consecutive frames, or lower k`);
  }
  return {
    videoId: video.videoId,
    ...(video.channel ? { channel: video.channel } : {}),
    annotationSetId: set.setId,
    modelId: newId('mdl'),
    trainingFrames,
    k: request.k,
    iterations: request.iterations,
    seed: request.seed,
    // Zero is "the default" in the proto: left out here, so the stage applies METHOD_DEFAULTS.
    ...(request.crop ? { crop: request.crop } : {}),
    ...(request.batch ? { batch: request.batch } : {}),
    ...(request.positiveWeight ? { positiveWeight: request.positiveWeight } : {}),
    ...(request.threshold ? { threshold: request.threshold } : {}),
  };
}

/** State of the model's training job; if the record is gone, a stored training.json means it SUCCEEDED. */
export async function modelState(ctx: ServiceContext, record: ModelRecord): Promise<JobState> {
  try {
    return PROTO_JOB_STATE[(await ctx.jobs.get(record.trainingJobId)).state];
  } catch (error: unknown) {
    if (!(error instanceof NotFoundError)) throw error;
    return (await ctx.store.exists(keys.modelTraining(record.modelId))) ? JobState.JOB_STATE_SUCCEEDED : JobState.JOB_STATE_UNSPECIFIED;
  }
}

export function modelToProto(record: ModelRecord, state: JobState): Model {
  return {
    modelId: record.modelId,
    videoId: record.videoId,
    annotationSetId: record.annotationSetId,
    trainingFrames: { first: record.trainingFrames.first, last: record.trainingFrames.last },
    k: record.k,
    iterations: record.iterations,
    seed: record.seed,
    trainingJobId: record.trainingJobId,
    state,
    createTime: new Date(record.createdAt),
  };
}

export function modelService(ctx: ServiceContext): ModelServiceServer {
  return {
    startTraining: unary(ctx.log, async (request) => {
      const params = await trainingParams(ctx, request);
      const job = await startJob(ctx, {
        kind: 'training',
        params,
        // The model record exists before any worker can start on it, so GetModel always finds it.
        beforePublish: async (created) => {
          const record: ModelRecord = {
            modelId: params.modelId,
            videoId: params.videoId,
            annotationSetId: params.annotationSetId,
            trainingFrames: params.trainingFrames,
            k: params.k,
            iterations: params.iterations ?? 0,
            seed: params.seed ?? 0,
            trainingJobId: created.id,
            createdAt: created.createdAt,
          };
          await ctx.store.put(keys.modelRecord(params.modelId), encodeJson(record));
        },
      });
      return { job: jobToProto(job), modelId: params.modelId };
    }),
    getModel: unary(ctx.log, async (request) => {
      const record = await readModelRecord(ctx.store, request.modelId);
      return { model: modelToProto(record, await modelState(ctx, record)) };
    }),
  };
}
