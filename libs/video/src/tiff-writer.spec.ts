import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import { createVolume } from '@mitosis/volume';
import { decodeTiff } from './tiff-reader';
import { encodeTiff } from './tiff-writer';
import { writeTiffStack } from './write';

function ramp16(width: number, height: number, seed: number): Uint16Array {
  const out = new Uint16Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = (i * 2654435761 + seed * 40503) % 65536;
  return out;
}

describe('encodeTiff / decodeTiff round trips', () => {
  it('keeps 8-bit pages exactly, several pages, several strips', async () => {
    const pages = [0, 1, 2].map((p) => ({ width: 5, height: 7, data: Uint8Array.from({ length: 35 }, (_, i) => (i * 37 + p * 11) % 256) }));
    const bytes = encodeTiff(pages, { rowsPerStrip: 2 });
    expect(String.fromCharCode(bytes[0]!, bytes[1]!)).toBe('II');
    const decoded = await decodeTiff(bytes, 'stack.tif');
    expect(decoded).toHaveLength(3);
    decoded.forEach((frame, p) => {
      expect(frame).toMatchObject({ width: 5, height: 7, bitDepth: 8 });
      expect(frame.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(frame.data)).toEqual(Array.from(pages[p]!.data));
    });
  });

  it.each([
    ['little', 'none', false],
    ['big', 'none', false],
    ['little', 'deflate', false],
    ['big', 'deflate', true],
    ['little', 'deflate', true],
  ] as const)('keeps 16-bit pages exactly (%s endian, %s, predictor %p)', async (byteOrder, compression, predictor) => {
    const pages = [ramp16(13, 9, 1), ramp16(13, 9, 2)].map((data) => ({ width: 13, height: 9, data }));
    const bytes = encodeTiff(pages, { byteOrder, compression, predictor, rowsPerStrip: 4 });
    expect(String.fromCharCode(bytes[0]!, bytes[1]!)).toBe(byteOrder === 'little' ? 'II' : 'MM');
    const decoded = await decodeTiff(bytes);
    expect(decoded.map((f) => f.bitDepth)).toEqual([16, 16]);
    expect(decoded.map((f) => Array.from(f.data))).toEqual(pages.map((p) => Array.from(p.data)));
  });

  it('compresses a smooth image with deflate', async () => {
    const data = new Uint8Array(64 * 64).map((_, i) => (i % 64) * 2);
    const plain = encodeTiff([{ width: 64, height: 64, data }]);
    const deflated = encodeTiff([{ width: 64, height: 64, data }], { compression: 'deflate' });
    expect(deflated.length).toBeLessThan(plain.length / 4);
    expect(Array.from((await decodeTiff(deflated))[0]!.data)).toEqual(Array.from(data));
  });

  it('refuses a page whose sample count does not match its size', () => {
    expect(() => encodeTiff([{ width: 4, height: 4, data: new Uint8Array(15) }])).toThrow(InvalidInputError);
    expect(() => encodeTiff([])).toThrow(InvalidInputError);
  });
});

describe('writeTiffStack', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'video-tiff-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a volume as a multi-page TIFF atomically, leaving no temporary file', async () => {
    const volume = createVolume(Uint16Array, 3, 4, 6);
    volume.data.forEach((_, i) => (volume.data[i] = i * 300));
    const file = path.join(dir, 'sub', 'video.tif');
    await writeTiffStack(file, volume, { compression: 'deflate' });
    expect(await readdir(path.dirname(file))).toEqual(['video.tif']);
    const frames = await decodeTiff(new Uint8Array(await readFile(file)), file);
    expect(frames).toHaveLength(3);
    expect(frames.flatMap((f) => Array.from(f.data))).toEqual(Array.from(volume.data));
  });

  it('leaves nothing behind when the volume is malformed', async () => {
    const file = path.join(dir, 'bad.tif');
    await expect(writeTiffStack(file, { data: new Uint8Array(10), frames: 2, height: 2, width: 2 })).rejects.toThrow(InvalidInputError);
    expect(await readdir(dir)).toEqual([]);
  });
});
