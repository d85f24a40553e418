import type { BlobStore, FrameRange, ProgressSink } from '@mitosis/core';
import { InvalidInputError, MitosisError, silentProgress } from '@mitosis/core';
import type { PreprocessedVideo, RawVideo } from '@mitosis/video';
import { chooseDownscaleFactor, estimateCellSize, preprocessVideo, readVideo } from '@mitosis/video';
import { METHOD_DEFAULTS } from './defaults';
import type { StoredVideoMeta } from './pipeline';
import { storePreprocessedVideo } from './pipeline';

export interface IngestOptions {
  /** Spatial downscaling; absent or 'auto': from the cells' measured size (chooseDownscaleFactor). */
  readonly factor?: number | 'auto';
  /** Flat-field correction before the rescale; default METHOD_DEFAULTS.flatField. */
  readonly flatField?: boolean;
  /** Frames to store (1-based, inclusive); absent: the whole video. */
  readonly frames?: FrameRange;
  /** The channel of a multi-channel video, by name or 0-based index; absent: channel 0. */
  readonly channel?: string | number;
  /** Reads the video instead of readVideo(videoPath) (an OME-Zarr read where it lies in object storage). */
  readonly read?: () => Promise<RawVideo>;
  /** What an upload announced, checked against the decoded frames. */
  readonly expect?: { readonly frameCount?: number; readonly bitDepth?: number };
  /** The name the stored video and its errors give the source (default: the path read). */
  readonly source?: string;
  readonly onProgress?: ProgressSink;
  /** Called between the phases; throws to stop (a cancelled job). */
  readonly check?: () => void;
}

export interface IngestResult {
  readonly meta: StoredVideoMeta;
  /** Frames stored. */
  readonly range: FrameRange;
  /** Frames in the whole video. */
  readonly frameCount: number;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly factor: number;
}

/**
 * Method step 1, the one ingest of the CLI and the ingest worker: decode a video file or frame
 * folder, rescale its intensities to [0,1] (flat-field corrected unless asked not to), downscale
 * it, and store the frames of `frames` under `key`.
 *
 * The rescale and the flat field are measured on the WHOLE video, whichever frames are stored:
 * the services keep one preprocessed copy per video that every job (an analysis of frames 1-60,
 * a training on 93-110, a detection on all) reads, so normalising on the whole video is the one
 * rule under which `mitosis analyze --frames 1:60` sees the same input as a cluster analysis of
 * frames 1-60, and a model meets the same intensities in training and detection. The price is
 * decoding every frame even when a few are asked for.
 */
export async function runIngestStage(store: BlobStore, key: string, videoPath: string, options: IngestOptions = {}): Promise<IngestResult> {
  const flatField = options.flatField ?? METHOD_DEFAULTS.flatField;
  const source = options.source ?? videoPath;
  const progress = options.onProgress ?? silentProgress;
  const check = options.check ?? ((): void => undefined);
  progress({ step: 'ingest', done: 1, total: 3, detail: 'decoding frames' });
  const read = options.read ?? (() => readVideo(videoPath, options.channel === undefined ? {} : { channel: options.channel }));
  const raw = await read().catch((error: unknown) => {
    // A temporary path means nothing to the user: name the source instead.
    if (error instanceof MitosisError && source !== videoPath) throw new MitosisError(error.kind, error.message.split(videoPath).join(source), { cause: error });
    throw error;
  });
  const { frames, height, width } = raw.volume;
  if (options.expect?.frameCount !== undefined && options.expect.frameCount !== frames) {
    throw new InvalidInputError(`${source}: ${frames} frames decoded, but the upload announced ${options.expect.frameCount}`);
  }
  if (options.expect?.bitDepth !== undefined && options.expect.bitDepth !== raw.bitDepth) {
    throw new InvalidInputError(`${source}: ${raw.bitDepth}-bit samples decoded, but the upload announced ${options.expect.bitDepth}-bit`);
  }
  // Measured on the whole video, so every job on it (and the CLI) arrives at the same factor.
  // Frames too small to measure (a few pixels across) are not downscaled when the factor is auto.
  const cellRadius = Math.min(width, height) >= 32 ? estimateCellSize(raw.volume).radius : undefined;
  const given = options.factor ?? METHOD_DEFAULTS.factor;
  const factor = given !== 'auto' ? given : cellRadius === undefined ? 1 : chooseDownscaleFactor(cellRadius);
  if (factor > Math.min(width, height)) throw new InvalidInputError(`downscale factor ${factor} is larger than the ${width}x${height} frames of ${source}`);
  const range = options.frames ?? { first: 1, last: frames };
  if (!Number.isInteger(range.first) || !Number.isInteger(range.last) || range.first < 1 || range.last < range.first || range.last > frames) {
    throw new InvalidInputError(`frames ${range.first}:${range.last} are not inside the ${frames} frames of ${source}`);
  }
  check();
  progress({ step: 'ingest', done: 2, total: 3, detail: 'preprocessing' });
  const whole = preprocessVideo(raw, { factor, flatField });
  const meta = await storePreprocessedVideo(store, key, sliceFrames(whole, range), source, {
    ...(cellRadius === undefined ? {} : { cellRadius }),
    factorChosenBy: given === 'auto' ? 'cell-size' : 'given',
    ...(raw.physical === undefined ? {} : { physical: raw.physical }),
  });
  progress({ step: 'ingest', done: 3, total: 3 });
  return { meta, range, frameCount: frames, width, height, bitDepth: raw.bitDepth, factor };
}

/** The frames of `range` of a whole preprocessed video (1-based, inclusive). */
function sliceFrames(video: PreprocessedVideo, range: FrameRange): PreprocessedVideo {
  const { volume } = video;
  if (range.first === 1 && range.last === volume.frames) return video;
  const plane = volume.height * volume.width;
  const data = volume.data.slice((range.first - 1) * plane, range.last * plane);
  return { ...video, volume: { ...volume, data, frames: range.last - range.first + 1 }, firstFrame: range.first };
}
