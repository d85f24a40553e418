import { closeSync, openSync, readSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FrameRange } from '@mitosis/core';
import { InvalidInputError, NotFoundError, ResourceExhaustedError } from '@mitosis/core';
import type { Volume } from '@mitosis/volume';
import type { GreyFrame } from './png';
import { decodePng, isPng, PNG_HEADER_BYTES, readPngHeader } from './png';
import type { PhysicalSizes } from './container-metadata';
import { isOmeZarr, probeOmeZarr, readOmeZarr } from './ome-zarr';
import type { FloatRange, TiffFile, TiffPageInfo } from './tiff-reader';
import { planTiffVideo } from './tiff-metadata';
import {
  bufferSource,
  decodePage,
  decodePageSamples,
  describePage,
  emptyFloatRange,
  floatRangeOf,
  framePages,
  openFileSource,
  readTiffStructure,
  widenFloatRange,
} from './tiff-reader';

export type VideoKind = 'tiff-stack' | 'frame-folder' | 'ome-zarr';

/** What a container says beyond the pixels (OME-Zarr, OME-TIFF, ImageJ hyperstacks): its channels and physical sizes. */
export interface VideoMetadata {
  /** One name per channel of a multi-channel container; the video is the one at `channel`. */
  readonly channels?: string[];
  /** 0-based index of the channel read. */
  readonly channel?: number;
  readonly physical?: PhysicalSizes;
}

/** A video as read from disk: grey frames at their original bit depth, frame-major. */
export interface RawVideo extends VideoMetadata {
  readonly volume: Volume<Uint8Array | Uint16Array>;
  readonly bitDepth: 8 | 16;
  readonly source: string;
  readonly kind: VideoKind;
  /** One name per frame of `volume`: the file name in a folder, `page N` in a stack. */
  readonly frameNames: string[];
  /** 1-based number, in the whole video, of volume frame 0 (> 1 when a frame range was read); 1 when absent. */
  readonly firstFrame?: number;
  /** Frames in the whole video, selected or not. */
  readonly totalFrames?: number;
}

/** What a video is, from its headers alone. */
export interface VideoInfo extends VideoMetadata {
  readonly frameCount: number;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  readonly kind: VideoKind;
  readonly source: string;
}

export interface ReadVideoOptions {
  /** 1-based inclusive frames to decode; the others are never decoded. */
  readonly frames?: FrameRange;
  /** A channel of a multi-channel container, by name or 0-based index; channel 0 when absent. */
  readonly channel?: string | number;
}

/** V8's largest typed array length on 64-bit hosts (2^32 - 1 elements in Node 20). */
const MAX_VOLUME_SAMPLES = 2 ** 32 - 1;

const frameExtensions = new Set(['.png', '.tif', '.tiff']);

/**
 * Natural order for frame file names: runs of digits compare as numbers, so t2 < t10 < t100
 * whatever the zero padding; names equal that way (t01, t1) fall back to plain string order.
 */
export function naturalCompare(a: string, b: string): number {
  const tokens = /(\d+)|(\D+)/g;
  const ta = a.match(tokens) ?? [];
  const tb = b.match(tokens) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    const xDigits = x.charCodeAt(0) >= 48 && x.charCodeAt(0) <= 57;
    const yDigits = y.charCodeAt(0) >= 48 && y.charCodeAt(0) <= 57;
    if (xDigits && yDigits) {
      // Compare as unbounded integers: strip leading zeros, then length, then digits.
      const xs = x.replace(/^0+(?=\d)/, '');
      const ys = y.replace(/^0+(?=\d)/, '');
      if (xs.length !== ys.length) return xs.length - ys.length;
      if (xs !== ys) return xs < ys ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  if (ta.length !== tb.length) return ta.length - tb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

async function statOrNotFound(source: string): Promise<Awaited<ReturnType<typeof stat>>> {
  try {
    return await stat(source);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new NotFoundError(`video "${source}" does not exist`, { cause: error });
    }
    throw error;
  }
}

/** The first bytes of a file (fewer when the file is shorter). */
function readHead(file: string, length: number): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, done);
      if (n === 0) break;
      done += n;
    }
    return out.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

function isTiffMagic(head: Uint8Array): boolean {
  return head.length >= 2 && ((head[0] === 0x49 && head[1] === 0x49) || (head[0] === 0x4d && head[1] === 0x4d));
}

interface FrameHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  /** A 32-bit float TIFF frame, rescaled to 16-bit over the whole read. */
  readonly float?: boolean;
}

/** Header of one frame file of a folder: PNG IHDR or the IFD of a single-page TIFF. */
async function probeFrameFile(file: string, name: string): Promise<FrameHeader> {
  const head = readHead(file, PNG_HEADER_BYTES);
  if (isPng(head)) {
    const header = readPngHeader(head, name);
    return { width: header.width, height: header.height, bitDepth: header.bitDepth as 8 | 16 };
  }
  if (isTiffMagic(head)) {
    const info = await withTiff(file, name, async (tiff) => singleTiffPage(tiff, name));
    return { width: info.width, height: info.height, bitDepth: info.bitDepth, float: info.float };
  }
  throw new InvalidInputError(`${name}: neither PNG nor TIFF (unrecognised file signature)`);
}

/** Opens a TIFF for range reads (pages are read one by one, never the whole file) and closes it. */
async function withTiff<T>(file: string, name: string, use: (tiff: TiffFile) => Promise<T>): Promise<T> {
  const source = await openFileSource(file, name);
  try {
    return await use(await readTiffStructure(source));
  } finally {
    await source.close();
  }
}

function singleTiffPage(tiff: TiffFile, name: string): TiffPageInfo {
  const pages = framePages(tiff);
  if (pages.length !== 1) {
    throw new InvalidInputError(`${name}: TIFF frame file holds ${pages.length} pages; a frame folder holds one image per file`);
  }
  return describePage(tiff, pages[0]);
}

async function decodeFrameFile(name: string, bytes: Uint8Array, range?: FloatRange): Promise<GreyFrame> {
  if (isPng(bytes)) return decodePng(bytes, name);
  if (isTiffMagic(bytes)) {
    const tiff = await readTiffStructure(bufferSource(bytes, name));
    return decodePage(tiff, singleTiffPage(tiff, name), range);
  }
  throw new InvalidInputError(`${name}: neither PNG nor TIFF (unrecognised file signature)`);
}

function selectRange(source: string, frameCount: number, range: FrameRange | undefined): FrameRange {
  if (range === undefined) return { first: 1, last: frameCount };
  const { first, last } = range;
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last < first) {
    throw new InvalidInputError(`${source}: frame range ${first}:${last} is empty or starts before frame 1`);
  }
  if (last > frameCount) throw new InvalidInputError(`${source}: frame range ${first}:${last} ends after the last frame (${frameCount})`);
  return range;
}

interface FolderListing {
  readonly files: string[];
  readonly headers: FrameHeader[];
}

/** Lists the frame files of a folder in natural order and checks that their headers agree. */
async function listFrameFolder(folder: string): Promise<FolderListing> {
  const entries = await readdir(folder, { withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && frameExtensions.has(path.extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort(naturalCompare);
  if (files.length === 0) throw new InvalidInputError(`${folder}: folder holds no PNG or TIFF frames`);
  const headers: FrameHeader[] = [];
  for (const name of files) headers.push(await probeFrameFile(path.join(folder, name), path.join(folder, name)));
  const first = headers[0];
  headers.forEach((h, i) => {
    const where = `${path.join(folder, files[i])} (frame ${i + 1})`;
    if (h.width !== first.width || h.height !== first.height) {
      throw new InvalidInputError(`${where} is ${h.width}x${h.height} but ${files[0]} is ${first.width}x${first.height}; all frames must have one size`);
    }
    const kind = (header: FrameHeader): string => (header.float === true ? '32-bit float' : `${header.bitDepth}-bit`);
    if (kind(h) !== kind(first)) {
      throw new InvalidInputError(`${where} is ${kind(h)} but ${files[0]} is ${kind(first)}; all frames must have one bit depth`);
    }
  });
  return { files, headers };
}

/** The range of the float samples of the frame files read (a first pass: no frame is kept). */
async function folderFloatRange(folder: string, names: readonly string[]): Promise<FloatRange> {
  const range = emptyFloatRange();
  for (const name of names) {
    const file = path.join(folder, name);
    const tiff = await readTiffStructure(bufferSource(new Uint8Array(await readFile(file)), file));
    const samples = await decodePageSamples(tiff, singleTiffPage(tiff, file));
    if (samples instanceof Float32Array) widenFloatRange(range, samples);
  }
  return range;
}

function assertKnownFile(source: string, head: Uint8Array): void {
  if (isTiffMagic(head)) return;
  if (head.length === 0) throw new InvalidInputError(`${source}: empty file`);
  if (isPng(head)) {
    throw new InvalidInputError(`${source}: a single PNG is not a video; give the folder of PNG frames or a multi-page TIFF`);
  }
  throw new InvalidInputError(`${source}: not a TIFF file nor a folder of frames`);
}

/**
 * Reads a video: a multi-page TIFF (one frame per page; per time point, one channel and z slice
 * of an OME-TIFF or ImageJ hyperstack), an OME-Zarr folder (one channel of its full-resolution
 * level) or a folder of PNG/TIFF frames in natural order of their names (SPEC step 1). With
 * `frames`, only those frames are decoded; the headers of every frame are still checked so a
 * video is one size and bit depth throughout.
 */
export async function readVideo(source: string, options: ReadVideoOptions = {}): Promise<RawVideo> {
  const info = await statOrNotFound(source);
  // The frame size comes from the headers, so the volume is allocated once and each frame is
  // decoded straight into it: a video is never held twice in memory.
  const allocate = (frames: number, header: FrameHeader): Volume<Uint8Array | Uint16Array> => {
    const { width, height, bitDepth } = header;
    if (frames * width * height > MAX_VOLUME_SAMPLES) {
      throw new ResourceExhaustedError(`${source}: ${frames} frames of ${width}x${height} exceed one typed array (${MAX_VOLUME_SAMPLES} samples); read fewer frames at a time`);
    }
    const length = frames * width * height;
    return { data: bitDepth === 16 ? new Uint16Array(length) : new Uint8Array(length), frames, height, width };
  };
  const place = (target: Volume<Uint8Array | Uint16Array>, t: number, frame: GreyFrame, name: string): void => {
    // Headers were checked already; a decoded frame that disagrees with them is a corrupt file.
    const expectedDepth = target.data instanceof Uint16Array ? 16 : 8;
    if (frame.width !== target.width || frame.height !== target.height || frame.bitDepth !== expectedDepth) {
      throw new InvalidInputError(
        `${name} decodes to ${frame.width}x${frame.height} ${frame.bitDepth}-bit, not the ${target.width}x${target.height} ${expectedDepth}-bit of its header`,
      );
    }
    target.data.set(frame.data, t * target.width * target.height);
  };

  if (info.isDirectory() && (await isOmeZarr(source))) return readOmeZarr(source, options);
  if (info.isDirectory()) {
    const { files, headers } = await listFrameFolder(source);
    const range = selectRange(source, files.length, options.frames);
    const frameNames = files.slice(range.first - 1, range.last);
    const volume = allocate(frameNames.length, headers[0]);
    const floatRange = headers[0].float === true ? await folderFloatRange(source, frameNames) : undefined;
    for (let t = 0; t < frameNames.length; t++) {
      const file = path.join(source, frameNames[t]);
      place(volume, t, await decodeFrameFile(file, new Uint8Array(await readFile(file)), floatRange), file);
    }
    const bitDepth = headers[0].bitDepth;
    return { volume, bitDepth, source, kind: 'frame-folder', frameNames, firstFrame: range.first, totalFrames: files.length };
  }

  assertKnownFile(source, readHead(source, 8));
  return withTiff(source, source, async (tiff) => {
    // OME-TIFF and ImageJ hyperstacks: one page per time point, of one channel and z slice.
    const { frames: pages, ...metadata } = planTiffVideo(tiff, options);
    const range = selectRange(source, pages.length, options.frames);
    const chosen = pages.slice(range.first - 1, range.last);
    const target = allocate(chosen.length, chosen[0]);
    // Float pages are read twice: once for the range of the whole read, once to rescale.
    const floatRange = await floatRangeOf(tiff, chosen);
    for (let t = 0; t < chosen.length; t++) {
      const page = chosen[t];
      place(target, t, await decodePage(tiff, page, floatRange), `${source}: page ${page.page}`);
    }
    return {
      volume: target,
      bitDepth: chosen[0].bitDepth,
      source,
      kind: 'tiff-stack' as const,
      frameNames: chosen.map((page) => `page ${page.page}`),
      firstFrame: range.first,
      totalFrames: pages.length,
      ...metadata,
    };
  });
}

/** Frame count, size and bit depth from the headers alone (PNG IHDR, TIFF IFDs): no pixel is decoded. */
export async function probeVideo(source: string, options: Pick<ReadVideoOptions, 'channel'> = {}): Promise<VideoInfo> {
  const info = await statOrNotFound(source);
  if (info.isDirectory() && (await isOmeZarr(source))) return probeOmeZarr(source, options);
  if (info.isDirectory()) {
    const { files, headers } = await listFrameFolder(source);
    const first = headers[0];
    return { frameCount: files.length, width: first.width, height: first.height, bitDepth: first.bitDepth, kind: 'frame-folder', source };
  }
  assertKnownFile(source, readHead(source, 8));
  const { frames: pages, ...metadata } = await withTiff(source, source, async (tiff) => planTiffVideo(tiff, options));
  const first = pages[0];
  return { frameCount: pages.length, width: first.width, height: first.height, bitDepth: first.bitDepth, kind: 'tiff-stack', source, ...metadata };
}
