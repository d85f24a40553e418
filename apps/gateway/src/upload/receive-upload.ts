import { createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, ResourceExhaustedError } from '@mitosis/core';
import type { FrameFormatHints, UploadVideoRequest } from '@mitosis/proto';
import { UPLOAD_FOLDER_PREFIX } from './staging-janitor';
import { checkAlive } from '../grpc/calls';

/** The header of an upload, checked. */
export interface UploadHeader {
  readonly filename: string;
  readonly sizeBytes: number;
  /** Lowercase hexadecimal. */
  readonly sha256: string;
  readonly hints?: FrameFormatHints;
  /** The channel asked for, as given (a name or an index as text); absent for channel 0. */
  readonly channel?: string;
}

/** An upload received in full and checked against its header, staged in a local folder of its own. */
export interface StagedUpload {
  readonly header: UploadHeader;
  /** The bytes, as a file named like the upload (so reader messages name the client's file). */
  readonly file: string;
  /** Removes the staging folder; safe to call twice. */
  cleanup(): Promise<void>;
}

export interface UploadLimits {
  /** Largest upload accepted, in bytes (MITOSIS_MAX_UPLOAD_BYTES). */
  readonly maxBytes: number;
  /** Folder under which each upload gets a temporary folder of its own. */
  readonly stagingDir: string;
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** The header's fields checked before a single byte is accepted. */
export function checkHeader(header: { filename: string; sizeBytes: number; sha256: string; hints?: FrameFormatHints; channel?: string }, limits: UploadLimits): UploadHeader {
  const { filename, sizeBytes, sha256 } = header;
  if (filename === '' || filename.length > 255 || /[/\\\0]/.test(filename) || filename === '.' || filename === '..') {
    throw new InvalidInputError(`header.filename "${filename.slice(0, 300)}" must be a plain file name (1-255 characters, no path separators)`);
  }
  if (!SHA256_HEX.test(sha256)) throw new InvalidInputError(`header.sha256 "${sha256.slice(0, 80)}" is not 64 hexadecimal characters`);
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new InvalidInputError(`header.size_bytes ${sizeBytes} must be a positive number of bytes`);
  // Refused on the header, before any byte is read or stored (video.proto).
  if (sizeBytes > limits.maxBytes) {
    throw new ResourceExhaustedError(`the upload declares ${sizeBytes} bytes, more than this server's limit of ${limits.maxBytes} bytes`);
  }
  const channel = header.channel?.trim() ?? '';
  if (channel.length > 255) throw new InvalidInputError(`header.channel "${channel.slice(0, 80)}..." is longer than 255 characters`);
  return {
    filename,
    sizeBytes,
    sha256: sha256.toLowerCase(),
    ...(header.hints === undefined ? {} : { hints: header.hints }),
    ...(channel === '' ? {} : { channel }),
  };
}

/**
 * Receives an UploadVideo stream into a staging file: the header first, then chunks appended
 * and hashed as they arrive, so memory holds one chunk at a time. Stops at once (and removes
 * what it wrote) on the first message that breaks the rules: more bytes than the server's limit
 * (RESOURCE_EXHAUSTED) or than declared, a second header, a chunk before the header; and, at the
 * end, a byte count or SHA-256 that differs from the header (INVALID_ARGUMENT).
 */
export async function receiveUpload(messages: AsyncIterable<UploadVideoRequest>, limits: UploadLimits, signal: AbortSignal): Promise<StagedUpload> {
  let header: UploadHeader | undefined;
  let folder: string | undefined;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  const hash = createHash('sha256');
  let received = 0;
  let index = 0;
  const cleanup = async (): Promise<void> => {
    await handle?.close().catch(() => undefined);
    handle = undefined;
    if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  };
  try {
    for await (const message of messages) {
      index++;
      const content = message.content;
      if (content === undefined) throw new InvalidInputError(`upload message #${index} carries neither a header nor a chunk`);
      if (content.$case === 'header') {
        if (header !== undefined) throw new InvalidInputError(`upload message #${index} is a second header; the header comes once, first`);
        header = checkHeader(content.value, limits);
        folder = await mkdtemp(path.join(limits.stagingDir, UPLOAD_FOLDER_PREFIX));
        handle = await open(path.join(folder, header.filename), 'wx');
        continue;
      }
      if (header === undefined || handle === undefined) throw new InvalidInputError('the first upload message must be the header (filename, size_bytes, sha256)');
      const chunk = content.value;
      received += chunk.length;
      if (received > limits.maxBytes) {
        throw new ResourceExhaustedError(`the upload passed this server's limit of ${limits.maxBytes} bytes (${received} bytes received)`);
      }
      if (received > header.sizeBytes) {
        throw new InvalidInputError(`the upload carries more bytes than its header declares: ${received} received, ${header.sizeBytes} declared`);
      }
      hash.update(chunk);
      await handle.write(chunk);
      checkAlive(signal);
    }
    if (header === undefined || folder === undefined || handle === undefined) throw new InvalidInputError('empty upload: no header message');
    if (received !== header.sizeBytes) throw new InvalidInputError(`truncated upload: got ${received} of ${header.sizeBytes} bytes`);
    const digest = hash.digest('hex');
    if (digest !== header.sha256) {
      throw new InvalidInputError(`checksum mismatch: the header says sha256 ${header.sha256} but the received bytes hash to ${digest}`);
    }
    await handle.close();
    handle = undefined;
    return { header, file: path.join(folder, header.filename), cleanup };
  } catch (error: unknown) {
    await cleanup();
    throw error;
  }
}
