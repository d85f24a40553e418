import { PNG } from 'pngjs';
import type { ColorType } from 'pngjs';
import { InvalidInputError } from '@mitosis/core';

/** What a PNG's IHDR chunk says (PNG specification, section 11.2.2). */
export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly interlace: number;
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** Signature, IHDR length and type, and the 13 bytes of IHDR data: all probePng needs. */
export const PNG_HEADER_BYTES = 8 + 8 + 13;

const colorTypeNames: Readonly<Record<number, string>> = {
  0: 'grey',
  2: 'RGB',
  3: 'palette',
  4: 'grey+alpha',
  6: 'RGBA',
};

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * Reads and checks the IHDR header from the first bytes of a PNG, without touching the pixels.
 * Refuses what the method cannot use: palettes (indices are not intensities) and bit depths
 * other than 8 and 16.
 */
export function readPngHeader(bytes: Uint8Array, name: string): PngHeader {
  if (!isPng(bytes)) throw new InvalidInputError(`${name}: not a PNG file (bad signature)`);
  if (bytes.length < PNG_HEADER_BYTES) throw new InvalidInputError(`${name}: PNG ends inside its header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  if (type !== 'IHDR' || view.getUint32(8) !== 13) throw new InvalidInputError(`${name}: PNG does not start with a 13-byte IHDR chunk`);
  const header: PngHeader = {
    width: view.getUint32(16),
    height: view.getUint32(20),
    bitDepth: bytes[24],
    colorType: bytes[25],
    interlace: bytes[28],
  };
  if (header.width === 0 || header.height === 0) throw new InvalidInputError(`${name}: PNG has an empty size ${header.width}x${header.height}`);
  const colour = colorTypeNames[header.colorType];
  if (colour === undefined) throw new InvalidInputError(`${name}: PNG colour type ${header.colorType} is not defined by the PNG specification`);
  if (header.colorType === 3) {
    throw new InvalidInputError(`${name}: palette PNG is not supported; save the frames as 8- or 16-bit greyscale (or RGB with equal channels)`);
  }
  if (header.bitDepth !== 8 && header.bitDepth !== 16) {
    throw new InvalidInputError(`${name}: ${header.bitDepth}-bit ${colour} PNG is not supported; only 8- and 16-bit samples are`);
  }
  return header;
}

/** A decoded greyscale frame. */
export interface GreyFrame {
  readonly data: Uint8Array | Uint16Array;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
}

/**
 * Decodes a PNG to one grey channel. Grey and grey+alpha keep the grey samples (alpha is not an
 * intensity); RGB(A) is accepted only when red, green and blue are equal in every pixel, which is
 * how many microscopes save grey frames (CeTReS.B's originals are such RGB PNGs).
 */
export function decodePng(bytes: Uint8Array, name: string): GreyFrame {
  const header = readPngHeader(bytes, name);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    // skipRescale keeps 16-bit samples as they are instead of squeezing them into 8 bits.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidInputError(`${name}: corrupt or truncated PNG (${reason})`, { cause: error });
  }
  const { width, height } = header;
  const bitDepth = header.bitDepth as 8 | 16;
  // pngjs expands every colour type to RGBA: a Buffer for 8 bits, a Uint16Array for 16 bits.
  const rgba = png.data as unknown as Uint8Array | Uint16Array;
  const pixels = width * height;
  if (rgba.length !== pixels * 4) throw new InvalidInputError(`${name}: PNG decoded to ${rgba.length} samples, expected ${pixels * 4}`);
  // pngjs zeroes the pixels that match a tRNS colour; their alpha (0) tells which, and the
  // colour is known, so the intensity is restored: transparency is not an intensity either.
  const transColor = (png as unknown as { transColor?: number[] }).transColor;
  const out = bitDepth === 16 ? new Uint16Array(pixels) : new Uint8Array(pixels);
  const colour = header.colorType === 2 || header.colorType === 6;
  for (let i = 0, p = 0; i < pixels; i++, p += 4) {
    let r = rgba[p];
    let g = rgba[p + 1];
    let b = rgba[p + 2];
    if (transColor !== undefined && rgba[p + 3] === 0 && r === 0 && g === 0 && b === 0) {
      r = transColor[0];
      g = transColor.length === 3 ? transColor[1] : r;
      b = transColor.length === 3 ? transColor[2] : r;
    }
    if (colour && (r !== g || g !== b)) {
      const x = i % width;
      const y = (i - x) / width;
      throw new InvalidInputError(`${name}: colour PNG whose channels differ at pixel (x=${x}, y=${y}): (${r}, ${g}, ${b}); only RGB with equal channels is read as grey`);
    }
    out[i] = r;
  }
  return { data: out, width, height, bitDepth };
}

function checkSize(length: number, width: number, height: number, perPixel: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InvalidInputError(`${what}: size ${width}x${height} is not a positive integer size`);
  }
  if (length !== width * height * perPixel) {
    throw new InvalidInputError(`${what}: ${length} samples do not make a ${width}x${height} image with ${perPixel} per pixel`);
  }
}

function encode(data: Buffer, width: number, height: number, bitDepth: 8 | 16, colorType: ColorType): Uint8Array {
  // PNG.sync.write only reads width, height and data from its first argument.
  const image = { width, height, data } as unknown as PNG;
  return new Uint8Array(PNG.sync.write(image, { colorType, inputColorType: colorType, inputHasAlpha: false, bitDepth }));
}

/** Encodes a greyscale frame (row-major, width*height samples) as an 8- or 16-bit grey PNG. */
export function encodePng(frame: Uint8Array | Uint16Array, width: number, height: number, bitDepth: 8 | 16): Uint8Array {
  checkSize(frame.length, width, height, 1, 'encodePng');
  if (bitDepth === 8) {
    if (!(frame instanceof Uint8Array)) throw new InvalidInputError('encodePng: an 8-bit PNG takes a Uint8Array frame');
    return encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), width, height, 8, 0);
  }
  if (bitDepth !== 16) throw new InvalidInputError(`encodePng: bit depth ${String(bitDepth)} is not 8 or 16`);
  // pngjs reinterprets the whole ArrayBuffer behind a 16-bit input as native Uint16 samples,
  // so it gets a copy that owns exactly this frame. A Uint8Array widens losslessly.
  const own = Uint16Array.from(frame);
  return encode(Buffer.from(own.buffer), width, height, 16, 0);
}

/** Encodes an 8-bit RGB image (3 bytes per pixel, row-major) as a PNG, for overlays people look at. */
export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  checkSize(rgb.length, width, height, 3, 'encodeRgbPng');
  return encode(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), width, height, 8, 2);
}
