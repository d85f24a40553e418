import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMemoryBlobStore } from '@mitosis/core';
import type { BlobStore } from '@mitosis/core';
import { readVideoMeta } from '@mitosis/stages';
import { readArray } from '@mitosis/tensor-store';
import { encodePng, preprocessVideo, readOmeZarr, readVideo, writeTiffStack } from '@mitosis/video';
import { writeFrameArchive } from './frame-archive';
import { keys } from './keys';
import { encodeOmeZarrReference } from './ome-zarr-reference';
import { isIngested } from './ingest-stage';
import { executeStage } from './stage-execution';
import { ingestTask as task } from './stage-task.testing';

/** A 5-frame 8x6 ramp video: frame t, pixel (y, x) = 10 t + y + x. */
const frames = 5;
const [width, height] = [8, 6];
const ramp = new Uint8Array(frames * width * height).map((_, i) => {
  const t = Math.floor(i / (width * height));
  const y = Math.floor((i % (width * height)) / width);
  return 10 * t + y + (i % width);
});
let tiff: Uint8Array;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ingest-stage-'));
  await writeTiffStack(path.join(dir, 'v.tif'), { data: ramp, frames, height, width });
  tiff = new Uint8Array(await readFile(path.join(dir, 'v.tif')));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function storeWith(videoId: string, bytes: Uint8Array): Promise<BlobStore> {
  const store = createMemoryBlobStore();
  await store.put(keys.videoSource(videoId), bytes);
  return store;
}

describe('ingest', () => {
  it('stores a TIFF stack rescaled to [0,1] and downscaled, reporting its size', async () => {
    const store = await storeWith('v1', tiff);
    expect(await isIngested(store, 'v1')).toBe(false);
    const steps: string[] = [];
    const outcome = await executeStage(task('v1'), { store, progress: (e) => steps.push(`${e.done}/${e.total}`) });
    expect(await isIngested(store, 'v1')).toBe(true);
    expect(outcome.outputs).toEqual({ frames: 'videos/v1/frames' });
    expect(outcome.metrics).toMatchObject({ reused: 0, frames: 5, width: 8, height: 6, bitDepth: 8, factor: 2, downscaledWidth: 4, downscaledHeight: 3 });
    expect(steps).toEqual(['0/3', '1/3', '2/3', '3/3']);
    expect(await readVideoMeta(store, 'videos/v1/frames')).toMatchObject({
      frames: 5,
      width: 4,
      height: 3,
      factor: 2,
      source: 'videos/v1/source',
      flatField: true,
    });
    const stored = await readArray(store, 'videos/v1/frames');
    // Ingest runs the library's preprocessing with its defaults (flat-field correction, rescale, downscale by 2).
    const raw = await readVideo(path.join(dir, 'v.tif'));
    const expected = preprocessVideo(raw, { factor: 2 }).volume.data;
    expect(Array.from(stored.data)).toEqual(Array.from(expected));
    expect(Math.min(...stored.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...stored.data)).toBeLessThanOrEqual(1);
  });

  it('reads the channel of a multi-channel OME-TIFF that the task names, with its physical sizes', async () => {
    const file = path.join(__dirname, '..', '..', 'video', 'src', '__fixtures__', 'ome-tiff', 't4-c2-uint16.ome.tif');
    const bytes = new Uint8Array(await readFile(file));
    const stored = async (channel: number | undefined): Promise<Float32Array> => {
      const store = await storeWith('vc', bytes);
      await executeStage({ ...task('vc'), ...(channel === undefined ? {} : { channel }) }, { store });
      expect(await readVideoMeta(store, 'videos/vc/frames')).toMatchObject({ frames: 4, physical: { frameIntervalS: 300 } });
      return (await readArray(store, 'videos/vc/frames')).data as Float32Array;
    };
    const gfp = await stored(1);
    const expected = preprocessVideo(await readVideo(file, { channel: 1 }), { factor: 2 }).volume.data;
    expect(Array.from(gfp)).toEqual(Array.from(expected));
    expect(Array.from(await stored(undefined))).not.toEqual(Array.from(gfp));
  });

  it('reads an OME-Zarr registered where it lies in the bucket, chunk by chunk, without a copy', async () => {
    const folder = path.join(__dirname, '..', '..', 'video', 'src', '__fixtures__', 'ome-zarr', 'v04-tczyx-uint16.zarr');
    const store = await storeWith('vz', encodeOmeZarrReference('external/plate-1/a1.zarr'));
    const files = (await readdir(folder, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    for (const file of files) {
      const full = path.join(file.parentPath, file.name);
      await store.put(`external/plate-1/a1.zarr/${path.relative(folder, full).split(path.sep).join('/')}`, new Uint8Array(await readFile(full)));
    }
    await executeStage({ ...task('vz'), channel: 1 }, { store });
    expect(await readVideoMeta(store, 'videos/vz/frames')).toMatchObject({ frames: 5, source: 'external/plate-1/a1.zarr', physical: { frameIntervalS: 30 } });
    const expected = preprocessVideo(await readOmeZarr(folder, { channel: 1 }), { factor: 2 }).volume.data;
    expect(Array.from((await readArray(store, 'videos/vz/frames')).data)).toEqual(Array.from(expected));
    // A reference to nothing is refused naming the prefix.
    const empty = await storeWith('vm', encodeOmeZarrReference('external/missing.zarr'));
    await expect(executeStage(task('vm'), { store: empty })).rejects.toThrow(/external\/missing\.zarr/);
  });

  it('reads a tar archive of PNG frames in natural order of their names', async () => {
    const plane = width * height;
    const png = (t: number): Uint8Array => encodePng(ramp.subarray(t * plane, (t + 1) * plane), width, height, 8);
    // Named so that string order (t10 < t2) differs from frame order.
    const archive = await writeFrameArchive([0, 1, 2, 3, 4].map((t) => ({ name: `t${[1, 2, 3, 10, 11][t]}.png`, data: png(t) })));
    const [fromTar, fromTiff] = [await storeWith('v1', archive), await storeWith('v1', tiff)];
    await executeStage(task('v1'), { store: fromTar });
    await executeStage(task('v1'), { store: fromTiff });
    expect((await readArray(fromTar, 'videos/v1/frames')).data).toEqual((await readArray(fromTiff, 'videos/v1/frames')).data);
  });

  it('reuses stored frames, and refuses to rewrite them with another factor', async () => {
    const store = await storeWith('v1', tiff);
    await executeStage(task('v1'), { store });
    expect((await executeStage(task('v1', { factor: 4, factorChosen: false }), { store })).metrics).toMatchObject({ reused: 1, factor: 2 });
    await expect(executeStage(task('v1', { factor: 3 }), { store })).rejects.toMatchObject({
      kind: 'FAILED_PRECONDITION',
      message: 'video v1 was ingested with downscale factor 2, not 3; its frames are kept as they are',
    });
  });

  it('names the stored source in its errors', async () => {
    await expect(executeStage(task('v1'), { store: createMemoryBlobStore() })).rejects.toMatchObject({
      kind: 'NOT_FOUND',
      message: 'video v1 has no uploaded source (videos/v1/source)',
    });
    const cut = await storeWith('v1', tiff.subarray(0, 200));
    const error = (await executeStage(task('v1'), { store: cut }).catch((e: unknown) => e)) as Error & { kind: string };
    expect(error.kind).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('videos/v1/source');
    expect(error.message).not.toContain(tmpdir());
    await expect(executeStage(task('v1', { hints: { frameCount: 7 } }), { store: await storeWith('v1', tiff) })).rejects.toThrow(
      'videos/v1/source: 5 frames decoded, but the upload announced 7',
    );
    await expect(executeStage(task('v1', { hints: { format: 'frame-archive' } }), { store: await storeWith('v1', tiff) })).rejects.toThrow(
      'videos/v1/source: the upload was announced as frame-archive but is a tiff',
    );
    await expect(executeStage(task('v1', { factor: 7 }), { store: await storeWith('v1', tiff) })).rejects.toThrow('downscale factor 7 is larger than the 8x6 frames');
  });

  it('stops before starting when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('job cancelled'));
    await expect(executeStage(task('v1'), { store: await storeWith('v1', tiff), signal: controller.signal })).rejects.toThrow('job cancelled');
  });
});
