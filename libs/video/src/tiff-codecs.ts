import { inflateSync } from 'node:zlib';
import { InvalidInputError } from '@mitosis/core';

/**
 * Decompressors for the TIFF compressions this project reads. Each returns exactly `expected`
 * bytes: data that decodes to fewer is truncated or corrupt and raises InvalidInputError; bytes
 * past `expected` are padding some writers add and are dropped, as libtiff does. The caller
 * prefixes the file, page and strip to the message.
 */

/** PackBits (TIFF 6.0 section 9): a signed count byte, then literal bytes or one repeated byte. */
export function decodePackBits(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let i = 0;
  let o = 0;
  while (o < expected) {
    if (i >= input.length) throw new InvalidInputError(`PackBits data ends after ${o} of ${expected} bytes`);
    const n = input[i++];
    if (n < 128) {
      // 0..127: copy the next n+1 bytes literally.
      const count = n + 1;
      if (i + count > input.length) throw new InvalidInputError(`PackBits literal run of ${count} bytes runs past the end of the data`);
      const take = Math.min(count, expected - o);
      out.set(input.subarray(i, i + take), o);
      i += count;
      o += take;
    } else if (n > 128) {
      // -127..-1: repeat the next byte 1-n times.
      if (i >= input.length) throw new InvalidInputError('PackBits repeat run has no byte to repeat');
      const count = 257 - n;
      out.fill(input[i++], o, Math.min(expected, o + count));
      o += count;
    }
    // 128 (-128) is a no-op by the specification.
  }
  return out;
}

const LZW_CLEAR = 256;
const LZW_EOI = 257;
const LZW_FIRST = 258;
const LZW_MAX_CODES = 4096;

/**
 * TIFF LZW (TIFF 6.0 section 13): codes of 9 to 12 bits, most significant bit first, with Clear
 * (256) and EndOfInformation (257). TIFF switches to a wider code one entry earlier than GIF
 * ("early change"): at 511, 1023 and 2047 entries.
 */
export function decodeLzw(input: Uint8Array, expected: number): Uint8Array {
  if (input.length >= 2 && input[0] === 0 && (input[1] & 1) === 1) {
    throw new InvalidInputError('old-style (pre TIFF 5.0, LSB-first) LZW is not supported');
  }
  const out = new Uint8Array(expected);
  // The table stores each string as (prefix code, last byte), with its length and first byte.
  const prefix = new Uint16Array(LZW_MAX_CODES);
  const suffix = new Uint8Array(LZW_MAX_CODES);
  const length = new Uint16Array(LZW_MAX_CODES);
  const first = new Uint8Array(LZW_MAX_CODES);
  for (let c = 0; c < 256; c++) {
    suffix[c] = c;
    first[c] = c;
    length[c] = 1;
  }
  const totalBits = input.length * 8;
  let bitPos = 0;
  let width = 9;
  let next = LZW_FIRST;
  let previous = -1;
  let o = 0;

  // Writes the string of `code` at out[o...], clipped to the output.
  const emit = (code: number): void => {
    const len = length[code];
    let c = code;
    for (let k = len - 1; k >= 0; k--) {
      if (o + k < expected) out[o + k] = suffix[c];
      c = prefix[c];
    }
    o += len;
  };

  while (o < expected) {
    if (bitPos + width > totalBits) break;
    // Read `width` bits MSB-first; at most 12 bits span at most 3 bytes.
    const byte = bitPos >>> 3;
    const window = (input[byte] << 16) | ((input[byte + 1] ?? 0) << 8) | (input[byte + 2] ?? 0);
    const code = (window >>> (24 - (bitPos & 7) - width)) & ((1 << width) - 1);
    bitPos += width;

    if (code === LZW_EOI) break;
    if (code === LZW_CLEAR) {
      width = 9;
      next = LZW_FIRST;
      previous = -1;
      continue;
    }
    if (previous === -1) {
      if (code > 255) throw new InvalidInputError(`LZW code ${code} follows a Clear code; only a literal (0-255) may`);
      emit(code);
      previous = code;
      continue;
    }
    let added = -1;
    if (code < next) {
      emit(code);
      added = first[code];
    } else if (code === next) {
      // The KwKwK case: the new string is the previous one plus its own first byte.
      added = first[previous];
    } else {
      throw new InvalidInputError(`LZW code ${code} is beyond the table (next free code ${next}): corrupt data`);
    }
    if (next < LZW_MAX_CODES) {
      prefix[next] = previous;
      suffix[next] = added;
      length[next] = length[previous] + 1;
      first[next] = first[previous];
      if (code === next) emit(next);
      next++;
      if (next >= (1 << width) - 1 && width < 12) width++;
    } else if (code === next) {
      throw new InvalidInputError('LZW table overflow without a Clear code: corrupt data');
    }
    previous = code;
  }
  if (o < expected) throw new InvalidInputError(`LZW data ends after ${o} of ${expected} bytes`);
  return out;
}

/** Deflate (Compression 8 and 32946): a zlib stream, inflated by node:zlib. */
export function decodeDeflate(input: Uint8Array, expected: number): Uint8Array {
  let inflated: Buffer;
  try {
    inflated = inflateSync(input);
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidInputError(`corrupt Deflate data (${reason})`, { cause: error });
  }
  if (inflated.length < expected) throw new InvalidInputError(`Deflate data inflates to ${inflated.length} of ${expected} bytes`);
  return new Uint8Array(inflated.buffer, inflated.byteOffset, expected);
}

/**
 * Undoes horizontal differencing (Predictor = 2, TIFF 6.0 section 14) in place: each sample is
 * stored as the difference from the same sample of the pixel to its left, modulo 2^bits.
 */
export function undoHorizontalPredictor(samples: Uint8Array | Uint16Array, width: number, rows: number, samplesPerPixel: number): void {
  const rowLength = width * samplesPerPixel;
  for (let y = 0; y < rows; y++) {
    const start = y * rowLength;
    for (let i = start + samplesPerPixel; i < start + rowLength; i++) {
      samples[i] = samples[i] + samples[i - samplesPerPixel]; // the typed array wraps modulo 2^bits
    }
  }
}
