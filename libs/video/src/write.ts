import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import type { Volume } from '@mitosis/volume';
import { frameOf } from '@mitosis/volume';
import { encodePng, encodeRgbPng } from './png';
import type { TiffCompression, TiffPage } from './tiff-writer';
import { encodeTiffParts } from './tiff-writer';

let tempCounter = 0;

/**
 * Writes to a temporary file beside the target and renames it into place, so a crash or a
 * failed encode never leaves half a file under the final name (rename is atomic on one volume).
 */
async function writeAtomically(file: string, data: Uint8Array | Iterable<Uint8Array>): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${tempCounter++}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (error: unknown) {
    await rm(tmp, { force: true });
    throw error;
  }
}

function* pagesOf(volume: Volume<Uint8Array | Uint16Array>): Generator<TiffPage> {
  for (let t = 0; t < volume.frames; t++) yield { data: frameOf(volume, t), width: volume.width, height: volume.height };
}

/**
 * Writes a volume as one multi-page greyscale TIFF (8-bit for Uint8Array data, 16-bit for
 * Uint16Array), one page per frame, uncompressed by default or deflate-compressed.
 */
export async function writeTiffStack(file: string, volume: Volume<Uint8Array | Uint16Array>, options: { compression?: TiffCompression } = {}): Promise<void> {
  if (!(volume.data instanceof Uint8Array) && !(volume.data instanceof Uint16Array)) {
    throw new InvalidInputError(`writeTiffStack ${file}: only 8-bit (Uint8Array) and 16-bit (Uint16Array) volumes can be written`);
  }
  if (volume.frames < 1) throw new InvalidInputError(`writeTiffStack ${file}: the volume has no frames`);
  if (volume.data.length !== volume.frames * volume.height * volume.width) {
    throw new InvalidInputError(`writeTiffStack ${file}: ${volume.data.length} samples do not make ${volume.frames} frames of ${volume.width}x${volume.height}`);
  }
  const compression = options.compression ?? 'none';
  if (compression !== 'none' && compression !== 'deflate') {
    throw new InvalidInputError(`writeTiffStack ${file}: compression "${String(compression)}" is not 'none' or 'deflate'`);
  }
  await writeAtomically(file, encodeTiffParts(pagesOf(volume), { compression }));
}

/** Writes a greyscale frame as an 8- or 16-bit PNG (atomically). */
export async function writePng(file: string, frame: Uint8Array | Uint16Array, width: number, height: number, bitDepth: 8 | 16): Promise<void> {
  await writeAtomically(file, encodePng(frame, width, height, bitDepth));
}

/** Writes an 8-bit RGB image (3 bytes per pixel) as a PNG (atomically). */
export async function writeRgbPng(file: string, rgb: Uint8Array, width: number, height: number): Promise<void> {
  await writeAtomically(file, encodeRgbPng(rgb, width, height));
}
