import { cp, mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import { isOmeZarr, probeOmeZarr, readOmeZarr } from './ome-zarr';

// Fixtures written by python3-zarr (NGFF 0.4) and by hand (NGFF 0.5): __fixtures__/make-ome-zarr-fixtures.py.
const FIXTURES = path.join(__dirname, '__fixtures__', 'ome-zarr');
const U16 = path.join(FIXTURES, 'v04-tczyx-uint16.zarr');
const U8 = path.join(FIXTURES, 'v04-tyx-uint8.zarr');
const F32 = path.join(FIXTURES, 'v04-zyx-float32.zarr');
const V05 = path.join(FIXTURES, 'v05-tcyx-uint16.zarr');

// The generator's formulas.
const pixelU16 = (t: number, c: number, z: number, y: number, x: number): number => (c * 10000 + t * 1000 + z * 500 + y * 37 + x * 11) % 65536;
const pixelU8 = (t: number, y: number, x: number): number => (t * 20 + y * 3 + x * 5) % 256;
const pixelF32 = (z: number, y: number, x: number): number => (z - 1) * 100 + y * 0.5 - x * 0.25;

function expected(frames: readonly number[], height: number, width: number, pixel: (t: number, y: number, x: number) => number): number[] {
  const out: number[] = [];
  for (const t of frames) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out.push(pixel(t, y, x));
  return out;
}

describe('OME-Zarr reader', () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'ome-zarr-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  /** A copy of a fixture in the scratch folder, to damage. */
  async function copy(fixture: string): Promise<string> {
    const target = await mkdtemp(path.join(scratch, `${path.basename(fixture)}-`));
    await cp(fixture, target, { recursive: true });
    return target;
  }

  async function editJson(file: string, edit: (doc: Record<string, unknown>) => void): Promise<void> {
    const doc = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    edit(doc);
    await writeFile(file, JSON.stringify(doc));
  }

  it('recognises NGFF 0.4 and 0.5 images and nothing else', async () => {
    for (const fixture of [U16, U8, F32, V05]) expect(await isOmeZarr(fixture)).toBe(true);
    expect(await isOmeZarr(FIXTURES)).toBe(false);
    expect(await isOmeZarr(path.join(U16, '0'))).toBe(false); // an array, not an image group
    expect(await isOmeZarr(path.join(scratch, 'nowhere'))).toBe(false);
    expect(await isOmeZarr(path.join(U16, '.zattrs'))).toBe(false); // a file, not a folder
  });

  it('probes size, channels and physical sizes from the metadata alone', async () => {
    expect(await probeOmeZarr(U16)).toEqual({
      frameCount: 5,
      width: 20,
      height: 24,
      bitDepth: 16,
      kind: 'ome-zarr',
      source: U16,
      ngffVersion: '0.4',
      channels: ['phase', 'GFP'],
      channel: 0,
      dataType: 'uint16',
      physical: { pixelSizeUm: { y: 0.65, x: 0.65 }, frameIntervalS: 30 },
    });
    const v05 = await probeOmeZarr(V05, { channel: 'GFP' });
    expect(v05).toMatchObject({ frameCount: 4, width: 12, height: 16, ngffVersion: '0.5', channels: ['phase', 'mCherry', 'GFP'], channel: 2 });
    // 500 ms per dataset step times the multiscale-level scale of 2.
    expect(v05.physical).toEqual({ pixelSizeUm: { y: 0.325, x: 0.325 }, frameIntervalS: 1 });
    // Nanometres become micrometres; a time axis without unit gives no interval.
    const u8 = await probeOmeZarr(U8);
    expect(u8).toMatchObject({ frameCount: 6, bitDepth: 8, channels: ['0'], dataType: 'uint8' });
    expect(u8.physical?.pixelSizeUm?.y).toBeCloseTo(0.65, 12);
    expect(u8.physical?.frameIntervalS).toBeUndefined();
    expect(await probeOmeZarr(F32)).toMatchObject({ frameCount: 1, bitDepth: 16, zSlice: { index: 1, count: 3 }, dataType: 'float32' });
  });

  it('reads the full-resolution level of one channel, by label or index, and only the frames asked for', async () => {
    const gfp = await readOmeZarr(U16, { channel: 'GFP', frames: { first: 2, last: 4 } });
    expect(gfp.volume).toMatchObject({ frames: 3, height: 24, width: 20 });
    expect(gfp.volume.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(gfp.volume.data)).toEqual(expected([1, 2, 3], 24, 20, (t, y, x) => pixelU16(t, 1, 0, y, x)));
    expect(gfp).toMatchObject({ bitDepth: 16, kind: 'ome-zarr', source: U16, firstFrame: 2, totalFrames: 5, channel: 1, channels: ['phase', 'GFP'] });
    expect(gfp.frameNames).toEqual(['frame 2', 'frame 3', 'frame 4']);
    expect(gfp.physical).toEqual({ pixelSizeUm: { y: 0.65, x: 0.65 }, frameIntervalS: 30 });

    const phase = await readOmeZarr(U16);
    expect(Array.from(phase.volume.data)).toEqual(expected([0, 1, 2, 3, 4], 24, 20, (t, y, x) => pixelU16(t, 0, 0, y, x)));
    expect(Array.from((await readOmeZarr(U16, { channel: 1 })).volume.data)).toEqual(Array.from((await readOmeZarr(U16, { channel: '1' })).volume.data));

    const v05 = await readOmeZarr(V05, { channel: 'mCherry', frames: { first: 3, last: 4 } });
    expect(Array.from(v05.volume.data)).toEqual(expected([2, 3], 16, 12, (t, y, x) => pixelU16(t, 1, 0, y, x)));
    expect(v05).toMatchObject({ firstFrame: 3, totalFrames: 4, ngffVersion: '0.5' });
  });

  it('keeps uint8 and rescales float32 to uint16 over the range read, from the middle z slice', async () => {
    const u8 = await readOmeZarr(U8, { frames: { first: 5, last: 6 } });
    expect(u8.volume.data).toBeInstanceOf(Uint8Array);
    expect(u8.bitDepth).toBe(8);
    expect(Array.from(u8.volume.data)).toEqual(expected([4, 5], 24, 20, pixelU8));

    const f32 = await readOmeZarr(F32);
    expect(f32).toMatchObject({ bitDepth: 16, totalFrames: 1, zSlice: { index: 1, count: 3 } });
    const values = expected([0], 16, 12, (_t, y, x) => pixelF32(1, y, x));
    const [min, max] = [Math.min(...values), Math.max(...values)];
    expect(Array.from(f32.volume.data)).toEqual(values.map((v) => Math.round(((v - min) * 65535) / (max - min))));
  });

  it('reads through any zarrita store, as an S3 or HTTP store would be passed', async () => {
    const keys: string[] = [];
    const store = {
      async get(key: string): Promise<Uint8Array | undefined> {
        keys.push(key);
        try {
          return new Uint8Array(await readFile(path.join(V05, key)));
        } catch {
          return undefined;
        }
      },
    };
    const video = await readOmeZarr({ store, name: 's3://bucket/v05.zarr' }, { channel: 2, frames: { first: 4, last: 4 } });
    expect(video.source).toBe('s3://bucket/v05.zarr');
    expect(Array.from(video.volume.data)).toEqual(expected([3], 16, 12, (t, y, x) => pixelU16(t, 2, 0, y, x)));
    // Only the four chunks of frame 4, channel 2 were fetched.
    expect(keys.filter((key) => key.startsWith('/0/c/')).sort()).toEqual(['/0/c/3/2/0/0', '/0/c/3/2/0/1', '/0/c/3/2/1/0', '/0/c/3/2/1/1']);
  });

  it('refuses an unknown channel, listing the channels', async () => {
    await expect(readOmeZarr(U16, { channel: 'DAPI' })).rejects.toThrow(/no channel named "DAPI"; channels are 0: phase, 1: GFP/);
    await expect(probeOmeZarr(V05, { channel: 3 })).rejects.toThrow(/no channel 3; channels are 0: phase, 1: mCherry, 2: GFP/);
    await expect(readOmeZarr(U16, { frames: { first: 4, last: 6 } })).rejects.toThrow(/ends after the last frame \(5\)/);
  });

  it('names the array and chunk of a missing chunk, and reads around it', async () => {
    const folder = await copy(U16);
    await unlink(path.join(folder, '0', '1', '1', '0', '2', '1'));
    await expect(readOmeZarr(folder, { channel: 'GFP' })).rejects.toThrow(InvalidInputError);
    await expect(readOmeZarr(folder, { channel: 'GFP' })).rejects.toThrow(/array "0" chunk 1\/1\/0\/2\/1 is missing/);
    // Frames and channels whose chunks are all there still read.
    await expect(readOmeZarr(folder, { channel: 'GFP', frames: { first: 3, last: 5 } })).resolves.toBeDefined();
    await expect(readOmeZarr(folder, { channel: 'phase' })).resolves.toBeDefined();
  });

  it.each([
    ['a Blosc chunk (NGFF 0.4)', U16, ['0', '0', '0', '0', '1', '1']],
    ['a raw chunk (NGFF 0.4)', U8, ['0', '1', '0', '1']],
    ['a zlib chunk (NGFF 0.4)', F32, ['0', '1', '0', '0']],
    ['a gzip chunk (NGFF 0.5)', V05, ['0', 'c', '0', '0', '1', '0']],
  ])('refuses a truncated chunk: %s', async (_label, fixture, chunk) => {
    const folder = await copy(fixture);
    const file = path.join(folder, ...chunk);
    const size = (await readFile(file)).length;
    await truncate(file, Math.floor(size / 2));
    const key = chunk.slice(1).join('/');
    await expect(readOmeZarr(folder)).rejects.toThrow(new RegExp(`array "0" chunk ${key} .*damaged or truncated`));
  });

  it('refuses malformed metadata with the document and the problem', async () => {
    const brokenV2 = await copy(U16);
    await writeFile(path.join(brokenV2, '.zattrs'), '{"multiscales": [');
    expect(await isOmeZarr(brokenV2)).toBe(true); // the reader, not a fallback, says why
    await expect(readOmeZarr(brokenV2)).rejects.toThrow(/\.zattrs is not valid JSON/);

    const brokenV3 = await copy(V05);
    await writeFile(path.join(brokenV3, 'zarr.json'), '{"zarr_format": 3,');
    await expect(probeOmeZarr(brokenV3)).rejects.toThrow(/zarr\.json is not valid JSON/);

    const noAttrs = await copy(U8);
    await unlink(path.join(noAttrs, '.zattrs'));
    await expect(readOmeZarr(noAttrs)).rejects.toThrow(/neither zarr\.json nor \.zattrs/);

    const noMultiscales = await copy(U8);
    await writeFile(path.join(noMultiscales, '.zattrs'), '{}');
    expect(await isOmeZarr(noMultiscales)).toBe(false);
    await expect(readOmeZarr(noMultiscales)).rejects.toThrow(/\.zattrs has no multiscales/);

    const noX = await copy(U8);
    await editJson(path.join(noX, '.zattrs'), (doc) => {
      const [multiscale] = doc.multiscales as { axes: { name: string }[] }[];
      multiscale.axes[2].name = 'w';
    });
    await expect(probeOmeZarr(noX)).rejects.toThrow(/axes t,y,w lack y and x/);

    const int64 = await copy(U8);
    await editJson(path.join(int64, '0', '.zarray'), (doc) => {
      doc.dtype = '<i8';
    });
    await expect(readOmeZarr(int64)).rejects.toThrow(/array "0" has data type <i8; supported are/);

    const v3Bool = await copy(V05);
    await editJson(path.join(v3Bool, '0', 'zarr.json'), (doc) => {
      doc.data_type = 'bool';
    });
    await expect(probeOmeZarr(v3Bool)).rejects.toThrow(/data type bool/);

    const noArray = await copy(U8);
    await unlink(path.join(noArray, '0', '.zarray'));
    await expect(readOmeZarr(noArray)).rejects.toThrow(/array "0" has no 0\/\.zarray/);

    const escape = await copy(U8);
    await editJson(path.join(escape, '.zattrs'), (doc) => {
      const [multiscale] = doc.multiscales as { datasets: { path: string }[] }[];
      multiscale.datasets[0].path = '../elsewhere';
    });
    await expect(readOmeZarr(escape)).rejects.toThrow(/must stay inside the image/);
  });
});
