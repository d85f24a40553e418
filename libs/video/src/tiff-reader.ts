// TIFF structure (classic, BigTIFF) and LZW/Deflate/predictor-3 come from geotiff 3 (CommonJS build, static import), zstd from its zstddec; chunk assembly is ours: geotiff's readRasters misreads big-endian predictor data.
import { open } from 'node:fs/promises';
import { GeoTIFF, getDecoder } from 'geotiff';
import type { ImageFileDirectory } from 'geotiff';
import { ZSTDDecoder } from 'zstddec';
import { InvalidInputError } from '@mitosis/core';
import { decodePackBits, undoHorizontalPredictor } from './tiff-codecs';
import { BIGTIFF_MAGIC, Compression, Photometric, Tag, TIFF_MAGIC } from './tiff-format';
import type { GreyFrame } from './png';

/**
 * Random access to the bytes of a TIFF, in the shape geotiff reads through (its BaseSource).
 * geotiff asks for header and IFD ranges longer than it needs, so `fetch` clips them at the end
 * of the file; a short answer then fails geotiff's bounds-checked parse, never reads past the
 * file. Pixel chunks are read through `readExact`, which names what lies past the end.
 */
export class TiffSource {
  constructor(
    readonly name: string,
    readonly size: number,
    private readonly readAt: (offset: number, length: number) => Promise<Uint8Array>,
    private readonly release: () => Promise<void> = async () => undefined,
  ) {}

  get fileSize(): number {
    return this.size;
  }

  async fetch(slices: ReadonlyArray<{ offset: number; length: number }>): Promise<ArrayBuffer[]> {
    return Promise.all(slices.map(async (slice) => (await this.fetchSlice(slice)).data));
  }

  async fetchSlice(slice: { offset: number; length: number }): Promise<{ offset: number; length: number; data: ArrayBuffer }> {
    const start = Math.min(Math.max(0, slice.offset), this.size);
    const end = Math.min(Math.max(start, slice.offset + slice.length), this.size);
    const bytes = await this.readAt(start, end - start);
    return { offset: slice.offset, length: bytes.length, data: toArrayBuffer(bytes) };
  }

  async readExact(offset: number, length: number, what: string): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new InvalidInputError(`${this.name}: ${what} at bytes ${offset}..${offset + length} lies past the end of the file (${this.size} bytes): truncated or corrupt TIFF`);
    }
    return this.readAt(offset, length);
  }

  close(): Promise<void> {
    return this.release();
  }
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

export function bufferSource(bytes: Uint8Array, name: string): TiffSource {
  return new TiffSource(name, bytes.length, async (offset, length) => bytes.subarray(offset, offset + length));
}

/** Opens a file for range reads (a huge BigTIFF is never loaded whole); call `close` when done. */
export async function openFileSource(file: string, name: string = file): Promise<TiffSource> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const readAt = async (offset: number, length: number): Promise<Uint8Array> => {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return out.subarray(0, done);
    };
    return new TiffSource(name, size, readAt, () => handle.close());
  } catch (error: unknown) {
    await handle.close();
    throw error;
  }
}

/** geotiff's errors are plain Errors (or strings); this names the file and page they arose in. */
function wrap(where: string, error: unknown, problem: string): InvalidInputError {
  if (error instanceof InvalidInputError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new InvalidInputError(`${where}: ${problem} (${reason}): truncated or corrupt TIFF`, { cause: error });
}

/** One image file directory: the tags of one page, parsed by geotiff. */
export interface TiffIfd {
  /** 1-based position of the IFD in the file, as people count pages. */
  readonly page: number;
  readonly directory: ImageFileDirectory;
}

export interface TiffFile {
  readonly source: TiffSource;
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;
  readonly ifds: readonly TiffIfd[];
}

/** Reads the header and walks the chain of IFDs (no pixel data). */
export async function readTiffStructure(source: TiffSource): Promise<TiffFile> {
  const { name } = source;
  if (source.size < 8) throw new InvalidInputError(`${name}: too short for a TIFF header (${source.size} bytes)`);
  const header = await source.readExact(0, Math.min(16, source.size), 'header');
  const order = String.fromCharCode(header[0], header[1]);
  if (order !== 'II' && order !== 'MM') throw new InvalidInputError(`${name}: not a TIFF file (byte order mark "${order}")`);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const magic = view.getUint16(2, order === 'II');
  if (magic === BIGTIFF_MAGIC) {
    if (header.length < 16) throw new InvalidInputError(`${name}: too short for a BigTIFF header (${source.size} bytes)`);
    const offsetSize = view.getUint16(4, order === 'II');
    if (offsetSize !== 8) throw new InvalidInputError(`${name}: BigTIFF with ${offsetSize}-byte offsets; only 8 is defined`);
  } else if (magic !== TIFF_MAGIC) {
    throw new InvalidInputError(`${name}: not a TIFF file (magic number ${magic}, expected 42 or 43)`);
  }

  let tiff: GeoTIFF;
  try {
    tiff = await GeoTIFF.fromSource(source);
  } catch (error: unknown) {
    throw wrap(name, error, 'unreadable header');
  }
  // geotiff reads lazily loaded tag arrays as little-endian whatever the file's order; loading
  // every tag with its IFD goes through the byte-order-aware path.
  tiff.parser.eager = true;
  if (tiff.firstIFDOffset === 0) throw new InvalidInputError(`${name}: TIFF has no pages`);
  if (tiff.firstIFDOffset >= source.size) {
    throw new InvalidInputError(`${name}: page 1: IFD at byte ${tiff.firstIFDOffset} lies past the end of the file (${source.size} bytes): truncated or corrupt TIFF`);
  }

  const ifds: TiffIfd[] = [];
  const seen = new Set<number>([tiff.firstIFDOffset]);
  for (let index = 0; ; index++) {
    const page = index + 1;
    let directory: ImageFileDirectory;
    try {
      directory = await tiff.requestIFD(index);
    } catch (error: unknown) {
      throw wrap(`${name}: page ${page}`, error, 'unreadable IFD');
    }
    ifds.push({ page, directory });
    const next = directory.nextIFDByteOffset;
    if (next === 0) break;
    if (seen.has(next)) throw new InvalidInputError(`${name}: page ${page + 1}: IFD offset ${next} loops back to an earlier page: corrupt TIFF`);
    if (next >= source.size) {
      throw new InvalidInputError(`${name}: page ${page + 1}: IFD at byte ${next} lies past the end of the file (${source.size} bytes): truncated or corrupt TIFF`);
    }
    seen.add(next);
  }
  return { source, littleEndian: tiff.littleEndian, bigTiff: tiff.bigTiff, ifds };
}

/** The numeric values of a tag, or undefined when absent. */
export function tagValues(ifd: TiffIfd, tag: number): number[] | undefined {
  if (!ifd.directory.hasTag(tag)) return undefined;
  // geotiff types getValue by tag name; a number is accepted at run time (resolveTag).
  const value: unknown = ifd.directory.getValue(tag as unknown as Parameters<ImageFileDirectory['getValue']>[0]);
  if (typeof value === 'number' || typeof value === 'bigint') return [Number(value)];
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value as ArrayLike<number | bigint>, Number);
  return undefined;
}

/** The text of an ASCII tag (trailing NULs dropped), or undefined when absent or not text. */
export function tagText(ifd: TiffIfd, tag: number): string | undefined {
  if (!ifd.directory.hasTag(tag)) return undefined;
  const value: unknown = ifd.directory.getValue(tag as unknown as Parameters<ImageFileDirectory['getValue']>[0]);
  return typeof value === 'string' ? value.replace(/\0+$/, '') : undefined;
}

/** The first value of a tag; `fallback` (the default TIFF 6.0 gives the tag) when it is absent. */
function tagValue(ifd: TiffIfd, tag: number): number | undefined;
function tagValue(ifd: TiffIfd, tag: number, fallback: number): number;
function tagValue(ifd: TiffIfd, tag: number, fallback?: number): number | undefined {
  const values = tagValues(ifd, tag);
  if (values === undefined || values.length === 0) return fallback;
  return values[0];
}

type ChunkLayout = { readonly kind: 'strips'; readonly rowsPerStrip: number } | { readonly kind: 'tiles'; readonly tileWidth: number; readonly tileHeight: number };

/** The checked description of one page: everything but the pixel offsets. */
export interface TiffPageInfo {
  readonly page: number;
  readonly width: number;
  readonly height: number;
  /** Depth of the frame this page becomes: 32-bit float pages become 16-bit. */
  readonly bitDepth: 8 | 16;
  /** Bits of one stored sample: 8, 16 or 32 (float). */
  readonly sampleBits: 8 | 16 | 32;
  readonly float: boolean;
  readonly samplesPerPixel: number;
  readonly photometric: number;
  readonly compression: number;
  readonly predictor: number;
  readonly planar: 1 | 2;
  readonly layout: ChunkLayout;
  readonly ifd: TiffIfd;
}

/** Largest width or height accepted: far beyond any microscope frame, far below a corrupt 32-bit field. */
const MAX_SIDE = 1 << 20;
const MAX_PAGE_BYTES = 2 ** 31;

const compressionNames: Readonly<Record<number, string>> = {
  2: 'CCITT Huffman',
  3: 'CCITT T.4',
  4: 'CCITT T.6',
  6: 'old JPEG',
  7: 'JPEG',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34925: 'LZMA',
  50001: 'WebP',
};
const supportedCompressions = new Set<number>([Compression.None, Compression.LZW, Compression.AdobeDeflate, Compression.Deflate, Compression.PackBits, Compression.Zstd]);

/**
 * Checks that a page is one this reader decodes: 8- or 16-bit unsigned or 32-bit float samples,
 * grey (1 sample, or 2 with an extra sample) or RGB(A) (3 or 4), chunky or planar, strips or
 * tiles, and one of the compressions none, PackBits, LZW, Deflate or zstd.
 */
export function describePage(file: TiffFile, ifd: TiffIfd): TiffPageInfo {
  const where = `${file.source.name}: page ${ifd.page}`;
  const fail = (problem: string): never => {
    throw new InvalidInputError(`${where}: ${problem}`);
  };
  const width = tagValue(ifd, Tag.ImageWidth) ?? fail('no ImageWidth tag');
  const height = tagValue(ifd, Tag.ImageLength) ?? fail('no ImageLength tag');
  if (width === 0 || height === 0) fail(`empty image ${width}x${height}`);
  // A corrupt size field must not turn into a multi-gigabyte allocation before the data is read.
  if (width > MAX_SIDE || height > MAX_SIDE) fail(`image size ${width}x${height} exceeds ${MAX_SIDE} pixels a side: corrupt header?`);
  const samplesPerPixel = tagValue(ifd, Tag.SamplesPerPixel, 1);
  if (samplesPerPixel < 1 || samplesPerPixel > 4) fail(`${samplesPerPixel} samples per pixel; only 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) are read`);
  const bits = tagValues(ifd, Tag.BitsPerSample) ?? [1];
  const sampleBits = bits[0];
  if (bits.some((b) => b !== sampleBits)) fail(`samples of different bit depths (${bits.join(', ')})`);
  const formats = tagValues(ifd, Tag.SampleFormat) ?? [1];
  if (formats.some((f) => f !== formats[0])) fail(`samples of different formats (${formats.join(', ')})`);
  const format = formats[0];
  // 1 = unsigned integer, 4 = undefined (read as unsigned); 2 = signed, 3 = IEEE float.
  const float = format === 3;
  if (float) {
    if (sampleBits !== 32) fail(`${sampleBits}-bit floating-point samples are not supported; only 32-bit floats (or 8- and 16-bit unsigned) are read`);
  } else {
    if (format === 2) fail('signed integer samples are not supported; convert to 8- or 16-bit unsigned');
    if (format !== 1 && format !== 4) fail(`sample format ${format} is not supported`);
    if (sampleBits !== 8 && sampleBits !== 16) fail(`${sampleBits}-bit samples; only 8- and 16-bit unsigned and 32-bit float are read`);
  }
  const compression = tagValue(ifd, Tag.Compression, Compression.None);
  if (!supportedCompressions.has(compression)) {
    const known = compressionNames[compression];
    fail(`compression ${compression}${known ? ` (${known})` : ''} is not supported; use none, PackBits, LZW, Deflate or zstd`);
  }
  const photometric = tagValue(ifd, Tag.Photometric, samplesPerPixel >= 3 ? Photometric.RGB : Photometric.BlackIsZero);
  if (photometric === Photometric.Palette) fail('palette (indexed colour) images are not supported; save as greyscale');
  if (photometric === Photometric.RGB) {
    if (samplesPerPixel < 3) fail(`RGB page with ${samplesPerPixel} samples per pixel`);
  } else if (photometric === Photometric.WhiteIsZero || photometric === Photometric.BlackIsZero) {
    if (samplesPerPixel > 2) fail(`greyscale page with ${samplesPerPixel} samples per pixel`);
  } else {
    fail(`photometric interpretation ${photometric} is not supported; only greyscale and RGB are`);
  }
  const planarValue = tagValue(ifd, Tag.PlanarConfiguration, 1);
  if (planarValue !== 1 && planarValue !== 2) fail(`planar configuration ${planarValue} is not supported`);
  const predictor = tagValue(ifd, Tag.Predictor, 1);
  if (predictor === 3 && !float) fail('the floating-point predictor (3) on integer samples is not supported');
  if (predictor === 2 && float) fail('the horizontal predictor (2) on floating-point samples is not supported; use predictor 3');
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) fail(`predictor ${predictor} is not supported`);

  if (width * height * samplesPerPixel * (sampleBits / 8) > MAX_PAGE_BYTES) {
    fail(`a ${width}x${height} page of ${samplesPerPixel} ${sampleBits}-bit samples exceeds 2 GiB: corrupt header?`);
  }

  let layout: ChunkLayout;
  if (ifd.directory.hasTag(Tag.TileOffsets)) {
    const tileWidth = tagValue(ifd, Tag.TileWidth) ?? fail('tiled page without TileWidth');
    const tileHeight = tagValue(ifd, Tag.TileLength) ?? fail('tiled page without TileLength');
    if (tileWidth === 0 || tileHeight === 0) fail(`empty tiles ${tileWidth}x${tileHeight}`);
    if (tileWidth > MAX_SIDE || tileHeight > MAX_SIDE) fail(`tile size ${tileWidth}x${tileHeight} exceeds ${MAX_SIDE} pixels a side: corrupt header?`);
    layout = { kind: 'tiles', tileWidth, tileHeight };
  } else if (ifd.directory.hasTag(Tag.StripOffsets)) {
    const rowsPerStrip = tagValue(ifd, Tag.RowsPerStrip, height);
    if (rowsPerStrip === 0) fail('RowsPerStrip is 0');
    layout = { kind: 'strips', rowsPerStrip: Math.min(rowsPerStrip, height) };
  } else {
    return fail('neither StripOffsets nor TileOffsets: no image data');
  }
  return {
    page: ifd.page,
    width,
    height,
    bitDepth: sampleBits === 8 ? 8 : 16,
    sampleBits: sampleBits as 8 | 16 | 32,
    float,
    samplesPerPixel,
    photometric,
    compression,
    predictor,
    planar: planarValue as 1 | 2,
    layout,
    ifd,
  };
}

/** Pages that are frames: reduced-resolution copies (thumbnails, NewSubfileType bit 0) are skipped. */
export function framePages(file: TiffFile): TiffIfd[] {
  return file.ifds.filter((ifd) => {
    const subfile = tagValue(ifd, Tag.NewSubfileType, 0);
    const oldSubfile = tagValue(ifd, Tag.SubfileType, 1);
    return (subfile & 1) === 0 && oldSubfile !== 2;
  });
}

type Samples = Uint8Array | Uint16Array | Float32Array;

let zstd: Promise<ZSTDDecoder> | undefined;

/**
 * zstd through zstddec (geotiff's own zstd library) told the size to expect: geotiff calls it
 * without one, and on a corrupt frame of unknown size zstddec's streaming path loops forever.
 * A frame that fails to decode comes back short and is refused by the caller.
 */
async function decodeZstd(raw: Uint8Array, expected: number): Promise<Uint8Array> {
  zstd ??= (async () => {
    const decoder = new ZSTDDecoder();
    await decoder.init();
    return decoder;
  })();
  return (await zstd).decode(raw, expected);
}

const codecNames: Readonly<Record<number, string>> = {
  [Compression.None]: 'uncompressed',
  [Compression.LZW]: 'LZW',
  [Compression.AdobeDeflate]: 'Deflate',
  [Compression.Deflate]: 'Deflate',
  [Compression.PackBits]: 'PackBits',
  [Compression.Zstd]: 'zstd',
};

/**
 * Decodes the samples of one page (decompressed by geotiff's codecs, predictor undone, grey
 * taken from RGB where the channels agree). Float pages stay float: `decodePage` rescales them.
 */
export async function decodePageSamples(file: TiffFile, info: TiffPageInfo): Promise<Samples> {
  const { width, height, sampleBits, samplesPerPixel: spp, layout, planar, ifd, compression } = info;
  const where = `${file.source.name}: page ${info.page}`;
  const bytesPerSample = sampleBits / 8;
  const planes = planar === 2 ? spp : 1;
  const chunkSpp = planar === 2 ? 1 : spp;
  const isTiles = layout.kind === 'tiles';
  const chunkWidth = isTiles ? layout.tileWidth : width;
  const chunkHeight = isTiles ? layout.tileHeight : layout.rowsPerStrip;
  const across = Math.ceil(width / chunkWidth);
  const down = Math.ceil(height / chunkHeight);
  const perPlane = across * down;
  const what = isTiles ? 'tile' : 'strip';
  const offsets = tagValues(ifd, isTiles ? Tag.TileOffsets : Tag.StripOffsets) ?? [];
  const counts = tagValues(ifd, isTiles ? Tag.TileByteCounts : Tag.StripByteCounts);
  if (offsets.length < perPlane * planes) {
    throw new InvalidInputError(`${where}: ${offsets.length} ${what} offsets, expected ${perPlane * planes}`);
  }
  if (counts === undefined && compression !== Compression.None) {
    throw new InvalidInputError(`${where}: compressed page without ${what} byte counts`);
  }
  if (counts !== undefined && counts.length < offsets.length) {
    throw new InvalidInputError(`${where}: ${counts.length} ${what} byte counts for ${offsets.length} ${what}s`);
  }
  // geotiff applies the floating-point predictor (3) itself; the horizontal one (2) is undone
  // below on samples, because geotiff's works on host-order words and breaks big-endian files.
  // libtiff applies predictors only with LZW, Deflate and zstd, never with PackBits.
  const predictorApplies = compression !== Compression.None && compression !== Compression.PackBits;
  const predictor = predictorApplies ? info.predictor : 1;
  if (chunkWidth * chunkHeight * chunkSpp * bytesPerSample > MAX_PAGE_BYTES) {
    throw new InvalidInputError(`${where}: ${what}s of ${chunkWidth}x${chunkHeight} exceed 2 GiB: corrupt header?`);
  }
  const parameters = {
    tileWidth: chunkWidth,
    tileHeight: chunkHeight,
    bitsPerSample: new Array<number>(chunkSpp).fill(sampleBits),
    planarConfiguration: planar,
    samplesPerPixel: spp,
  };
  let decoder: Awaited<ReturnType<typeof getDecoder>> | undefined;
  let floatPredictor: Awaited<ReturnType<typeof getDecoder>> | undefined;
  try {
    // Decompression only (predictor 1); geotiff's no-compression decoder then undoes predictor 3.
    if (compression !== Compression.PackBits && compression !== Compression.Zstd) decoder = await getDecoder(compression, { ...parameters, predictor: 1 });
    if (predictor === 3) floatPredictor = await getDecoder(Compression.None, { ...parameters, predictor: 3 });
  } catch (error: unknown) {
    throw wrap(where, error, `no decoder for compression ${compression}`);
  }
  // The floating-point predictor leaves bytes in host (little-endian) order, as libtiff's does.
  const sampleLittleEndian = predictor === 3 ? true : file.littleEndian;

  const pixels = width * height;
  const samples: Samples = info.float ? new Float32Array(pixels * spp) : sampleBits === 16 ? new Uint16Array(pixels * spp) : new Uint8Array(pixels * spp);
  for (let plane = 0; plane < planes; plane++) {
    for (let c = 0; c < perPlane; c++) {
      const index = plane * perPlane + c;
      const x0 = (c % across) * chunkWidth;
      const y0 = Math.floor(c / across) * chunkHeight;
      // A tile is always stored whole (padded past the image edge); the last strip may be short.
      const rows = isTiles ? chunkHeight : Math.min(chunkHeight, height - y0);
      const expected = chunkWidth * rows * chunkSpp * bytesPerSample;
      const chunkWhere = `${where}: ${what} ${index + 1}`;
      const stored = counts?.[index] ?? expected;
      const raw = await file.source.readExact(offsets[index], stored, `page ${info.page}: ${what} ${index + 1}`);
      let decoded: Uint8Array;
      try {
        if (compression === Compression.PackBits) decoded = decodePackBits(raw, expected);
        else if (compression === Compression.Zstd) decoded = await decodeZstd(raw, expected);
        else if (decoder !== undefined) decoded = new Uint8Array(await decoder.decodeBlock(toArrayBuffer(raw)));
        else throw new Error(`no decoder for compression ${compression}`);
      } catch (error: unknown) {
        if (error instanceof InvalidInputError) throw new InvalidInputError(`${chunkWhere}: ${error.message}`, { cause: error });
        throw wrap(chunkWhere, error, `corrupt ${codecNames[compression]} data`);
      }
      if (decoded.length < expected) {
        const verb = compression === Compression.None ? 'holds' : 'decodes to';
        throw new InvalidInputError(`${chunkWhere}: ${codecNames[compression]} data ${verb} ${decoded.length} of ${expected} bytes: truncated or corrupt TIFF`);
      }
      if (floatPredictor !== undefined) {
        try {
          decoded = new Uint8Array(await floatPredictor.decode(toArrayBuffer(decoded.subarray(0, expected))));
        } catch (error: unknown) {
          throw wrap(chunkWhere, error, 'floating-point predictor failed');
        }
      }
      const chunk = toSamples(decoded, expected / bytesPerSample, info, sampleLittleEndian);
      if (predictor === 2) undoHorizontalPredictor(chunk as Uint8Array | Uint16Array, chunkWidth, rows, chunkSpp);
      const visibleWidth = Math.min(chunkWidth, width - x0);
      const visibleRows = Math.min(rows, height - y0);
      for (let y = 0; y < visibleRows; y++) {
        for (let x = 0; x < visibleWidth; x++) {
          const from = (y * chunkWidth + x) * chunkSpp;
          const to = ((y0 + y) * width + x0 + x) * spp + plane;
          for (let s = 0; s < chunkSpp; s++) samples[to + s] = chunk[from + s];
        }
      }
    }
  }
  return toGrey(samples, info, where);
}

function toSamples(bytes: Uint8Array, count: number, info: TiffPageInfo, littleEndian: boolean): Samples {
  if (info.sampleBits === 8) return bytes.subarray(0, count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (info.float) {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, littleEndian);
    return out;
  }
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, littleEndian);
  return out;
}

/**
 * RGB(A) pages become grey only when red, green and blue are equal in every pixel; extra samples
 * (alpha) are dropped; WhiteIsZero is inverted so that larger always means brighter.
 */
function toGrey(samples: Samples, info: TiffPageInfo, where: string): Samples {
  const { width, height, samplesPerPixel: spp, photometric, sampleBits, float } = info;
  const pixels = width * height;
  if (spp === 1 && photometric === Photometric.BlackIsZero) return samples;
  const out = float ? new Float32Array(pixels) : sampleBits === 16 ? new Uint16Array(pixels) : new Uint8Array(pixels);
  const max = sampleBits === 16 ? 0xffff : 0xff;
  for (let i = 0, p = 0; i < pixels; i++, p += spp) {
    const r = samples[p];
    if (photometric === Photometric.RGB) {
      const g = samples[p + 1];
      const b = samples[p + 2];
      if (r !== g || g !== b) {
        const x = i % width;
        const y = (i - x) / width;
        throw new InvalidInputError(`${where}: colour channels differ at pixel (x=${x}, y=${y}): (${r}, ${g}, ${b}); only RGB with equal channels is read as grey`);
      }
    }
    out[i] = photometric === Photometric.WhiteIsZero ? (float ? -r : max - r) : r;
  }
  return out;
}

/** The finite range of float samples, widened by each call; NaN and infinities are left out. */
export interface FloatRange {
  min: number;
  max: number;
}

export function emptyFloatRange(): FloatRange {
  return { min: Infinity, max: -Infinity };
}

export function widenFloatRange(range: FloatRange, samples: Float32Array): void {
  for (const v of samples) {
    if (!Number.isFinite(v)) continue;
    if (v < range.min) range.min = v;
    if (v > range.max) range.max = v;
  }
}

/**
 * Float pages become 16-bit by one linear map for the whole read: the smallest finite sample of
 * all pages read goes to 0, the largest to 65535, so frames keep their relative brightness. NaN
 * goes to 0 and infinities to the ends; a constant video becomes all 0.
 */
export function rescaleFloat(samples: Float32Array, range: FloatRange): Uint16Array {
  const out = new Uint16Array(samples.length);
  const span = range.max - range.min;
  if (!(span > 0)) return out;
  const scale = 65535 / span;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (Number.isNaN(v)) continue;
    out[i] = Math.min(65535, Math.max(0, Math.round((v - range.min) * scale)));
  }
  return out;
}

/** Decodes one page to a grey frame; float pages need the range of the whole read (`FloatRange`). */
export async function decodePage(file: TiffFile, info: TiffPageInfo, range?: FloatRange): Promise<GreyFrame> {
  const samples = await decodePageSamples(file, info);
  const { width, height, bitDepth } = info;
  if (samples instanceof Float32Array) {
    const own = range ?? emptyFloatRange();
    if (range === undefined) widenFloatRange(own, samples);
    return { data: rescaleFloat(samples, own), width, height, bitDepth };
  }
  return { data: samples, width, height, bitDepth };
}

/** The range of float samples over `infos` (a first pass over the pages, none kept in memory). */
export async function floatRangeOf(file: TiffFile, infos: readonly TiffPageInfo[]): Promise<FloatRange | undefined> {
  if (!infos.some((info) => info.float)) return undefined;
  const range = emptyFloatRange();
  for (const info of infos) {
    const samples = await decodePageSamples(file, info);
    if (samples instanceof Float32Array) widenFloatRange(range, samples);
  }
  return range;
}

/** Decodes every frame page of an in-memory TIFF (all pages must share one size and bit depth). */
export async function decodeTiff(bytes: Uint8Array, name = 'TIFF'): Promise<GreyFrame[]> {
  const file = await readTiffStructure(bufferSource(bytes, name));
  const infos = framePages(file).map((ifd) => describePage(file, ifd));
  checkUniformPages(name, infos);
  const range = await floatRangeOf(file, infos);
  const frames: GreyFrame[] = [];
  for (const info of infos) frames.push(await decodePage(file, info, range));
  return frames;
}

/** Pages of one stack must agree in size and bit depth: a video is one volume. */
export function checkUniformPages(name: string, infos: readonly TiffPageInfo[]): void {
  const first = infos[0];
  if (first === undefined) throw new InvalidInputError(`${name}: TIFF has no image pages`);
  for (const info of infos) {
    if (info.width !== first.width || info.height !== first.height) {
      throw new InvalidInputError(
        `${name}: page ${info.page} is ${info.width}x${info.height} but page ${first.page} is ${first.width}x${first.height}; all pages of a video must have one size`,
      );
    }
    if (info.sampleBits !== first.sampleBits || info.float !== first.float) {
      const kind = (page: TiffPageInfo): string => `${page.sampleBits}-bit${page.float ? ' float' : ''}`;
      throw new InvalidInputError(`${name}: page ${info.page} is ${kind(info)} but page ${first.page} is ${kind(first)}`);
    }
  }
}
