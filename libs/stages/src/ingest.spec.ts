import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMemoryBlobStore } from '@mitosis/core';
import { preprocessVideo, readVideo, writeTiffStack } from '@mitosis/video';
import { runIngestStage } from './ingest';
import { loadStoredFrames } from './pipeline';

let dir: string;
let file: string;
const FRAMES = 10;
const [W, H] = [24, 16];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stages-ingest-'));
  file = path.join(dir, 'video.tif');
  // Brightness rising over time: frames 4-6 alone span another range than the whole video.
  const data = new Uint16Array(FRAMES * H * W);
  for (let t = 0; t < FRAMES; t++) for (let i = 0; i < H * W; i++) data[t * H * W + i] = 1000 + t * 400 + ((i * 37 + t * 11) % 300);
  await writeTiffStack(file, { data, frames: FRAMES, height: H, width: W });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runIngestStage', () => {
  it('reads a channel of an OME-Zarr and stores its physical sizes with the video', async () => {
    const zarr = path.join(__dirname, '..', '..', 'video', 'src', '__fixtures__', 'ome-zarr', 'v04-tczyx-uint16.zarr');
    const store = createMemoryBlobStore();
    const result = await runIngestStage(store, 'zarr', zarr, { factor: 2, channel: 'GFP' });
    expect(result).toMatchObject({ frameCount: 5, width: 20, height: 24, bitDepth: 16 });
    expect(result.meta.physical).toEqual({ pixelSizeUm: { y: 0.65, x: 0.65 }, frameIntervalS: 30 });
    const phaseStore = createMemoryBlobStore();
    const phase = await runIngestStage(phaseStore, 'zarr', zarr, { factor: 2 });
    expect(phase.meta.physical).toEqual(result.meta.physical);
    const [gfp, first] = await Promise.all([loadStoredFrames(store, 'zarr'), loadStoredFrames(phaseStore, 'zarr')]);
    expect(gfp.volume.frames).toBe(5);
    // Another channel, other pixels.
    expect(Buffer.from(gfp.volume.data.buffer).equals(Buffer.from(first.volume.data.buffer))).toBe(false);
  });

  it('stores the frames asked for, normalised on the whole video', async () => {
    const store = createMemoryBlobStore();
    const result = await runIngestStage(store, 'part', file, { factor: 2, frames: { first: 4, last: 6 } });
    expect(result).toMatchObject({ range: { first: 4, last: 6 }, frameCount: FRAMES, width: W, height: H, bitDepth: 16, factor: 2 });
    expect(result.meta).toMatchObject({ firstFrame: 4, frames: 3, width: W / 2, height: H / 2, flatField: true, source: file });
    const whole = preprocessVideo(await readVideo(file), { factor: 2, flatField: true });
    const plane = (W / 2) * (H / 2);
    const { volume } = await loadStoredFrames(store, 'part');
    expect(Buffer.from(volume.data.buffer, volume.data.byteOffset, volume.data.byteLength)).toEqual(Buffer.from(whole.volume.data.slice(3 * plane, 6 * plane).buffer));
    // Normalised on frames 4-6 alone, the same frames would differ.
    const alone = preprocessVideo(await readVideo(file, { frames: { first: 4, last: 6 } }), { factor: 2, flatField: true });
    expect(Buffer.from(alone.volume.data.buffer).equals(Buffer.from(volume.data.buffer, volume.data.byteOffset, volume.data.byteLength))).toBe(false);
    // The whole video stored, its frames 4-6 are those bytes too.
    await runIngestStage(store, 'all', file, { factor: 2 });
    const sub = await loadStoredFrames(store, 'all', { first: 4, last: 6 });
    expect(Buffer.from(sub.volume.data.buffer, sub.volume.data.byteOffset, sub.volume.data.byteLength)).toEqual(
      Buffer.from(volume.data.buffer, volume.data.byteOffset, volume.data.byteLength),
    );
  });

  it('refuses frames outside the video, a factor larger than the frames and an announcement the frames contradict', async () => {
    const store = createMemoryBlobStore();
    await expect(runIngestStage(store, 'x', file, { frames: { first: 8, last: 11 } })).rejects.toThrow(`frames 8:11 are not inside the 10 frames of ${file}`);
    await expect(runIngestStage(store, 'x', file, { factor: 20 })).rejects.toThrow(`downscale factor 20 is larger than the 24x16 frames of ${file}`);
    await expect(runIngestStage(store, 'x', file, { expect: { frameCount: 12 }, source: 'videos/v/source' })).rejects.toThrow(
      'videos/v/source: 10 frames decoded, but the upload announced 12',
    );
    await expect(runIngestStage(store, 'x', file, { expect: { bitDepth: 8 } })).rejects.toThrow('16-bit samples decoded, but the upload announced 8-bit');
    await expect(runIngestStage(store, 'x', path.join(dir, 'missing.tif'), { source: 'videos/v/source' })).rejects.toThrow('videos/v/source');
    expect(await store.list('')).toEqual([]);
  });
});
