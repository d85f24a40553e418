import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { InvalidInputError } from '@mitosis/core';
import { decodePng, encodePng, encodeRgbPng, readPngHeader } from './png';
import { writePng } from './write';

/** Builds a PNG through pngjs itself, so the decoder is checked against an independent encoder. */
function pngjsEncode(width: number, height: number, rgba: number[], colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16 = 8): Uint8Array {
  const data = bitDepth === 16 ? Buffer.from(Uint16Array.from(rgba).buffer) : Buffer.from(rgba);
  return new Uint8Array(PNG.sync.write({ width, height, data } as unknown as PNG, { colorType, inputColorType: 6, bitDepth }));
}

describe('PNG', () => {
  it('round-trips 8- and 16-bit grey frames', () => {
    const grey8 = Uint8Array.of(0, 1, 2, 127, 128, 255);
    const png8 = encodePng(grey8, 3, 2, 8);
    expect(readPngHeader(png8, 'a.png')).toMatchObject({ width: 3, height: 2, bitDepth: 8, colorType: 0 });
    expect(decodePng(png8, 'a.png')).toEqual({ data: grey8, width: 3, height: 2, bitDepth: 8 });

    // A view into a larger buffer must not drag its neighbours along.
    const backing = Uint16Array.of(9, 9, 0, 1, 256, 65535, 40000, 7, 9);
    const grey16 = backing.subarray(2, 8);
    const decoded = decodePng(encodePng(grey16, 2, 3, 16), 'b.png');
    expect(decoded.bitDepth).toBe(16);
    expect(Array.from(decoded.data)).toEqual([0, 1, 256, 65535, 40000, 7]);
  });

  it('reads grey+alpha as grey, RGB with equal channels as grey, and refuses unequal channels', () => {
    const ga = pngjsEncode(2, 1, [10, 10, 10, 0, 200, 200, 200, 255], 4);
    expect(Array.from(decodePng(ga, 'ga.png').data)).toEqual([10, 200]);
    const rgb = pngjsEncode(2, 1, [10, 10, 10, 255, 300 % 256, 300 % 256, 300 % 256, 255], 2);
    expect(Array.from(decodePng(rgb, 'rgb.png').data)).toEqual([10, 44]);
    const rgb16 = pngjsEncode(1, 2, [1000, 1000, 1000, 65535, 5, 5, 5, 65535], 6, 16);
    expect(decodePng(rgb16, 'rgb16.png')).toMatchObject({ bitDepth: 16, data: Uint16Array.of(1000, 5) });
    const colour = pngjsEncode(2, 2, [1, 1, 1, 255, 2, 2, 2, 255, 3, 3, 3, 255, 4, 5, 4, 255], 2);
    expect(() => decodePng(colour, 'colour.png')).toThrow(/colour\.png.*\(x=1, y=1\)/);
  });

  it('keeps the intensity of pixels that a tRNS chunk marks transparent', () => {
    // pngjs zeroes pixels equal to the tRNS grey value; transparency is not an intensity.
    const png = encodePng(Uint8Array.of(5, 6, 5, 7), 2, 2, 8);
    const body = Buffer.concat([Buffer.from('tRNS', 'latin1'), Buffer.from([0, 5])]);
    const chunk = Buffer.alloc(12 + 2);
    chunk.writeUInt32BE(2, 0);
    body.copy(chunk, 4);
    chunk.writeUInt32BE(crc32(body), 10);
    const withTrns = Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]); // after IHDR
    expect(PNG.sync.read(withTrns).data[0]).toBe(0);
    expect(Array.from(decodePng(new Uint8Array(withTrns), 'trns.png').data)).toEqual([5, 6, 5, 7]);
  });

  it('writes an RGB overlay that reads back channel by channel', () => {
    const rgb = Uint8Array.of(255, 0, 0, 0, 255, 0);
    const png = PNG.sync.read(Buffer.from(encodeRgbPng(rgb, 2, 1)));
    expect(Array.from(png.data)).toEqual([255, 0, 0, 255, 0, 255, 0, 255]);
    expect(() => encodeRgbPng(rgb, 3, 1)).toThrow(InvalidInputError);
  });

  it('refuses palette, low bit depths, truncated and corrupt files with the file named', () => {
    const good = encodePng(
      new Uint8Array(64).map((_, i) => i * 3),
      8,
      8,
      8,
    );
    const palette = good.slice();
    palette[25] = 3;
    expect(() => readPngHeader(palette, 'p.png')).toThrow(/p\.png: palette PNG/);
    const oneBit = good.slice();
    oneBit[24] = 1;
    expect(() => readPngHeader(oneBit, 'bits.png')).toThrow(/bits\.png: 1-bit/);
    expect(() => decodePng(good.subarray(0, 20), 'short.png')).toThrow(InvalidInputError);
    expect(() => decodePng(good.subarray(0, good.length - 20), 'cut.png')).toThrow(/cut\.png: corrupt or truncated PNG/);
    const flipped = good.slice();
    flipped[good.length - 20] ^= 0xff; // inside IDAT: the CRC no longer matches
    expect(() => decodePng(flipped, 'crc.png')).toThrow(InvalidInputError);
    expect(() => decodePng(Uint8Array.of(1, 2, 3), 'junk.png')).toThrow(/junk\.png: not a PNG/);
    expect(() => encodePng(new Uint8Array(3), 2, 2, 8)).toThrow(InvalidInputError);
    expect(() => encodePng(new Uint8Array(4), 2, 2, 16)).not.toThrow();
    expect(() => encodePng(new Uint16Array(4), 2, 2, 8)).toThrow(InvalidInputError);
  });

  it('writePng writes a file that decodes to the frame', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'video-png-'));
    try {
      const file = path.join(dir, 'f.png');
      await writePng(file, Uint16Array.of(1, 2, 3, 4), 2, 2, 16);
      expect(Array.from(decodePng(new Uint8Array(await readFile(file)), file).data)).toEqual([1, 2, 3, 4]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
