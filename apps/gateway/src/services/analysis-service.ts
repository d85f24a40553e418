import { frameRangeLength, InvalidInputError, MitosisError } from '@mitosis/core';
import type { AnalysisServiceServer, EventLengthReport, StartAnalysisRequest } from '@mitosis/proto';
import { unary } from '../grpc/calls';
import { resolveFrameRange } from '../frames';
import type { AnalysisJobParams } from '@mitosis/service-kit';
import { METHOD_DEFAULTS, checkFramesFor, framesNeeded } from '@mitosis/stages';
import { startJob } from '../jobs/start';
import { jobToProto } from '../jobs/to-proto';
import { keys } from '../storage/keys';
import { isStoredAnalysisStats, readRecord, readVideoRecord } from '../storage/records';
import type { ServiceContext } from './context';
import { requireSucceededJob } from './require-job';
import { checkAnalysisWork } from './work-limits';

/** n, the number of M1 feature maps, when the request leaves it 0 (paper III.C). */
export const DEFAULT_FEATURE_MAPS = METHOD_DEFAULTS.m1.featureMaps;

/** The request checked against the stored video, as job params (0 iterations: the stage default). */
export async function analysisParams(ctx: ServiceContext, request: StartAnalysisRequest): Promise<AnalysisJobParams> {
  checkAnalysisWork(request.options, ctx.workLimits);
  const video = await readVideoRecord(ctx.store, request.videoId);
  checkFramesFor(`video "${video.videoId}"`, video.frameCount, { job: 'analysis' });
  const frames = resolveFrameRange(request.frames, video.frameCount, 'frames');
  const needed = framesNeeded({ job: 'analysis' });
  const selected = frameRangeLength(frames);
  if (selected < needed.frames) throw new InvalidInputError(`frames ${frames.first}:${frames.last} hold ${selected} frame${selected === 1 ? '' : 's'}; ${needed.why}`);
  const options = request.options;
  const featureMaps = options?.featureMaps || DEFAULT_FEATURE_MAPS;
  const override = options?.normalCellMapOverride;
  if (override !== undefined && override >= featureMaps) {
    throw new InvalidInputError(`options.normal_cell_map_override ${override} is outside the feature maps 0..${featureMaps - 1}`);
  }
  return {
    videoId: video.videoId,
    ...(video.channel ? { channel: video.channel } : {}),
    frames,
    m1Iterations: options?.m1Iterations ?? 0,
    m2Iterations: options?.m2Iterations ?? 0,
    seed: options?.seed ?? 0,
    featureMaps,
    ...(override === undefined ? {} : { normalCellMapOverride: override }),
    // M2's training and the map cleaning; left out where the request leaves the default.
    ...(options?.erosions === undefined ? {} : { erosions: options.erosions }),
    ...(options?.minArea === undefined ? {} : { minArea: options.minArea }),
    ...(options?.minFrames ? { minFrames: options.minFrames } : {}),
    ...(options?.m2Crop ? { m2Crop: options.m2Crop } : {}),
    ...(options?.m2Batch ? { m2Batch: options.m2Batch } : {}),
    ...(options?.m2PositiveWeight ? { m2PositiveWeight: options.m2PositiveWeight } : {}),
    ...(options?.m2LossMargin ? { m2LossMargin: options.m2LossMargin } : {}),
    ...(options?.m2Runs ? { m2Runs: options.m2Runs } : {}),
    ...(options?.crop ? { crop: options.crop } : {}),
    ...(options?.sequenceLength ? { sequenceLength: options.sequenceLength } : {}),
  };
}

/** stats.json of a finished analysis as the API's report (Table I plus the recommendation, III.E). */
export async function eventLengthReport(ctx: ServiceContext, jobId: string): Promise<EventLengthReport> {
  const job = await requireSucceededJob(ctx, jobId, 'analysis');
  const stats = await readRecord(ctx.store, keys.analysisStats(job.id), isStoredAnalysisStats, `analysis job "${job.id}" SUCCEEDED but its stats.json is missing`).catch(
    (error: unknown) => {
      // The job says it finished: a missing report is the server's fault, not the client's.
      throw error instanceof MitosisError && error.kind === 'NOT_FOUND' ? new MitosisError('INTERNAL', error.message, { cause: error }) : error;
    },
  );
  return {
    jobId: job.id,
    videoId: String(job.params['videoId'] ?? ''),
    frames: { first: stats.frames.first, last: stats.frames.last },
    count: stats.count,
    mean: stats.mean,
    std: stats.std,
    p50: stats.p50,
    p75: stats.p75,
    histogram: [...stats.histogram].sort((a, b) => a.length - b.length).map((bin) => ({ length: bin.length, count: bin.count })),
    recommendedK: stats.recommendedK,
    recommendedAnnotationFrames: stats.recommendedAnnotationFrames,
    normalCellMapIndex: stats.normalCellMap,
    normalCellMapOverridden: typeof job.params['normalCellMapOverride'] === 'number',
    mapScores: [...(stats.mapChoice?.scores ?? [])].sort((a, b) => a.index - b.index).map((s) => s.score),
    mapMargin: stats.mapChoice?.margin ?? 0,
    kRuns: [...(stats.kSpread?.runs ?? [])],
    mapsTried: (stats.mapsTried ?? []).map((a) => a.map),
    warnings: [...(stats.warnings ?? [])],
  };
}

export function analysisService(ctx: ServiceContext): AnalysisServiceServer {
  return {
    startAnalysis: unary(ctx.log, async (request) => {
      const params = await analysisParams(ctx, request);
      const job = await startJob(ctx, { kind: 'analysis', params });
      return { job: jobToProto(job) };
    }),
    getEventLengthReport: unary(ctx.log, async (request) => ({ report: await eventLengthReport(ctx, request.jobId) })),
  };
}
