import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BlobStore, FrameRange, ProgressSink } from '@mitosis/core';
import { InvalidInputError, NotFoundError, PreconditionError, silentProgress } from '@mitosis/core';
import type { Job, Stage } from '@mitosis/events';
import type { StageRequest } from '@mitosis/proto';
import { VideoFormat } from '@mitosis/proto';
import type { MitosisPoint } from '@mitosis/scoring';
import {
  METHOD_DEFAULTS,
  analysisKeys,
  getJson,
  readVideoMeta,
  runDetectionStage,
  runEventLengthStage,
  runIngestStage,
  runNormalCellMapStage,
  runTrainingStage,
} from '@mitosis/stages';
import type { StageDefaults } from './config';
import { DEFAULT_STAGE_DEFAULTS } from './config';
import { detectSourceFormat, readFrameArchive } from './frame-archive';
import type { AnalysisJobParams, DetectionJobParams, TrainingJobParams } from './job-params';
import { checkJobKind, checkJobParams } from './job-params';
import { arrayMetadataKey, keys } from './keys';
import { checkStageRequest } from './stage-codec';

/**
 * One stage's work, fully resolved: keys, ranges and every option, from the StageRequest, the
 * job's params and the configured defaults. Plain data, so a stage thread can run it.
 */
export type StageTask = IngestTask | NormalCellMapTask | EventLengthTask | TrainTask | DetectTask;

interface TaskBase {
  readonly jobId: string;
  readonly videoId: string;
  /** The preprocessed frames (written by ingest, read by every other stage). */
  readonly framesKey: string;
}

export interface IngestTask extends TaskBase {
  readonly stage: 'ingest';
  readonly sourceKey: string;
  /** 'auto': ingest measures the cells and chooses (chooseDownscaleFactor). */
  readonly factor: number | 'auto';
  /** Whether the request or the job chose the factor (else it is the configured default). */
  readonly factorChosen: boolean;
  readonly hints: { readonly format?: 'tiff' | 'frame-archive'; readonly frameCount?: number; readonly bitDepth?: number };
}

export interface NormalCellMapTask extends TaskBase {
  readonly stage: 'm1';
  /** Analysis folder (analysisKeys). */
  readonly prefix: string;
  readonly range?: FrameRange;
  readonly iterations: number;
  readonly crop: number;
  readonly seed: number;
  /** Number of feature maps, when not the model's default (6). */
  readonly maps?: number;
  readonly normalMap?: number;
  /** Cleaning of the binarised map (the stage's defaults where absent: 1 erosion, keep all). */
  readonly erosions?: number;
  readonly minArea?: number;
  readonly minFrames?: number;
}

export interface EventLengthTask extends TaskBase {
  readonly stage: 'm2';
  readonly prefix: string;
  readonly range?: FrameRange;
  readonly iterations: number;
  readonly crop: number;
  readonly seed: number;
  readonly sequenceLength: number;
  /** Sequences per update, event weight and loss margin (the stage's defaults where absent). */
  readonly batch?: number;
  readonly positiveWeight?: number;
  readonly lossMargin?: number;
  /** M2 trainings whose median k is recommended (the stage's default where absent). */
  readonly runs?: number;
}

export interface TrainTask extends TaskBase {
  readonly stage: 'm3-train';
  readonly annotationsKey: string;
  readonly modelPrefix: string;
  readonly range: FrameRange;
  readonly k: number;
  readonly iterations: number;
  readonly crop: number;
  readonly batch: number;
  readonly seed: number;
  readonly positiveWeight: number;
  /** A fixed detection threshold, or 'auto': chosen with the vote rule on the annotated frames. */
  readonly threshold: number | 'auto';
}

export interface DetectTask extends TaskBase {
  readonly stage: 'm3-detect';
  readonly modelPrefix: string;
  readonly modelId: string;
  readonly range?: FrameRange;
  readonly step: number;
  /** How windows are combined; absent: the rule stored with the model. */
  readonly vote?: 'any' | 'mean';
  /** Binarisation threshold; absent: the one stored with the model. */
  readonly threshold?: number;
  readonly mergeDistance: number;
  readonly detectionsKey: string;
  readonly probabilityKey: string;
}

/** What a stage wrote and measured. */
export interface StageOutcome {
  readonly stage: Stage;
  /** Output keys by name; they go into the job's `outputs`. */
  readonly outputs: Record<string, string>;
  /** Numbers for logs and traces (seconds, loss, counts). */
  readonly metrics: Record<string, number>;
}

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

/** The content of `videos/<videoId>/video.json` (written by the gateway after the upload checks). */
export interface VideoFile {
  readonly videoId: string;
  readonly filename: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly frameCount: number;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly createdAt: string;
}

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
        jobId,
        videoId,
        framesKey,
        prefix: request.outputPrefix || keys.analysisPrefix(jobId),
        ...(v.frames ? { range: checkRange(v.frames, 'm1 frames') } : {}),
        iterations: v.iterations || d.m1Iterations,
        crop: extras.crop || d.crop,
        seed: v.seed,
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
        jobId,
        videoId,
        framesKey,
        prefix: request.outputPrefix || keys.analysisPrefix(jobId),
        ...(v.frames ? { range: checkRange(v.frames, 'm2 frames') } : {}),
        iterations: v.iterations || d.m2Iterations,
        crop: extras.m2Crop || extras.crop || d.crop,
        seed: v.seed,
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
        jobId,
        videoId,
        framesKey,
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
        jobId,
        videoId,
        framesKey,
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

export interface ExecuteDeps {
  readonly store: BlobStore;
  readonly progress?: ProgressSink;
  /** Checked between the phases of a stage (the stage functions themselves run to the end). */
  readonly signal?: AbortSignal;
}

/**
 * Runs one resolved stage with the @mitosis/stages functions the embedded CLI uses, so the
 * services give the same results for the same frames, seed and options.
 */
export async function executeStage(task: StageTask, deps: ExecuteDeps): Promise<StageOutcome> {
  const started = performance.now();
  const check = (): void => deps.signal?.throwIfAborted();
  const progress = deps.progress ?? silentProgress;
  check();
  if (task.stage !== 'ingest' && !(await deps.store.exists(arrayMetadataKey(task.framesKey)))) {
    throw new PreconditionError(`video ${task.videoId} has no preprocessed frames (${task.framesKey}): ingest it first (a job with an ingest stage)`);
  }
  const done = (outputs: Record<string, string>, metrics: Record<string, number>): StageOutcome => ({
    stage: task.stage,
    outputs,
    metrics: { ...metrics, seconds: round((performance.now() - started) / 1000, 3) },
  });
  switch (task.stage) {
    case 'ingest':
      return done({ frames: task.framesKey }, await ingest(task, deps.store, progress, check));
    case 'm1': {
      const k = analysisKeys(task.prefix);
      const choice = await runNormalCellMapStage(
        deps.store,
        { videoKey: task.framesKey, prefix: task.prefix, ...(task.range ? { range: task.range } : {}) },
        {
          training: { iterations: task.iterations, crop: task.crop, seed: task.seed, ...(task.maps !== undefined ? { model: { maps: task.maps } } : {}) },
          ...(task.normalMap !== undefined ? { normalMap: task.normalMap } : {}),
          ...(task.erosions !== undefined ? { erosions: task.erosions } : {}),
          ...(task.minArea !== undefined ? { minArea: task.minArea } : {}),
          ...(task.minFrames !== undefined ? { minFrames: task.minFrames } : {}),
          onProgress: progress,
        },
      );
      return done(
        { analysis: task.prefix, m1Model: k.m1, featureMaps: k.featureMaps, normalCellMap: k.normalCellMap, mapChoice: k.mapChoice },
        { normalCellMap: choice.chosen, automatic: choice.automatic ? 1 : 0, iterations: task.iterations, frames: await frameCount(deps.store, task) },
      );
    }
    case 'm2': {
      const k = analysisKeys(task.prefix);
      const { stats } = await runEventLengthStage(
        deps.store,
        { videoKey: task.framesKey, prefix: task.prefix, ...(task.range ? { range: task.range } : {}) },
        {
          training: {
            iterations: task.iterations,
            crop: task.crop,
            seed: task.seed,
            sequenceLength: task.sequenceLength,
            ...(task.batch !== undefined ? { batch: task.batch } : {}),
            ...(task.lossMargin !== undefined ? { lossMargin: task.lossMargin } : {}),
            ...(task.positiveWeight !== undefined ? { model: { positiveWeight: task.positiveWeight } } : {}),
          },
          ...(task.runs !== undefined ? { runs: task.runs } : {}),
          onProgress: progress,
        },
      );
      return done(
        { m2Model: k.m2, eventProbability: k.eventProbability, stats: k.stats },
        {
          events: stats.count,
          meanLength: stats.mean,
          p75Length: stats.p75,
          recommendedK: stats.recommendedK,
          iterations: task.iterations,
          frames: await frameCount(deps.store, task),
        },
      );
    }
    case 'm3-train': {
      const annotations = await readAnnotationSet(deps.store, task);
      check();
      const meta = await runTrainingStage(
        deps.store,
        { videoKey: task.framesKey, range: task.range, annotations, annotationSource: `annotation set ${task.annotationsKey}`, modelPrefix: task.modelPrefix },
        {
          k: task.k,
          iterations: task.iterations,
          crop: task.crop,
          batch: task.batch,
          seed: task.seed,
          model: { positiveWeight: task.positiveWeight },
          detectionThreshold: task.threshold,
          onProgress: progress,
        },
      );
      return done(
        { model: task.modelPrefix },
        {
          iterations: meta.iterations,
          annotations: meta.annotations,
          k: meta.k,
          frames: task.range.last - task.range.first + 1,
          ...(meta.finalLoss === null ? {} : { finalLoss: meta.finalLoss }),
        },
      );
    }
    case 'm3-detect': {
      const result = await runDetectionStage(
        deps.store,
        { videoKey: task.framesKey, modelPrefix: task.modelPrefix, outputKey: task.probabilityKey, ...(task.range ? { range: task.range } : {}) },
        {
          step: task.step,
          mergeDistance: task.mergeDistance,
          ...(task.vote ? { vote: task.vote } : {}),
          ...(task.threshold !== undefined ? { threshold: task.threshold } : {}),
          onProgress: progress,
        },
      );
      check();
      const frames = task.range ?? { first: result.meta.firstFrame, last: result.meta.firstFrame + result.meta.frames - 1 };
      const file: DetectionsFile = {
        jobId: task.jobId,
        videoId: task.videoId,
        modelId: task.modelId,
        frames,
        k: result.detectorMeta.k,
        factor: result.meta.factor,
        count: result.detections.length,
        detections: result.detections.map((p) => ({ frame: p.frame, x: p.x, y: p.y, score: p.score ?? 0 })),
      };
      await deps.store.put(task.detectionsKey, new TextEncoder().encode(`${JSON.stringify(file, null, 1)}\n`));
      return done({ detections: task.detectionsKey, detectionProbability: task.probabilityKey }, { detections: file.count, frames: frames.last - frames.first + 1 });
    }
  }
}

/** Frames a stage read: its range, or the whole stored video (for the `frames` metric, traces and frames per second). */
async function frameCount(store: BlobStore, task: { framesKey: string; range?: FrameRange }): Promise<number> {
  if (task.range !== undefined) return task.range.last - task.range.first + 1;
  return (await readVideoMeta(store, task.framesKey)).frames;
}

/**
 * Ingest (method step 1) in the worker: the uploaded bytes into a temporary file (or folder, for
 * a tar of frames), then runIngestStage, the CLI's ingest (normalised on the whole video).
 * A video has one set of frames, which other jobs may be reading: frames already stored are
 * reused (ingest is cheap to repeat, so any job may start with it), never rewritten with another
 * factor; asking for another factor explicitly is a FAILED_PRECONDITION.
 */
async function ingest(task: IngestTask, store: BlobStore, progress: ProgressSink, check: () => void): Promise<Record<string, number>> {
  const existing = await storedVideo(store, task.framesKey);
  if (existing !== undefined && existing.source === task.sourceKey) {
    if (task.factorChosen && existing.factor !== task.factor) {
      throw new PreconditionError(`video ${task.videoId} was ingested with downscale factor ${existing.factor}, not ${task.factor}; its frames are kept as they are`);
    }
    progress({ step: 'ingest', done: 1, total: 1, detail: 'frames already ingested' });
    return { reused: 1, frames: existing.frames, width: existing.originalWidth, height: existing.originalHeight, factor: existing.factor };
  }
  progress({ step: 'ingest', done: 0, total: 3, detail: 'reading the upload' });
  let bytes: Uint8Array;
  try {
    bytes = await store.get(task.sourceKey);
  } catch (error: unknown) {
    if (error instanceof NotFoundError) throw new NotFoundError(`video ${task.videoId} has no uploaded source (${task.sourceKey})`, { cause: error });
    throw error;
  }
  const format = detectSourceFormat(bytes, task.sourceKey);
  if (task.hints.format !== undefined && task.hints.format !== format) {
    throw new InvalidInputError(`${task.sourceKey}: the upload was announced as ${task.hints.format} but is a ${format}`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'mitosis-ingest-'));
  try {
    let local: string;
    if (format === 'tiff') {
      local = path.join(dir, 'source.tif');
      await writeFile(local, bytes);
    } else {
      local = path.join(dir, 'frames');
      await mkdir(local);
      for (const frame of await readFrameArchive(bytes, task.sourceKey)) await writeFile(path.join(local, frame.name), frame.data);
    }
    check();
    const expect = {
      ...(task.hints.frameCount !== undefined ? { frameCount: task.hints.frameCount } : {}),
      ...(task.hints.bitDepth !== undefined ? { bitDepth: task.hints.bitDepth } : {}),
    };
    const result = await runIngestStage(store, task.framesKey, local, { factor: task.factor, source: task.sourceKey, expect, onProgress: progress, check });
    return {
      reused: 0,
      frames: result.frameCount,
      width: result.width,
      height: result.height,
      bitDepth: result.bitDepth,
      factor: result.factor,
      downscaledWidth: result.meta.width,
      downscaledHeight: result.meta.height,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Whether ingest has stored the video's frames: a job on a video that has not needs an ingest stage first. */
export async function isIngested(store: BlobStore, videoId: string): Promise<boolean> {
  return store.exists(arrayMetadataKey(keys.videoFrames(videoId)));
}

async function storedVideo(store: BlobStore, framesKey: string) {
  if (!(await store.exists(arrayMetadataKey(framesKey)))) return undefined;
  try {
    return await readVideoMeta(store, framesKey);
  } catch {
    return undefined; // not a preprocessed video (written by something else): ingest again
  }
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

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
