import type { FrameRange } from '@mitosis/core';
import { InvalidInputError } from '@mitosis/core';
import type { Job } from '@mitosis/events';
import type { StageRequest } from '@mitosis/proto';
import { VideoFormat } from '@mitosis/proto';
import { METHOD_DEFAULTS } from '@mitosis/stages';
import type { StageDefaults } from './config';
import { DEFAULT_STAGE_DEFAULTS } from './config';
import type { AnalysisJobParams, DetectionJobParams, TrainingJobParams } from './job-params';
import { checkJobKind, checkJobParams } from './job-params';
import { keys } from './keys';
import { checkStageRequest } from './stage-codec';
import type { StageTask } from './stage-task';

type Extras = Partial<AnalysisJobParams & TrainingJobParams & DetectionJobParams>;

/**
 * Resolves a StageRequest into the task to run. The request's typed parameters come first (0
 * means default, as in the proto); the job's params add what the stage request has no field for
 * (crops, sequence length, batch, positive weight, threshold, vote, merge distance, M2's and the map cleaning's knobs); `defaults` fill the rest. Input keys and the
 * output folder come from the request, falling back to the key layout.
 */
export function resolveStageTask(request: StageRequest, context: { readonly job?: Pick<Job, 'kind' | 'params'>; readonly defaults?: StageDefaults } = {}): StageTask {
  checkStageRequest(request);
  const d = context.defaults ?? DEFAULT_STAGE_DEFAULTS;
  const extras: Extras = context.job ? (checkJobParams(checkJobKind(context.job.kind), context.job.params) as Extras) : {};
  const { jobId, videoId } = request;
  const input = (role: string, fallback: string): string => request.inputKeys[role] || fallback;
  const framesKey = input('frames', keys.videoFrames(videoId));
  // What every task but ingest's (which writes the frames) holds.
  const base = { jobId, videoId, framesKey };
  // M1 and M2 write to the same analysis folder and read their frames, iterations and seed alike.
  const analysis = (v: { frames?: { first: number; last: number } | undefined; iterations: number; seed: number }, what: string, iterations: number) => ({
    ...base,
    prefix: request.outputPrefix || keys.analysisPrefix(jobId),
    ...(v.frames ? { range: checkRange(v.frames, what) } : {}),
    iterations: v.iterations || iterations,
    seed: v.seed,
  });
  const params = request.params;
  if (params === undefined) throw new InvalidInputError(`stage request of job ${jobId} has no parameters`);
  switch (params.$case) {
    case 'ingest': {
      const hints = params.value.hints;
      const chosen = params.value.downscaleFactor || extras.downscaleFactor;
      const format = hints?.format === VideoFormat.VIDEO_FORMAT_MULTIPAGE_TIFF ? 'tiff' : hints?.format === VideoFormat.VIDEO_FORMAT_FRAME_ARCHIVE ? 'frame-archive' : undefined;
      return {
        stage: 'ingest',
        jobId,
        videoId,
        framesKey: request.outputPrefix ? `${request.outputPrefix}/frames` : framesKey,
        sourceKey: input('source', keys.videoSource(videoId)),
        factor: chosen || d.downscaleFactor,
        factorChosen: chosen !== undefined && chosen > 0,
        ...(params.value.channel ? { channel: params.value.channel } : {}),
        hints: {
          ...(format ? { format } : {}),
          ...(hints?.frameCount ? { frameCount: hints.frameCount } : {}),
          ...(hints?.bitDepth ? { bitDepth: hints.bitDepth } : {}),
        },
      };
    }
    case 'm1': {
      const v = params.value;
      return {
        stage: 'm1',
        ...analysis(v, 'm1 frames', d.m1Iterations),
        crop: extras.crop || d.crop,
        ...(v.featureMaps ? { maps: v.featureMaps } : {}),
        ...(v.normalCellMapOverride !== undefined ? { normalMap: v.normalCellMapOverride } : {}),
        ...(extras.erosions !== undefined ? { erosions: extras.erosions } : {}),
        ...(extras.minArea !== undefined ? { minArea: extras.minArea } : {}),
        ...(extras.minFrames ? { minFrames: extras.minFrames } : {}),
      };
    }
    case 'm2': {
      const v = params.value;
      return {
        stage: 'm2',
        ...analysis(v, 'm2 frames', d.m2Iterations),
        crop: extras.m2Crop || extras.crop || d.crop,
        sequenceLength: extras.sequenceLength || d.m2SequenceLength,
        ...(extras.m2Batch ? { batch: extras.m2Batch } : {}),
        ...(extras.m2PositiveWeight ? { positiveWeight: extras.m2PositiveWeight } : {}),
        ...(extras.m2LossMargin ? { lossMargin: extras.m2LossMargin } : {}),
        ...(extras.m2Runs ? { runs: extras.m2Runs } : {}),
      };
    }
    case 'm3Train': {
      const v = params.value;
      if (v.trainingFrames === undefined) throw new InvalidInputError(`training request of job ${jobId} has no training frames`);
      if (v.k < 1) throw new InvalidInputError(`training request of job ${jobId} has k = ${v.k}; k must be >= 1`);
      return {
        stage: 'm3-train',
        ...base,
        annotationsKey: input('annotations', keys.annotationSet(v.annotationSetId)),
        modelPrefix: request.outputPrefix || keys.model(v.modelId),
        range: checkRange(v.trainingFrames, 'training frames'),
        k: v.k,
        iterations: v.iterations || d.m3Iterations,
        crop: extras.crop || d.m3Crop,
        batch: extras.batch || d.m3Batch,
        seed: v.seed,
        positiveWeight: extras.positiveWeight || d.m3PositiveWeight,
        threshold: extras.threshold || METHOD_DEFAULTS.m3.threshold,
      };
    }
    case 'm3Detect': {
      const v = params.value;
      const folder = request.outputPrefix || keys.detectionsPrefix(jobId);
      return {
        stage: 'm3-detect',
        ...base,
        modelPrefix: input('model', keys.model(v.modelId)),
        modelId: v.modelId,
        ...(v.frames ? { range: checkRange(v.frames, 'detection frames') } : {}),
        step: v.windowStep || METHOD_DEFAULTS.m3.windowStep,
        ...(extras.vote ? { vote: extras.vote } : {}),
        ...(extras.threshold ? { threshold: extras.threshold } : {}),
        mergeDistance: extras.mergeDistance ?? METHOD_DEFAULTS.m3.mergeDistance,
        detectionsKey: `${folder}/detections.json`,
        probabilityKey: `${folder}/probability`,
      };
    }
  }
}

function checkRange(range: { first: number; last: number }, what: string): FrameRange {
  if (!Number.isInteger(range.first) || range.first < 1 || range.last < range.first) {
    throw new InvalidInputError(`${what} ${range.first}:${range.last} is empty or starts before frame 1`);
  }
  return { first: range.first, last: range.last };
}
