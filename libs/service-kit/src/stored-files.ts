import type { BlobStore, FrameRange } from '@mitosis/core';
import { InvalidInputError, NotFoundError, PreconditionError } from '@mitosis/core';
import type { MitosisPoint } from '@mitosis/scoring';
import type { PhysicalSizes } from '@mitosis/video';
import { getJson } from '@mitosis/stages';
import type { TrainTask } from './stage-task';

// The JSON records of the store that the gateway and the stages both read or write.

/** The content of `detections/<jobId>/detections.json`. */
export interface DetectionsFile {
  readonly jobId: string;
  readonly videoId: string;
  readonly modelId: string;
  /** Frames searched, 1-based inclusive. */
  readonly frames: FrameRange;
  readonly k: number;
  readonly factor: number;
  readonly count: number;
  /** Ordered by frame, then y, then x; frame 1-based, x and y in original pixels, score in [0,1]. */
  readonly detections: readonly { readonly frame: number; readonly x: number; readonly y: number; readonly score: number }[];
}

/** The content of `annotations/<setId>.json` (written by the gateway). */
export interface AnnotationSetFile {
  readonly setId: string;
  readonly videoId: string;
  readonly points: readonly MitosisPoint[];
  readonly annotatedFrames?: FrameRange;
  readonly createdAt: string;
}

/** The content of `videos/<videoId>/video.json`: what the gateway verified and probed on upload. */
export interface VideoFile {
  readonly videoId: string;
  readonly filename: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly frameCount: number;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  /** How `source` is packaged: one multi-page TIFF, a tar archive of PNG/TIFF frames, or the reference of an OME-Zarr registered where it lies. */
  readonly format: 'tiff' | 'frame-archive' | 'ome-zarr';
  /** ISO-8601. */
  readonly createdAt: string;
  /** Pixel size (µm) and frame interval (s), where the file states them. */
  readonly physical?: PhysicalSizes;
  /** Channel names of a multi-channel file. */
  readonly channels?: string[];
  /** 0-based index of the channel that is the video, chosen at upload; absent for 0. */
  readonly channel?: number;
}

/** Reads and checks an annotation set: a JSON object of this video with finite points. */
export async function readAnnotationSet(store: BlobStore, task: Pick<TrainTask, 'annotationsKey' | 'videoId' | 'range'>): Promise<MitosisPoint[]> {
  let set: AnnotationSetFile;
  try {
    set = await getJson<AnnotationSetFile>(store, task.annotationsKey);
  } catch (error: unknown) {
    if (error instanceof NotFoundError) throw new NotFoundError(`annotation set ${task.annotationsKey} does not exist`, { cause: error });
    throw error;
  }
  const where = `annotation set ${task.annotationsKey}`;
  if (typeof set !== 'object' || set === null || !Array.isArray(set.points)) throw new InvalidInputError(`${where} has no points array`);
  if (set.videoId !== task.videoId) throw new PreconditionError(`${where} belongs to video ${String(set.videoId)}, not ${task.videoId}`);
  const points = set.points.map((p, index) => {
    const ok = typeof p === 'object' && p !== null && [p.frame, p.x, p.y].every((v) => typeof v === 'number' && Number.isFinite(v));
    if (!ok) throw new InvalidInputError(`${where}: point ${index} is not {frame, x, y} with finite numbers`);
    return { frame: p.frame, x: p.x, y: p.y };
  });
  const annotated = set.annotatedFrames;
  if (annotated !== undefined && (task.range.first < annotated.first || task.range.last > annotated.last)) {
    throw new InvalidInputError(`training frames ${task.range.first}:${task.range.last} are not inside the annotated frames ${annotated.first}:${annotated.last} of ${where}`);
  }
  return points;
}
