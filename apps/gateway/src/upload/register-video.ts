import { createHash } from 'node:crypto';
import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import type { RegisterVideoRequest } from '@mitosis/proto';
import { encodeOmeZarrReference } from '@mitosis/service-kit';
import { blobStoreLocation, probeOmeZarr, readOmeZarr } from '@mitosis/video';
import { checkAlive } from '../grpc/calls';
import type { ProbedVideo } from './probe-upload';
import { VERIFY_BATCH_BYTES } from './probe-upload';
import type { VideoSource } from './store-video';

/** The server's own folders: a registered video may not point into them. */
const RESERVED = ['videos/', 'videos-by-sha256/', 'uploads/', 'analyses/', 'annotations/', 'detections/', 'manifests/', 'models/'];

/** The prefix checked: a relative key prefix outside the server's folders, without a trailing '/'. */
export function checkOmeZarrPrefix(raw: string): string {
  const prefix = raw.trim().replace(/\/+$/, '');
  if (prefix === '') throw new InvalidInputError('ome_zarr_prefix is required');
  if (prefix.length > 1024) throw new InvalidInputError(`ome_zarr_prefix "${prefix.slice(0, 80)}..." is longer than 1024 characters`);
  if (prefix.startsWith('/') || prefix.split('/').some((part) => part === '..' || part === '.' || part === '') || /[\\\0]/.test(prefix)) {
    throw new InvalidInputError(`ome_zarr_prefix "${prefix}" must be a relative key prefix (no leading '/', no '.', '..' or empty parts)`);
  }
  const reserved = RESERVED.find((folder) => `${prefix}/`.startsWith(folder));
  if (reserved !== undefined) throw new InvalidInputError(`ome_zarr_prefix "${prefix}" lies in the server's own folder ${reserved}`);
  return prefix;
}

/**
 * Checks an OME-Zarr where it lies, as ingest will read it: its metadata, then every chunk of the
 * chosen channel, a batch of frames at a time, so a missing or truncated chunk is refused now,
 * named, and not later in a job. Returns what to store: the reference (its SHA-256 is the
 * dedup key) and what was read.
 */
export async function probeOmeZarrReference(
  store: Parameters<typeof blobStoreLocation>[0],
  request: RegisterVideoRequest,
  signal: AbortSignal,
): Promise<{ source: VideoSource; probed: ProbedVideo }> {
  const prefix = checkOmeZarrPrefix(request.omeZarrPrefix);
  const channel = request.channel === undefined || request.channel.trim() === '' ? {} : { channel: request.channel.trim() };
  const location = blobStoreLocation(store, prefix, prefix);
  const info = await probeOmeZarr(location, channel);
  const frameBytes = info.width * info.height * (info.bitDepth / 8);
  const batch = Math.max(1, Math.floor(VERIFY_BATCH_BYTES / frameBytes));
  for (let first = 1; first <= info.frameCount; first += batch) {
    checkAlive(signal);
    await readOmeZarr(location, { ...channel, frames: { first, last: Math.min(info.frameCount, first + batch - 1) } });
  }
  const reference = encodeOmeZarrReference(prefix);
  const sha256 = createHash('sha256').update(reference).digest('hex');
  return {
    source: { header: { filename: path.posix.basename(prefix), sizeBytes: 0, sha256 }, bytes: async () => reference },
    probed: {
      format: 'ome-zarr',
      frameCount: info.frameCount,
      width: info.width,
      height: info.height,
      bitDepth: info.bitDepth,
      ...(info.physical === undefined ? {} : { physical: info.physical }),
      channels: info.channels,
      ...(info.channel ? { channel: info.channel } : {}),
    },
  };
}
