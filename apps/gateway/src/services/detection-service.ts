import { frameRangeLength, InvalidInputError, MitosisError, NotFoundError, PreconditionError } from '@mitosis/core';
import type { Detection, DetectionServiceServer, ListDetectionsRequest, ListDetectionsResponse, RunDetectionRequest } from '@mitosis/proto';
import { DetectionVote, JobState } from '@mitosis/proto';
import { describeRange, resolveFrameRange } from '../frames';
import { serverStreaming, unary } from '../grpc/calls';
import type { Send } from '../grpc/calls';
import type { DetectionJobParams } from '@mitosis/service-kit';
import { storedFrames } from '@mitosis/service-kit';
import { startJob } from '../jobs/start';
import { jobToProto } from '../jobs/to-proto';
import { decodePageToken, encodePageToken, pageSize } from '../paging';
import { keys } from '../storage/keys';
import type { StoredDetection, StoredDetectorMeta } from '../storage/records';
import { isStoredDetectorMeta, readModelRecord, readRecord, readVideoRecord } from '../storage/records';
import type { ServiceContext } from './context';
import { checkFramesFor } from '@mitosis/stages';
import type { PhysicalSizes } from '@mitosis/video';
import { modelState } from './model-service';
import { requireSucceededJob } from './require-job';

/** The request checked: a trained model, and a frame range of at least its k frames (one window, III.G). */
export async function detectionParams(ctx: ServiceContext, request: RunDetectionRequest): Promise<DetectionJobParams> {
  const video = await readVideoRecord(ctx.store, request.videoId);
  const model = await readModelRecord(ctx.store, request.modelId);
  const state = await modelState(ctx, model);
  if (state !== JobState.JOB_STATE_SUCCEEDED) {
    throw new PreconditionError(`model "${model.modelId}" is not trained: its training job "${model.trainingJobId}" is ${JobState[state].replace('JOB_STATE_', '')}`);
  }
  const meta = await readRecord(ctx.store, keys.modelTraining(model.modelId), isStoredDetectorMeta, `model "${model.modelId}" has no training.json`).catch((error: unknown) => {
    throw error instanceof NotFoundError ? new PreconditionError(`model "${model.modelId}" is not trained yet (no training.json)`, { cause: error }) : error;
  });
  checkFramesFor(`video "${video.videoId}"`, video.frameCount, { job: 'detection', k: meta.k });
  await checkFramesMatchModel(ctx, video.videoId, model.modelId, meta);
  const frames = resolveFrameRange(request.frames, video.frameCount, 'frames');
  if (frameRangeLength(frames) < meta.k) {
    throw new InvalidInputError(`frames ${describeRange(frames)} are fewer than the model's k = ${meta.k}: detection slides windows of k frames`);
  }
  const vote = VOTES[request.vote];
  if (vote === undefined) throw new InvalidInputError(`vote ${request.vote} is not a DetectionVote`);
  return {
    videoId: video.videoId,
    ...(video.channel ? { channel: video.channel } : {}),
    modelId: model.modelId,
    // A video not ingested yet is ingested at the model's scale, not at the one its cells suggest.
    ...(meta.factor ? { downscaleFactor: meta.factor } : {}),
    frames,
    ...(vote === 'model' ? {} : { vote }),
    ...(request.threshold ? { threshold: request.threshold } : {}),
    ...(request.mergeDistance === undefined ? {} : { mergeDistance: request.mergeDistance }),
  };
}

/**
 * M3 learnt cells at the size they had in its training frames: frames of this video stored at
 * another downscale factor (or preprocessed otherwise) would fail in the detection stage, after
 * queueing, so they are refused here with the numbers.
 */
async function checkFramesMatchModel(ctx: ServiceContext, videoId: string, modelId: string, model: StoredDetectorMeta): Promise<void> {
  const frames = await storedFrames(ctx.store, keys.videoFrames(videoId));
  if (frames === undefined) return;
  if (model.factor !== undefined && frames.factor !== model.factor) {
    throw new PreconditionError(
      `video "${videoId}" is stored downscaled by ${frames.factor} (${frames.width}x${frames.height} px), model "${modelId}" was trained on frames downscaled by ${model.factor}: ` +
        `its cells would be ${frames.factor > model.factor ? 'smaller' : 'larger'} than those M3 learnt; train a model on this video's frames`,
    );
  }
  if (model.flatField !== undefined && (frames.flatField === true) !== model.flatField) {
    const said = (on: boolean): string => (on ? 'with' : 'without');
    throw new PreconditionError(
      `model "${modelId}" was trained on frames ${said(model.flatField)} flat-field correction, video "${videoId}" is stored ${said(frames.flatField === true)} it`,
    );
  }
}

/** UNSPECIFIED leaves the vote rule to the model (the one its training chose with the threshold). */
const VOTES: Partial<Record<DetectionVote, 'any' | 'mean' | 'model'>> = {
  [DetectionVote.DETECTION_VOTE_UNSPECIFIED]: 'model',
  [DetectionVote.DETECTION_VOTE_ANY]: 'any',
  [DetectionVote.DETECTION_VOTE_MEAN]: 'mean',
};

async function detectionsOfJob(ctx: ServiceContext, jobId: string): Promise<readonly StoredDetection[]> {
  const job = await requireSucceededJob(ctx, jobId, 'detection');
  return ctx.results.detectionsOf(job.id).catch((error: unknown) => {
    // The job says it finished: missing detections are the server's fault, not the client's.
    throw error instanceof NotFoundError ? new MitosisError('INTERNAL', `detection job "${job.id}" SUCCEEDED but ${keys.detections(job.id)} is missing`, { cause: error }) : error;
  });
}

/** A detection as sent, with minutes and micrometres where its video states its frame interval and pixel size. */
const toDetection = (d: StoredDetection, physical: PhysicalSizes | undefined): Detection => ({
  frame: d.frame,
  x: d.x,
  y: d.y,
  score: d.score,
  voxelCount: d.voxelCount ?? 0,
  ...(physical?.frameIntervalS === undefined ? {} : { timeMin: ((d.frame - 1) * physical.frameIntervalS) / 60 }),
  ...(physical?.pixelSizeUm === undefined ? {} : { xUm: d.x * physical.pixelSizeUm.x, yUm: d.y * physical.pixelSizeUm.y }),
});

/** The physical sizes of the video a detection job searched (none when its record states none). */
async function physicalOfJob(ctx: ServiceContext, jobId: string): Promise<PhysicalSizes | undefined> {
  const job = await requireSucceededJob(ctx, jobId, 'detection');
  const videoId = (job.params as { videoId?: unknown }).videoId;
  if (typeof videoId !== 'string') return undefined;
  return (await readVideoRecord(ctx.store, videoId).catch(() => undefined))?.physical;
}

interface OffsetToken {
  o: number;
}
const isOffsetToken = (value: unknown): value is OffsetToken =>
  typeof value === 'object' && value !== null && Number.isSafeInteger((value as OffsetToken).o) && (value as OffsetToken).o > 0;

/** One page; the detections of a finished job never change, so the token is an offset. */
export async function listDetections(ctx: ServiceContext, request: ListDetectionsRequest): Promise<ListDetectionsResponse> {
  const size = pageSize(request.pageSize, 1000, 10_000);
  const offset = request.pageToken === '' ? 0 : decodePageToken(request.pageToken, isOffsetToken).o;
  const all = await detectionsOfJob(ctx, request.jobId);
  const physical = await physicalOfJob(ctx, request.jobId);
  if (offset > all.length) throw new InvalidInputError(`page_token points past the ${all.length} detections of job "${request.jobId}"`);
  const end = Math.min(all.length, offset + size);
  return { detections: all.slice(offset, end).map((d) => toDetection(d, physical)), nextPageToken: end < all.length ? encodePageToken({ o: end }) : '', totalCount: all.length };
}

const decimals = (value: number, digits: number): string => String(Number(value.toFixed(digits)));

/** One CSV row: frame, x, y to a hundredth (of a frame, of an original pixel), score to 1e-4. */
export function detectionCsvRow(d: StoredDetection): string {
  return `${decimals(d.frame, 2)},${decimals(d.x, 2)},${decimals(d.y, 2)},${decimals(d.score, 4)}\n`;
}

export const EXPORT_CHUNK_BYTES = 64 * 1024;

/** The CSV in chunks of about 64 KiB, each sent only when the client has room for it. */
export async function exportDetections(ctx: ServiceContext, jobId: string, send: Send<{ chunk: Buffer }>): Promise<void> {
  const all = await detectionsOfJob(ctx, jobId);
  let pending = 'frame,x,y,score\n';
  for (const detection of all) {
    pending += detectionCsvRow(detection);
    if (pending.length >= EXPORT_CHUNK_BYTES) {
      await send({ chunk: Buffer.from(pending, 'utf8') });
      pending = '';
    }
  }
  if (pending !== '') await send({ chunk: Buffer.from(pending, 'utf8') });
}

export function detectionService(ctx: ServiceContext): DetectionServiceServer {
  return {
    runDetection: unary(ctx.log, async (request) => {
      const params = await detectionParams(ctx, request);
      return { job: jobToProto(await startJob(ctx, { kind: 'detection', params })) };
    }),
    listDetections: unary(ctx.log, (request) => listDetections(ctx, request)),
    exportDetections: serverStreaming(ctx.log, (request, send) => exportDetections(ctx, request.jobId, send)),
  };
}
