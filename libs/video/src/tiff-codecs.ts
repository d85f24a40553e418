import { InvalidInputError } from '@mitosis/core';

/**
 * The TIFF codec steps this project does itself; geotiff does the rest. Its PackBits reads the
 * -128 no-op as a run, and its horizontal predictor runs on host-order words, wrong for
 * big-endian files. The caller prefixes the file, page and strip to the messages.
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
