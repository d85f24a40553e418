import { InvalidInputError } from '@mitosis/core';
import type { Codec, Stage } from '@mitosis/events';
import { StageRequest, Stage as ProtoStage } from '@mitosis/proto';

/** The events lib names stages as subject tokens, the contract as an enum: one table for both ways. */
const TO_PROTO: Readonly<Record<Stage, ProtoStage>> = {
  ingest: ProtoStage.STAGE_INGEST,
  m1: ProtoStage.STAGE_M1,
  m2: ProtoStage.STAGE_M2,
  'm3-train': ProtoStage.STAGE_M3_TRAIN,
  'm3-detect': ProtoStage.STAGE_M3_DETECT,
};

/** The `params` case each stage's request must carry. */
export const PARAMS_CASE: Readonly<Record<Stage, NonNullable<StageRequest['params']>['$case']>> = {
  ingest: 'ingest',
  m1: 'm1',
  m2: 'm2',
  'm3-train': 'm3Train',
  'm3-detect': 'm3Detect',
};

export function toProtoStage(stage: Stage): ProtoStage {
  return TO_PROTO[stage];
}

export function fromProtoStage(stage: ProtoStage): Stage {
  const found = (Object.keys(TO_PROTO) as Stage[]).find((name) => TO_PROTO[name] === stage);
  if (found === undefined) throw new InvalidInputError(`stage ${String(stage)} is not a stage a worker runs`);
  return found;
}

/**
 * Checks what the generated decoder cannot: a job id, a known stage, and the parameters of that
 * stage. A request failing this can never succeed, hence InvalidInputError (dead-lettered at once).
 */
export function checkStageRequest(request: StageRequest): StageRequest {
  if (request.jobId === '') throw new InvalidInputError('stage request has no job id');
  if (request.videoId === '') throw new InvalidInputError(`stage request of job ${request.jobId} has no video id`);
  const stage = fromProtoStage(request.stage);
  const expected = PARAMS_CASE[stage];
  if (request.params?.$case !== expected) {
    throw new InvalidInputError(
      `stage request of job ${request.jobId} is for stage ${stage} but carries ${request.params ? `${request.params.$case} parameters` : 'no parameters'}`,
    );
  }
  return request;
}

/** `Codec<StageRequest>` for @mitosis/events: protobuf bytes of mitosis.internal.v1.StageRequest, checked on decode. */
export const stageRequestCodec: Codec<StageRequest> = {
  encode: (request) => StageRequest.encode(request).finish(),
  decode: (bytes) => {
    let request: StageRequest;
    try {
      request = StageRequest.decode(bytes);
    } catch (error: unknown) {
      throw new InvalidInputError(`stage request does not decode as mitosis.internal.v1.StageRequest (${bytes.length} bytes)`, { cause: error });
    }
    return checkStageRequest(request);
  },
};
