import { deflateSync } from 'node:zlib';
import { InvalidInputError, ResourceExhaustedError } from '@mitosis/core';
import { Compression, FieldType, MAX_CLASSIC_OFFSET, Photometric, Tag, TIFF_MAGIC } from './tiff-format';

/** One greyscale page to write. */
export interface TiffPage {
  readonly data: Uint8Array | Uint16Array;
  readonly width: number;
  readonly height: number;
}

export type TiffCompression = 'none' | 'deflate';

export interface EncodeTiffOptions {
  /** 'none' (default) is what every reader opens; 'deflate' (zlib, tag value 8) is lossless and smaller. */
  readonly compression?: TiffCompression;
  /** Little endian ('II', default) or big endian ('MM'); both are valid TIFF, readers must accept both. */
  readonly byteOrder?: 'little' | 'big';
  /** Rows per strip; by default strips of about 64 KiB, the size libtiff recommends for random access. */
  readonly rowsPerStrip?: number;
  /** Horizontal differencing (Predictor = 2) before deflate: smaller files for smooth images. */
  readonly predictor?: boolean;
}

const STRIP_TARGET_BYTES = 64 * 1024;

interface Entry {
  readonly tag: number;
  readonly type: number;
  readonly values: readonly number[];
}

function bitDepthOf(data: Uint8Array | Uint16Array): 8 | 16 {
  return data instanceof Uint16Array ? 16 : 8;
}

/** Differences along each row (TIFF 6.0 section 14), applied to the samples before compression. */
function applyHorizontalPredictor(samples: Uint8Array | Uint16Array, width: number, rows: number): Uint8Array | Uint16Array {
  const out = samples.slice();
  for (let y = 0; y < rows; y++) {
    const row = y * width;
    for (let x = width - 1; x > 0; x--) out[row + x] = samples[row + x] - samples[row + x - 1];
  }
  return out;
}

function samplesToBytes(samples: Uint8Array | Uint16Array, littleEndian: boolean): Uint8Array {
  if (samples instanceof Uint8Array) return samples;
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) view.setUint16(i * 2, samples[i], littleEndian);
  return bytes;
}

/**
 * Encodes greyscale pages as a multi-page TIFF, one IFD per page, yielding the file piece by
 * piece so a long video is never held twice in memory. Each page is laid out as its IFD (with the
 * values that do not fit in an entry) followed by its strips, so the offset of the next IFD is
 * known as soon as the page's strips are compressed.
 */
export function* encodeTiffParts(pages: Iterable<TiffPage>, options: EncodeTiffOptions = {}): Generator<Uint8Array> {
  const littleEndian = (options.byteOrder ?? 'little') === 'little';
  const compression = options.compression ?? 'none';
  const usePredictor = options.predictor === true && compression === 'deflate';
  const header = new Uint8Array(8);
  const headerView = new DataView(header.buffer);
  header[0] = header[1] = littleEndian ? 0x49 : 0x4d;
  headerView.setUint16(2, TIFF_MAGIC, littleEndian);
  headerView.setUint32(4, 8, littleEndian);
  yield header;

  let position = 8;
  let pageIndex = 0;
  const iterator = pages[Symbol.iterator]();
  let next = iterator.next();
  if (next.done === true) throw new InvalidInputError('a TIFF needs at least one page');
  while (next.done !== true) {
    const page = next.value;
    pageIndex++;
    const { width, height, data } = page;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new InvalidInputError(`TIFF page ${pageIndex}: size ${width}x${height} is not a positive integer size`);
    }
    if (data.length !== width * height) {
      throw new InvalidInputError(`TIFF page ${pageIndex}: ${data.length} samples do not make a ${width}x${height} frame`);
    }
    const bitDepth = bitDepthOf(data);
    const rowBytes = width * (bitDepth / 8);
    const rowsPerStrip = Math.min(height, options.rowsPerStrip ?? Math.max(1, Math.floor(STRIP_TARGET_BYTES / rowBytes)));
    if (!Number.isInteger(rowsPerStrip) || rowsPerStrip < 1) throw new InvalidInputError(`rowsPerStrip ${options.rowsPerStrip} is not a positive integer`);

    const strips: Uint8Array[] = [];
    for (let y0 = 0; y0 < height; y0 += rowsPerStrip) {
      const rows = Math.min(rowsPerStrip, height - y0);
      let samples = data.subarray(y0 * width, (y0 + rows) * width);
      if (usePredictor) samples = applyHorizontalPredictor(samples, width, rows);
      const raw = samplesToBytes(samples, littleEndian);
      strips.push(compression === 'deflate' ? new Uint8Array(deflateSync(raw)) : raw);
    }

    const entries: Entry[] = [
      { tag: Tag.NewSubfileType, type: FieldType.LONG, values: [0] },
      { tag: Tag.ImageWidth, type: FieldType.LONG, values: [width] },
      { tag: Tag.ImageLength, type: FieldType.LONG, values: [height] },
      { tag: Tag.BitsPerSample, type: FieldType.SHORT, values: [bitDepth] },
      { tag: Tag.Compression, type: FieldType.SHORT, values: [compression === 'deflate' ? Compression.AdobeDeflate : Compression.None] },
      { tag: Tag.Photometric, type: FieldType.SHORT, values: [Photometric.BlackIsZero] },
      { tag: Tag.StripOffsets, type: FieldType.LONG, values: [] /* filled below */ },
      { tag: Tag.SamplesPerPixel, type: FieldType.SHORT, values: [1] },
      { tag: Tag.RowsPerStrip, type: FieldType.LONG, values: [rowsPerStrip] },
      { tag: Tag.StripByteCounts, type: FieldType.LONG, values: strips.map((s) => s.length) },
      { tag: Tag.XResolution, type: FieldType.RATIONAL, values: [1, 1] },
      { tag: Tag.YResolution, type: FieldType.RATIONAL, values: [1, 1] },
      { tag: Tag.PlanarConfiguration, type: FieldType.SHORT, values: [1] },
      { tag: Tag.ResolutionUnit, type: FieldType.SHORT, values: [1] },
      ...(usePredictor ? [{ tag: Tag.Predictor, type: FieldType.SHORT, values: [2] }] : []),
      { tag: Tag.SampleFormat, type: FieldType.SHORT, values: [1] },
    ];
    entries.sort((a, b) => a.tag - b.tag);

    // IFD: count, 12-byte entries, next offset; then the out-of-line values; then the strips.
    const valueBytes = (entry: Entry, count: number): number => (entry.type === FieldType.RATIONAL ? 4 : entry.type === FieldType.SHORT ? 2 : 4) * count;
    const ifdSize = 2 + entries.length * 12 + 4;
    let extraSize = 0;
    for (const entry of entries) {
      const count = entry.tag === Tag.StripOffsets ? strips.length : entry.values.length;
      const bytes = valueBytes(entry, count);
      if (bytes > 4) extraSize += bytes + (bytes % 2);
    }
    const stripsStart = position + ifdSize + extraSize;
    const stripOffsets: number[] = [];
    let stripPosition = stripsStart;
    for (const strip of strips) {
      stripOffsets.push(stripPosition);
      stripPosition += strip.length + (strip.length % 2); // keep every IFD on a word boundary
    }
    if (stripPosition > MAX_CLASSIC_OFFSET) {
      throw new ResourceExhaustedError(`TIFF page ${pageIndex} would end past 4 GiB, the limit of classic TIFF (BigTIFF is not written)`);
    }

    next = iterator.next();
    const block = new Uint8Array(ifdSize + extraSize);
    const view = new DataView(block.buffer);
    view.setUint16(0, entries.length, littleEndian);
    let extraAt = ifdSize;
    entries.forEach((entry, i) => {
      const values = entry.tag === Tag.StripOffsets ? stripOffsets : entry.values;
      const at = 2 + i * 12;
      view.setUint16(at, entry.tag, littleEndian);
      view.setUint16(at + 2, entry.type, littleEndian);
      view.setUint32(at + 4, entry.type === FieldType.RATIONAL ? values.length / 2 : values.length, littleEndian);
      const bytes = valueBytes(entry, values.length);
      let target = at + 8;
      if (bytes > 4) {
        view.setUint32(at + 8, position + extraAt, littleEndian);
        target = extraAt;
        extraAt += bytes + (bytes % 2);
      }
      for (const value of values) {
        if (entry.type === FieldType.SHORT) {
          view.setUint16(target, value, littleEndian);
          target += 2;
        } else {
          view.setUint32(target, value, littleEndian);
          target += 4;
        }
      }
    });
    view.setUint32(2 + entries.length * 12, next.done === true ? 0 : stripPosition, littleEndian);
    yield block;
    for (const strip of strips) {
      yield strip;
      if (strip.length % 2 === 1) yield new Uint8Array(1);
    }
    position = stripPosition;
  }
}

/** Encodes greyscale pages as one multi-page TIFF in memory (see encodeTiffParts). */
export function encodeTiff(pages: Iterable<TiffPage>, options: EncodeTiffOptions = {}): Uint8Array {
  const parts = [...encodeTiffParts(pages, options)];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
