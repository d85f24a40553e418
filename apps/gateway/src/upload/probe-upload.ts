import { open, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, isMitosisError, MitosisError } from '@mitosis/core';
import { VideoFormat } from '@mitosis/proto';
import type { SourceFormat } from '@mitosis/service-kit';
import { detectSourceFormat, readFrameArchive } from '@mitosis/service-kit';
import type { VideoInfo } from '@mitosis/video';
import { probeVideo, readVideo } from '@mitosis/video';
import { checkAlive } from '../grpc/calls';
import type { StagedUpload } from './receive-upload';

/** What the gateway learned about an upload's frames. */
export interface ProbedVideo {
  /** One multi-page TIFF, or a tar archive of PNG/TIFF frames (ingest reads both). */
  readonly format: SourceFormat | 'ome-zarr';
  readonly frameCount: number;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  /** What the file states beyond its pixels (OME-TIFF): physical sizes and channel names. */
  readonly physical?: VideoInfo['physical'];
  readonly channels?: string[];
  /** 0-based index of the channel read (header.channel); absent for channel 0 of a file without channels. */
  readonly channel?: number;
}

/** Frames decoded at a time while verifying: bounds the memory of one upload's check. */
export const VERIFY_BATCH_BYTES = 64 * 1024 * 1024;

const FORMAT_HINT: Partial<Record<VideoFormat, SourceFormat>> = {
  [VideoFormat.VIDEO_FORMAT_MULTIPAGE_TIFF]: 'tiff',
  [VideoFormat.VIDEO_FORMAT_FRAME_ARCHIVE]: 'frame-archive',
};

async function readHead(file: string, length: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const head = new Uint8Array(length);
    const { bytesRead } = await handle.read(head, 0, length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Checks that a staged upload is a video the stages can read (SPEC step 1), as ingest will read
 * it: a multi-page TIFF, or a tar archive of PNG/TIFF frames unpacked beside it. First the
 * structure and every frame's header (probeVideo), then every frame decoded, a batch at a time,
 * so that a truncated strip or a corrupt compressed stream is refused now, naming its page or
 * file, and not later in ingest. Reader errors name the client's file name, never the staging
 * path. Hints given in the header are compared with what was read, naming the field.
 */
export async function probeUpload(staged: StagedUpload, signal: AbortSignal): Promise<ProbedVideo> {
  const { header } = staged;
  let source = staged.file;
  const rename = (error: unknown): unknown => {
    if (!isMitosisError(error)) return new InvalidInputError(`${header.filename}: not a readable video`, { cause: error });
    if (error.kind === 'NOT_FOUND') return new MitosisError('INTERNAL', `staged upload ${header.filename} vanished`, { cause: error });
    return new MitosisError(error.kind, error.message.split(source).join(header.filename), { cause: error });
  };
  let format: SourceFormat;
  let info: VideoInfo;
  try {
    format = detectSourceFormat(await readHead(staged.file, 512), header.filename);
    const hinted = header.hints === undefined ? undefined : FORMAT_HINT[header.hints.format];
    if (hinted !== undefined && hinted !== format) {
      throw new InvalidInputError(`header.hints.format says ${hinted} but ${header.filename} is a ${format}`);
    }
    if (format === 'frame-archive') {
      // Unpacked as ingest unpacks it: the frame files by base name, read in natural order.
      source = path.join(path.dirname(staged.file), 'frames');
      await mkdir(source);
      for (const frame of await readFrameArchive(new Uint8Array(await readFile(staged.file)), header.filename)) {
        await writeFile(path.join(source, frame.name), frame.data);
      }
    }
    checkAlive(signal);
    const channel = header.channel === undefined ? {} : { channel: header.channel };
    info = await probeVideo(source, channel);
    checkAlive(signal);
    const frameBytes = info.width * info.height * (info.bitDepth / 8);
    const batch = Math.max(1, Math.floor(VERIFY_BATCH_BYTES / frameBytes));
    for (let first = 1; first <= info.frameCount; first += batch) {
      checkAlive(signal);
      await readVideo(source, { ...channel, frames: { first, last: Math.min(info.frameCount, first + batch - 1) } });
    }
  } catch (error: unknown) {
    if (signal.aborted) throw error;
    throw rename(error);
  }
  const hints = header.hints;
  if (hints?.frameCount !== undefined && hints.frameCount !== info.frameCount) {
    throw new InvalidInputError(`header.hints.frame_count is ${hints.frameCount} but ${header.filename} holds ${info.frameCount} frames`);
  }
  if (hints?.bitDepth !== undefined && hints.bitDepth !== info.bitDepth) {
    throw new InvalidInputError(`header.hints.bit_depth is ${hints.bitDepth} but ${header.filename} is ${info.bitDepth}-bit`);
  }
  return {
    format,
    frameCount: info.frameCount,
    width: info.width,
    height: info.height,
    bitDepth: info.bitDepth,
    ...(info.physical === undefined ? {} : { physical: info.physical }),
    ...(info.channels === undefined ? {} : { channels: info.channels }),
    ...(info.channel ? { channel: info.channel } : {}),
  };
}
