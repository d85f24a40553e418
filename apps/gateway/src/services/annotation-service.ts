import { InvalidInputError } from '@mitosis/core';
import type { AnnotationServiceServer, SubmitAnnotationsRequest, SubmitAnnotationsResponse } from '@mitosis/proto';
import type { MitosisPoint } from '@mitosis/scoring';
import { checkPointsInside, parsePointsCsv } from '@mitosis/scoring';
import { unary } from '../grpc/calls';
import { resolveFrameRange } from '../frames';
import { newId } from '../storage/ids';
import { keys } from '../storage/keys';
import type { AnnotationSetRecord } from '../storage/records';
import { encodeJson, readVideoRecord } from '../storage/records';
import type { ServiceContext } from './context';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The request's points: the list as given, or the CSV parsed (malformed rows named by line). */
function pointsOf(request: SubmitAnnotationsRequest): { points: MitosisPoint[]; source: string } {
  const source = request.source;
  if (source === undefined) throw new InvalidInputError('give the annotations as points or as csv');
  if (source.$case === 'points') return { points: source.value.points.map((p) => ({ frame: p.frame, x: p.x, y: p.y })), source: 'points' };
  let text: string;
  try {
    text = utf8.decode(source.value);
  } catch (error: unknown) {
    throw new InvalidInputError('csv is not valid UTF-8', { cause: error });
  }
  return { points: parsePointsCsv(text, 'csv'), source: 'csv' };
}

/**
 * Checks and stores a set of annotated mitoses: every point inside the video and inside the
 * annotated frames (the first offenders named), then `annotations/<setId>.json`.
 */
export async function submitAnnotations(ctx: ServiceContext, request: SubmitAnnotationsRequest): Promise<SubmitAnnotationsResponse> {
  const video = await readVideoRecord(ctx.store, request.videoId);
  const annotatedFrames = resolveFrameRange(request.annotatedFrames, video.frameCount, 'annotated_frames');
  const { points, source } = pointsOf(request);
  if (points.length === 0) throw new InvalidInputError(`${source}: the set holds no points; annotate at least one mitosis`);
  // One check for both rules: inside the frame and inside the annotated frames (III.F labels come
  // only from frames a person searched in full).
  checkPointsInside(points, { firstFrame: annotatedFrames.first, lastFrame: annotatedFrames.last, width: video.width, height: video.height }, source);
  const record: AnnotationSetRecord = { setId: newId('ann'), videoId: video.videoId, points, annotatedFrames, createdAt: new Date().toISOString() };
  await ctx.store.put(keys.annotationSet(record.setId), encodeJson(record));
  ctx.log.info('annotation set stored', { setId: record.setId, videoId: video.videoId, points: points.length, annotatedFrames });
  return { annotationSetId: record.setId, pointCount: points.length, annotatedFrames };
}

export function annotationService(ctx: ServiceContext): AnnotationServiceServer {
  return { submitAnnotations: unary(ctx.log, (request) => submitAnnotations(ctx, request)) };
}
