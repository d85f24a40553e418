import type { BlobStore, FrameRange } from '@mitosis/core';
import { InvalidInputError, NotFoundError, PreconditionError } from '@mitosis/core';
import { loadModel, saveModel } from '@mitosis/models';
import type { MitosisPoint } from '@mitosis/scoring';
import { checkPointsInside } from '@mitosis/scoring';
import { readArray, readArrayMetadata, writeArray } from '@mitosis/tensor-store';
import type { PreprocessedVideo, PhysicalSizes } from '@mitosis/video';
import type { Volume } from '@mitosis/volume';
import type { DetectionOptions, DetectorTrainingOptions, ThresholdChoice } from './detector';
import { chooseDetectionThreshold, detectMitoses, trainDetectorOn } from './detector';
import type { SequenceGrid } from './labels';
import { buildMitosisLabels } from './labels';

/**
 * The stages of the method as functions from stored tensors to stored tensors (SPEC "the system"):
 * each reads its inputs from a BlobStore by key and writes its outputs under deterministic keys,
 * so the CLI (local folder) and the services (S3/MinIO, one stage per worker) run the very same
 * code, and a stage run twice overwrites its outputs instead of duplicating them.
 */

/** What is stored beside a preprocessed video's frames (`<key>` array attributes). */
export interface StoredVideoMeta {
  /** 1-based number, in the source video, of stored frame 0. */
  readonly firstFrame: number;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  readonly factor: number;
  readonly originalWidth: number;
  readonly originalHeight: number;
  readonly bitDepth: number;
  readonly source: string;
  /** Whether the frames were flat-field corrected (absent in videos stored before: no). */
  readonly flatField?: boolean;
  /** The cells' measured radius in original pixels (estimateCellSize), where measured. */
  readonly cellRadius?: number;
  /** Whether `factor` was given or follows the cell size. */
  readonly factorChosenBy?: 'given' | 'cell-size';
  /** Pixel size (µm) and frame interval (s), where the source file states them (OME-Zarr, OME-TIFF). */
  readonly physical?: PhysicalSizes;
}

export function gridOf(meta: StoredVideoMeta, range?: FrameRange): SequenceGrid {
  const firstFrame = range?.first ?? meta.firstFrame;
  const frames = range ? range.last - range.first + 1 : meta.frames;
  return { firstFrame, frames, height: meta.height, width: meta.width, factor: meta.factor };
}

/** Preprocess, stored: the downscaled [0,1] frames as a float32 array chunked by frame. */
export async function storePreprocessedVideo(
  store: BlobStore,
  key: string,
  video: PreprocessedVideo,
  source: string,
  scale: Pick<StoredVideoMeta, 'cellRadius' | 'factorChosenBy' | 'physical'> = {},
): Promise<StoredVideoMeta> {
  const { volume } = video;
  const meta: StoredVideoMeta = {
    firstFrame: video.firstFrame,
    frames: volume.frames,
    height: volume.height,
    width: volume.width,
    factor: video.factor,
    originalWidth: video.originalWidth,
    originalHeight: video.originalHeight,
    bitDepth: video.bitDepth,
    source,
    flatField: video.flatField,
    ...scale,
  };
  await writeArray(
    store,
    key,
    { data: volume.data, shape: [volume.frames, volume.height, volume.width] },
    {
      dimensionNames: ['t', 'y', 'x'],
      attributes: { mitosis: meta },
    },
  );
  return meta;
}

export async function readVideoMeta(store: BlobStore, key: string): Promise<StoredVideoMeta> {
  const meta = (await readArrayMetadata(store, key)).attributes['mitosis'] as StoredVideoMeta | undefined;
  if (!meta) throw new InvalidInputError(`stored array "${key}" is not a preprocessed video`);
  return meta;
}

/** Frames of a stored video, all or a 1-based inclusive range of the source video's numbering. */
export async function loadStoredFrames(store: BlobStore, key: string, range?: FrameRange): Promise<{ volume: Volume<Float32Array>; meta: StoredVideoMeta }> {
  const meta = await readVideoMeta(store, key);
  const last = meta.firstFrame + meta.frames - 1;
  if (range && (range.first < meta.firstFrame || range.last > last)) {
    throw new InvalidInputError(`frames ${range.first}:${range.last} are outside the stored video (frames ${meta.firstFrame}:${last})`);
  }
  const start = range ? range.first - meta.firstFrame : 0;
  const end = range ? range.last - meta.firstFrame + 1 : meta.frames;
  const array = await readArray(store, key, { start, end });
  return { volume: { data: array.data as Float32Array, frames: end - start, height: meta.height, width: meta.width }, meta };
}

/** `prefix/file`, or `file` alone when the prefix is empty (a model folder of its own). */
export function joinKey(prefix: string, file: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? file : `${trimmed}/${file}`;
}

export async function putJson(store: BlobStore, key: string, value: unknown): Promise<void> {
  await store.put(key, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}

export async function getJson<T>(store: BlobStore, key: string): Promise<T> {
  const bytes = await store.get(key);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (error: unknown) {
    throw new InvalidInputError(`stored "${key}" is not valid JSON`, { cause: error });
  }
}

/** Keys of one analysis (M1 + M2) under its prefix. */
export function analysisKeys(prefix: string) {
  return {
    m1: `${prefix}/m1`,
    featureMaps: `${prefix}/feature-maps`,
    normalCellMap: `${prefix}/normal-cell-map`,
    mapChoice: `${prefix}/normal-cell-map.json`,
    m2: `${prefix}/m2`,
    eventProbability: `${prefix}/event-probability`,
    stats: `${prefix}/stats.json`,
  } as const;
}

/** What is stored beside a trained M3 (`<prefix>/training.json`). */
export interface DetectorMeta {
  readonly k: number;
  readonly factor: number;
  readonly trainingFrames: { readonly first: number; readonly last: number };
  readonly annotations: number;
  /** Videos M3 trained on, where more than one (a plate's annotated fields). */
  readonly videos?: number;
  readonly iterations: number;
  readonly finalLoss: number | null;
  readonly source: string;
  /** Whether the training frames were flat-field corrected: detection must preprocess alike. */
  readonly flatField?: boolean;
  /** The threshold detection applies by default (models stored before it existed: 0.5). */
  readonly threshold?: number;
  /** How detection combines windows by default, chosen with the threshold (models stored before it existed: 'any'). */
  readonly vote?: 'any' | 'mean';
  /** How it was chosen, with each candidate's F1 on the annotated frames. */
  readonly thresholdChoice?: ThresholdChoice;
}

/** The annotated frames of one stored video, for M3's training. */
export interface TrainingVideo {
  readonly videoKey: string;
  readonly range: FrameRange;
  readonly annotations: readonly MitosisPoint[];
  readonly annotationSource: string;
  /** Frames of the whole source video when only part of it is stored (annotations beyond it are errors). */
  readonly videoFrames?: FrameRange;
}

/** One video's frames, its grid and labels, its annotations inside the range, checked. */
async function trainingSegment(store: BlobStore, video: TrainingVideo) {
  const { volume, meta } = await loadStoredFrames(store, video.videoKey, video.range);
  const videoFrames = video.videoFrames ?? { first: meta.firstFrame, last: meta.firstFrame + meta.frames - 1 };
  checkPointsInside(
    video.annotations,
    { firstFrame: videoFrames.first, lastFrame: videoFrames.last, width: meta.originalWidth, height: meta.originalHeight },
    video.annotationSource,
  );
  const grid = gridOf(meta, video.range);
  const inside = video.annotations.filter((p) => p.frame >= video.range.first && p.frame <= video.range.last);
  return { volume, meta, grid, inside, labels: buildMitosisLabels(inside, grid) };
}

/**
 * M3 training stage: labels from the annotations inside the training frames, then training;
 * stores the labels (`<prefix>/labels`) and the model. `more` trains on other videos' annotated
 * frames too (a plate's annotated fields, stored at the same factor); the threshold is then
 * chosen on the first video's frames and the labels stored are the first video's.
 */
export async function runTrainingStage(
  store: BlobStore,
  input: TrainingVideo & { modelPrefix: string; more?: readonly TrainingVideo[] },
  options: DetectorTrainingOptions,
): Promise<DetectorMeta> {
  const { volume, meta, grid, inside, labels } = await trainingSegment(store, input);
  const others = await Promise.all((input.more ?? []).map((video) => trainingSegment(store, video)));
  for (const [n, other] of others.entries()) {
    if (other.meta.factor !== meta.factor || (other.meta.flatField === true) !== (meta.flatField === true)) {
      throw new PreconditionError(
        `training video ${n + 2} (${input.more?.[n]?.annotationSource}) is stored at factor ${other.meta.factor}, the first at ${meta.factor}: M3 learns one scale`,
      );
    }
  }
  const fixed = options.detectionThreshold;
  if (typeof fixed === 'number' && !(fixed > 0 && fixed < 1)) throw new InvalidInputError(`the detection threshold must be between 0 and 1, got ${fixed}`);
  const { model, losses } = trainDetectorOn([{ frames: volume, labels }, ...others.map((o) => ({ frames: o.volume, labels: o.labels }))], options);
  try {
    const thresholdChoice: ThresholdChoice =
      fixed === undefined || fixed === 'auto'
        ? chooseDetectionThreshold(model, volume, grid, options.k, inside, { ...(options.onProgress ? { onProgress: options.onProgress } : {}) })
        : { threshold: fixed, chosenBy: 'given', vote: 'any', candidates: [] };
    // The labels M3 learnt from, beside it as a frame-chunked array (written once training has
    // finished, so a cancelled training leaves nothing): they can be looked at or reused.
    await writeArray(
      store,
      joinKey(input.modelPrefix, 'labels'),
      { data: labels.data, shape: [labels.frames, labels.height, labels.width] },
      {
        dimensionNames: ['t', 'y', 'x'],
        attributes: { trainingFrames: { first: input.range.first, last: input.range.last } },
      },
    );
    await saveModel(store, input.modelPrefix, model);
    const detectorMeta: DetectorMeta = {
      k: options.k,
      factor: meta.factor,
      trainingFrames: { first: input.range.first, last: input.range.last },
      annotations: inside.length + others.reduce((n, o) => n + o.inside.length, 0),
      ...(others.length === 0 ? {} : { videos: 1 + others.length }),
      iterations: losses.length,
      finalLoss: losses.length > 0 ? (losses[losses.length - 1] ?? null) : null,
      source: meta.source,
      flatField: meta.flatField === true,
      threshold: thresholdChoice.threshold,
      vote: thresholdChoice.vote,
      thresholdChoice,
    };
    await putJson(store, joinKey(input.modelPrefix, 'training.json'), detectorMeta);
    return detectorMeta;
  } finally {
    model.dispose();
  }
}

export async function readDetectorMeta(store: BlobStore, modelPrefix: string): Promise<DetectorMeta> {
  try {
    return await getJson<DetectorMeta>(store, joinKey(modelPrefix, 'training.json'));
  } catch (error: unknown) {
    if (error instanceof NotFoundError) throw new NotFoundError(`no trained detector at "${modelPrefix}" (training.json is missing)`, { cause: error });
    throw error;
  }
}

/** Detection stage: loads M3, slides windows over the stored frames, returns the detections (and stores the probability map). */
export async function runDetectionStage(
  store: BlobStore,
  input: { videoKey: string; range?: FrameRange; modelStore?: BlobStore; modelPrefix: string; outputKey?: string },
  options: DetectionOptions = {},
) {
  const modelStore = input.modelStore ?? store;
  const detectorMeta = await readDetectorMeta(modelStore, input.modelPrefix);
  const { volume, meta } = await loadStoredFrames(store, input.videoKey, input.range);
  if (meta.factor !== detectorMeta.factor) {
    throw new PreconditionError(`the model was trained on frames downscaled by ${detectorMeta.factor}, this video by ${meta.factor}`);
  }
  if ((meta.flatField === true) !== (detectorMeta.flatField === true)) {
    const said = (on: boolean): string => (on ? 'with' : 'without');
    throw new PreconditionError(
      `the model was trained on frames ${said(detectorMeta.flatField === true)} flat-field correction, this video was preprocessed ${said(meta.flatField === true)} it`,
    );
  }
  const model = await loadModel(modelStore, input.modelPrefix, 'm3');
  try {
    const threshold = options.threshold ?? detectorMeta.threshold ?? 0.5;
    const vote = options.vote ?? detectorMeta.vote ?? 'any';
    const result = detectMitoses(model, volume, gridOf(meta, input.range), detectorMeta.k, { ...options, threshold, vote });
    if (input.outputKey) {
      await writeArray(store, input.outputKey, { data: result.probability.data, shape: [volume.frames, volume.height, volume.width] }, { dimensionNames: ['t', 'y', 'x'] });
    }
    return { ...result, detectorMeta, meta, threshold, vote };
  } finally {
    model.dispose();
  }
}
