import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InvalidInputError } from '@mitosis/core';
import { decodeDeflate, decodeLzw, decodePackBits, undoHorizontalPredictor } from './tiff-codecs';
import { BIGTIFF_MAGIC, Compression, fieldTypeSize, Photometric, Tag, TIFF_MAGIC } from './tiff-format';
import type { GreyFrame } from './png';

/**
 * Random access to the bytes of a TIFF. The reader asks only for the ranges it needs (header,
 * IFDs, then the strips of the pages it decodes), so probing a long stack reads a few kilobytes
 * and decoding frames 5..8 reads only those pages. Every read is bounds-checked.
 */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  /** Bytes [offset, offset+length); InvalidInputError naming `what` when they lie past the end. */
  read(offset: number, length: number, what: string): Uint8Array;
}

function outOfRange(name: string, offset: number, length: number, size: number, what: string): InvalidInputError {
  return new InvalidInputError(`${name}: ${what} at bytes ${offset}..${offset + length} lies past the end of the file (${size} bytes): truncated or corrupt TIFF`);
}

export function bufferSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.length,
    read(offset, length, what) {
      if (offset < 0 || length < 0 || offset + length > bytes.length) throw outOfRange(name, offset, length, bytes.length, what);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** Opens a file for random access; call `close` when done. */
export function openFileSource(file: string, name: string = file): ByteSource & { close(): void } {
  const fd = openSync(file, 'r');
  const size = fstatSync(fd).size;
  return {
    name,
    size,
    read(offset, length, what) {
      if (offset < 0 || length < 0 || offset + length > size) throw outOfRange(name, offset, length, size, what);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) throw outOfRange(name, offset, length, offset + done, what);
        done += n;
      }
      return out;
    },
    close() {
      closeSync(fd);
    },
  };
}

interface IfdEntry {
  readonly type: number;
  readonly count: number;
  /** Absolute offset of the values: inside the entry when they fit in 4 bytes, else where it points. */
  readonly valueOffset: number;
}

/** One image file directory: the tags of one page. */
export interface TiffIfd {
  /** 1-based position of the IFD in the file, as people count pages. */
  readonly page: number;
  readonly offset: number;
  readonly entries: ReadonlyMap<number, IfdEntry>;
}

interface TiffFile {
  readonly source: ByteSource;
  readonly littleEndian: boolean;
  readonly ifds: readonly TiffIfd[];
}

/** Reads the header and walks the chain of IFDs (no pixel data). */
export function readTiffStructure(source: ByteSource): TiffFile {
  const { name } = source;
  if (source.size < 8) throw new InvalidInputError(`${name}: too short for a TIFF header (${source.size} bytes)`);
  const header = source.read(0, 8, 'header');
  const order = String.fromCharCode(header[0], header[1]);
  if (order !== 'II' && order !== 'MM') throw new InvalidInputError(`${name}: not a TIFF file (byte order mark "${order}")`);
  const littleEndian = order === 'II';
  const view = new DataView(header.buffer, header.byteOffset, 8);
  const magic = view.getUint16(2, littleEndian);
  if (magic === BIGTIFF_MAGIC) throw new InvalidInputError(`${name}: BigTIFF is not supported; save as classic TIFF`);
  if (magic !== TIFF_MAGIC) throw new InvalidInputError(`${name}: not a TIFF file (magic number ${magic}, expected 42)`);

  const ifds: TiffIfd[] = [];
  const seen = new Set<number>();
  let offset = view.getUint32(4, littleEndian);
  while (offset !== 0) {
    const page = ifds.length + 1;
    if (seen.has(offset)) throw new InvalidInputError(`${name}: page ${page}: IFD offset ${offset} loops back to an earlier page: corrupt TIFF`);
    seen.add(offset);
    const countBytes = source.read(offset, 2, `page ${page}: IFD`);
    const count = new DataView(countBytes.buffer, countBytes.byteOffset, 2).getUint16(0, littleEndian);
    const body = source.read(offset + 2, count * 12 + 4, `page ${page}: IFD of ${count} entries`);
    const bodyView = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const entries = new Map<number, IfdEntry>();
    for (let i = 0; i < count; i++) {
      const at = i * 12;
      const tag = bodyView.getUint16(at, littleEndian);
      const type = bodyView.getUint16(at + 2, littleEndian);
      const valueCount = bodyView.getUint32(at + 4, littleEndian);
      const size = fieldTypeSize[type];
      if (size === undefined) continue; // unknown field types are skipped, as TIFF 6.0 section 2 asks
      const inline = size * valueCount <= 4;
      const valueOffset = inline ? offset + 2 + at + 8 : bodyView.getUint32(at + 8, littleEndian);
      entries.set(tag, { type, count: valueCount, valueOffset });
    }
    ifds.push({ page, offset, entries });
    offset = bodyView.getUint32(count * 12, littleEndian);
  }
  if (ifds.length === 0) throw new InvalidInputError(`${name}: TIFF has no pages`);
  return { source, littleEndian, ifds };
}

/** The unsigned integer values of a tag (BYTE, SHORT or LONG), or undefined when absent. */
function tagValues(file: TiffFile, ifd: TiffIfd, tag: number): number[] | undefined {
  const entry = ifd.entries.get(tag);
  if (entry === undefined) return undefined;
  const size = fieldTypeSize[entry.type];
  const bytes = file.source.read(entry.valueOffset, entry.count * size, `page ${ifd.page}: values of tag ${tag}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: number[] = new Array<number>(entry.count);
  for (let i = 0; i < entry.count; i++) {
    switch (size) {
      case 1:
        values[i] = view.getUint8(i);
        break;
      case 2:
        values[i] = view.getUint16(i * 2, file.littleEndian);
        break;
      case 4:
        values[i] = view.getUint32(i * 4, file.littleEndian);
        break;
      default:
        throw new InvalidInputError(`${file.source.name}: page ${ifd.page}: tag ${tag} has field type ${entry.type}, not an integer type`);
    }
  }
  return values;
}

/** The first value of a tag; `fallback` (the default TIFF 6.0 gives the tag) when it is absent. */
function tagValue(file: TiffFile, ifd: TiffIfd, tag: number): number | undefined;
function tagValue(file: TiffFile, ifd: TiffIfd, tag: number, fallback: number): number;
function tagValue(file: TiffFile, ifd: TiffIfd, tag: number, fallback?: number): number | undefined {
  const values = tagValues(file, ifd, tag);
  if (values === undefined || values.length === 0) return fallback;
  return values[0];
}

type ChunkLayout = { readonly kind: 'strips'; readonly rowsPerStrip: number } | { readonly kind: 'tiles'; readonly tileWidth: number; readonly tileHeight: number };

/** The checked description of one page: everything but the pixel offsets. */
export interface TiffPageInfo {
  readonly page: number;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
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
  50000: 'Zstandard',
  34925: 'LZMA',
};
const supportedCompressions = new Set<number>([Compression.None, Compression.LZW, Compression.AdobeDeflate, Compression.Deflate, Compression.PackBits]);

/**
 * Checks that a page is one this reader decodes: 8- or 16-bit unsigned samples, grey (1 sample,
 * or 2 with an extra sample) or RGB(A) (3 or 4), chunky or planar, strips or tiles, and one of
 * the compressions none, PackBits, LZW or Deflate.
 */
export function describePage(file: TiffFile, ifd: TiffIfd): TiffPageInfo {
  const where = `${file.source.name}: page ${ifd.page}`;
  const fail = (problem: string): never => {
    throw new InvalidInputError(`${where}: ${problem}`);
  };
  const width = tagValue(file, ifd, Tag.ImageWidth) ?? fail('no ImageWidth tag');
  const height = tagValue(file, ifd, Tag.ImageLength) ?? fail('no ImageLength tag');
  if (width === 0 || height === 0) fail(`empty image ${width}x${height}`);
  // A corrupt size field must not turn into a multi-gigabyte allocation before the data is read.
  if (width > MAX_SIDE || height > MAX_SIDE) fail(`image size ${width}x${height} exceeds ${MAX_SIDE} pixels a side: corrupt header?`);
  const samplesPerPixel = tagValue(file, ifd, Tag.SamplesPerPixel, 1);
  if (samplesPerPixel < 1 || samplesPerPixel > 4) fail(`${samplesPerPixel} samples per pixel; only 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) are read`);
  const bits = tagValues(file, ifd, Tag.BitsPerSample) ?? [1];
  const bitDepth = bits[0];
  if (bits.some((b) => b !== bitDepth)) fail(`samples of different bit depths (${bits.join(', ')})`);
  if (bitDepth !== 8 && bitDepth !== 16) fail(`${bitDepth}-bit samples; only 8- and 16-bit are read`);
  const formats = tagValues(file, ifd, Tag.SampleFormat) ?? [1];
  for (const format of formats) {
    // 1 = unsigned integer, 4 = undefined (read as unsigned); 2 = signed, 3 = IEEE float.
    if (format === 3) fail('floating-point samples are not supported; convert to 8- or 16-bit unsigned');
    if (format === 2) fail('signed integer samples are not supported; convert to 8- or 16-bit unsigned');
    if (format !== 1 && format !== 4) fail(`sample format ${format} is not supported`);
  }
  const compression = tagValue(file, ifd, Tag.Compression, Compression.None);
  if (!supportedCompressions.has(compression)) {
    const known = compressionNames[compression];
    fail(`compression ${compression}${known ? ` (${known})` : ''} is not supported; use none, PackBits, LZW or Deflate`);
  }
  const photometric = tagValue(file, ifd, Tag.Photometric, samplesPerPixel >= 3 ? Photometric.RGB : Photometric.BlackIsZero);
  if (photometric === Photometric.Palette) fail('palette (indexed colour) images are not supported; save as greyscale');
  if (photometric === Photometric.RGB) {
    if (samplesPerPixel < 3) fail(`RGB page with ${samplesPerPixel} samples per pixel`);
  } else if (photometric === Photometric.WhiteIsZero || photometric === Photometric.BlackIsZero) {
    if (samplesPerPixel > 2) fail(`greyscale page with ${samplesPerPixel} samples per pixel`);
  } else {
    fail(`photometric interpretation ${photometric} is not supported; only greyscale and RGB are`);
  }
  const planarValue = tagValue(file, ifd, Tag.PlanarConfiguration, 1);
  if (planarValue !== 1 && planarValue !== 2) fail(`planar configuration ${planarValue} is not supported`);
  const predictor = tagValue(file, ifd, Tag.Predictor, 1);
  if (predictor === 3) fail('the floating-point predictor is not supported');
  if (predictor !== 1 && predictor !== 2) fail(`predictor ${predictor} is not supported`);

  if (width * height * samplesPerPixel * (bitDepth / 8) > MAX_PAGE_BYTES) {
    fail(`a ${width}x${height} page of ${samplesPerPixel} ${bitDepth}-bit samples exceeds 2 GiB: corrupt header?`);
  }

  let layout: ChunkLayout;
  if (ifd.entries.has(Tag.TileOffsets)) {
    const tileWidth = tagValue(file, ifd, Tag.TileWidth) ?? fail('tiled page without TileWidth');
    const tileHeight = tagValue(file, ifd, Tag.TileLength) ?? fail('tiled page without TileLength');
    if (tileWidth === 0 || tileHeight === 0) fail(`empty tiles ${tileWidth}x${tileHeight}`);
    layout = { kind: 'tiles', tileWidth, tileHeight };
  } else if (ifd.entries.has(Tag.StripOffsets)) {
    const rowsPerStrip = tagValue(file, ifd, Tag.RowsPerStrip, height);
    if (rowsPerStrip === 0) fail('RowsPerStrip is 0');
    layout = { kind: 'strips', rowsPerStrip: Math.min(rowsPerStrip, height) };
  } else {
    return fail('neither StripOffsets nor TileOffsets: no image data');
  }
  return {
    page: ifd.page,
    width,
    height,
    bitDepth: bitDepth as 8 | 16,
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
    const subfile = tagValue(file, ifd, Tag.NewSubfileType, 0);
    const oldSubfile = tagValue(file, ifd, Tag.SubfileType, 1);
    return (subfile & 1) === 0 && oldSubfile !== 2;
  });
}

function decompress(info: TiffPageInfo, raw: Uint8Array, expected: number): Uint8Array {
  switch (info.compression) {
    case Compression.None:
      if (raw.length < expected) throw new InvalidInputError(`uncompressed data holds ${raw.length} of ${expected} bytes`);
      return raw.subarray(0, expected);
    case Compression.PackBits:
      return decodePackBits(raw, expected);
    case Compression.LZW:
      return decodeLzw(raw, expected);
    default:
      return decodeDeflate(raw, expected);
  }
}

/**
 * Decodes one page to a grey frame. RGB(A) pages become grey only when red, green and blue are
 * equal in every pixel; extra samples (alpha) are dropped; WhiteIsZero is inverted so that
 * larger always means brighter.
 */
export function decodePage(file: TiffFile, info: TiffPageInfo): GreyFrame {
  const { width, height, bitDepth, samplesPerPixel: spp, layout, planar, ifd } = info;
  const where = `${file.source.name}: page ${info.page}`;
  const bytesPerSample = bitDepth / 8;
  const planes = planar === 2 ? spp : 1;
  const chunkSpp = planar === 2 ? 1 : spp;
  const isTiles = layout.kind === 'tiles';
  const chunkWidth = isTiles ? layout.tileWidth : width;
  const chunkHeight = isTiles ? layout.tileHeight : layout.rowsPerStrip;
  const across = Math.ceil(width / chunkWidth);
  const down = Math.ceil(height / chunkHeight);
  const perPlane = across * down;
  const what = isTiles ? 'tile' : 'strip';
  const offsets = tagValues(file, ifd, isTiles ? Tag.TileOffsets : Tag.StripOffsets) ?? [];
  const counts = tagValues(file, ifd, isTiles ? Tag.TileByteCounts : Tag.StripByteCounts);
  if (offsets.length < perPlane * planes) {
    throw new InvalidInputError(`${where}: ${offsets.length} ${what} offsets, expected ${perPlane * planes}`);
  }
  if (counts === undefined && info.compression !== Compression.None) {
    throw new InvalidInputError(`${where}: compressed page without ${what} byte counts`);
  }
  if (counts !== undefined && counts.length < offsets.length) {
    throw new InvalidInputError(`${where}: ${counts.length} ${what} byte counts for ${offsets.length} ${what}s`);
  }

  const pixels = width * height;
  const samples = bitDepth === 16 ? new Uint16Array(pixels * spp) : new Uint8Array(pixels * spp);
  for (let plane = 0; plane < planes; plane++) {
    for (let c = 0; c < perPlane; c++) {
      const index = plane * perPlane + c;
      const x0 = (c % across) * chunkWidth;
      const y0 = Math.floor(c / across) * chunkHeight;
      // A tile is always stored whole (padded past the image edge); the last strip may be short.
      const rows = isTiles ? chunkHeight : Math.min(chunkHeight, height - y0);
      const expected = chunkWidth * rows * chunkSpp * bytesPerSample;
      const chunkWhere = `${where}: ${what} ${index + 1}`;
      const raw = file.source.read(offsets[index], counts?.[index] ?? expected, `page ${info.page}: ${what} ${index + 1}`);
      let decoded: Uint8Array;
      try {
        decoded = decompress(info, raw, expected);
      } catch (error: unknown) {
        if (error instanceof InvalidInputError) throw new InvalidInputError(`${chunkWhere}: ${error.message}`, { cause: error });
        throw error;
      }
      let chunk: Uint8Array | Uint16Array = decoded;
      if (bitDepth === 16) {
        const view = new DataView(decoded.buffer, decoded.byteOffset, decoded.byteLength);
        const wide = new Uint16Array(decoded.length / 2);
        for (let i = 0; i < wide.length; i++) wide[i] = view.getUint16(i * 2, file.littleEndian);
        chunk = wide;
      }
      if (info.predictor === 2 && info.compression !== Compression.None && info.compression !== Compression.PackBits) {
        undoHorizontalPredictor(chunk, chunkWidth, rows, chunkSpp);
      }
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
  return { data: toGrey(samples, info, where), width, height, bitDepth };
}

function toGrey(samples: Uint8Array | Uint16Array, info: TiffPageInfo, where: string): Uint8Array | Uint16Array {
  const { width, height, samplesPerPixel: spp, photometric, bitDepth } = info;
  const pixels = width * height;
  if (spp === 1 && photometric === Photometric.BlackIsZero) return samples;
  const out = bitDepth === 16 ? new Uint16Array(pixels) : new Uint8Array(pixels);
  const max = bitDepth === 16 ? 0xffff : 0xff;
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
    out[i] = photometric === Photometric.WhiteIsZero ? max - r : r;
  }
  return out;
}

/** Decodes every frame page of an in-memory TIFF (all pages must share one size and bit depth). */
export function decodeTiff(bytes: Uint8Array, name = 'TIFF'): GreyFrame[] {
  const file = readTiffStructure(bufferSource(bytes, name));
  const infos = framePages(file).map((ifd) => describePage(file, ifd));
  checkUniformPages(name, infos);
  return infos.map((info) => decodePage(file, info));
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
    if (info.bitDepth !== first.bitDepth) {
      throw new InvalidInputError(`${name}: page ${info.page} is ${info.bitDepth}-bit but page ${first.page} is ${first.bitDepth}-bit`);
    }
  }
}
