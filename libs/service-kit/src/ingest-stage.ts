import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BlobStore, ProgressSink } from '@mitosis/core';
import { InvalidInputError, NotFoundError, PreconditionError } from '@mitosis/core';
import type { IngestResult, StoredVideoMeta } from '@mitosis/stages';
import { readVideoMeta, runIngestStage } from '@mitosis/stages';
import { blobStoreLocation, readOmeZarr } from '@mitosis/video';
import { detectSourceFormat, readFrameArchive } from './frame-archive';
import { arrayMetadataKey, keys } from './keys';
import { parseOmeZarrReference } from './ome-zarr-reference';
import type { IngestTask } from './stage-task';

/**
 * Ingest (method step 1) in the worker: the uploaded bytes into a temporary file (or folder, for
 * a tar of frames), then runIngestStage, the CLI's ingest (normalised on the whole video).
 * A video has one set of frames, which other jobs may be reading: frames already stored are
 * reused (ingest is cheap to repeat, so any job may start with it), never rewritten with another
 * factor; asking for another factor explicitly is a FAILED_PRECONDITION.
 */
export async function runIngest(task: IngestTask, store: BlobStore, progress: ProgressSink, check: () => void): Promise<Record<string, number>> {
  const existing = await storedFrames(store, task.framesKey);
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
  const expect = {
    ...(task.hints.frameCount !== undefined ? { frameCount: task.hints.frameCount } : {}),
    ...(task.hints.bitDepth !== undefined ? { bitDepth: task.hints.bitDepth } : {}),
  };
  const channel = task.channel === undefined ? {} : { channel: task.channel };
  const reference = parseOmeZarrReference(bytes, task.sourceKey);
  if (reference !== undefined) {
    // Registered where it lies: the chunks are read from the bucket, nothing is copied.
    const { prefix } = reference.omeZarr;
    const location = blobStoreLocation(store, prefix, prefix);
    const result = await runIngestStage(store, task.framesKey, prefix, {
      factor: task.factor,
      source: prefix,
      expect,
      onProgress: progress,
      check,
      read: () => readOmeZarr(location, channel),
    });
    return ingestMetrics(result);
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
    const result = await runIngestStage(store, task.framesKey, local, { factor: task.factor, source: task.sourceKey, expect, onProgress: progress, check, ...channel });
    return ingestMetrics(result);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The stage's metrics: what was read and how it was stored. */
function ingestMetrics(result: IngestResult): Record<string, number> {
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
}

/** Whether ingest has stored the video's frames: a job on a video that has not needs an ingest stage first. */
export async function isIngested(store: BlobStore, videoId: string): Promise<boolean> {
  return store.exists(arrayMetadataKey(keys.videoFrames(videoId)));
}

/** What ingest stored with a video's frames (its factor, flat-field, size); undefined where none are stored. */
export async function storedFrames(store: BlobStore, framesKey: string): Promise<StoredVideoMeta | undefined> {
  if (!(await store.exists(arrayMetadataKey(framesKey)))) return undefined;
  try {
    return await readVideoMeta(store, framesKey);
  } catch {
    return undefined; // not a preprocessed video (written by something else): ingest again
  }
}
