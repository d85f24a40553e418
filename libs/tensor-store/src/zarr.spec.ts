import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { BlobStore } from '@mitosis/core';
import { InvalidInputError, NotFoundError, createLocalBlobStore } from '@mitosis/core';
import { crc32c } from './crc32c';
import { readArray, readArrayMetadata, writeArray } from './zarr';

describe('Zarr v3 arrays over a BlobStore', () => {
  let root: string;
  let store: BlobStore;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'zarr-'));
    store = createLocalBlobStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('computes the standard CRC-32C check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('writes one chunk per frame with Zarr v3 metadata and reads it back whole', async () => {
    const data = Float32Array.from({ length: 3 * 4 * 5 }, (_, i) => i / 7);
    await writeArray(store, 'videos/v1/frames', { data, shape: [3, 4, 5] }, { dimensionNames: ['t', 'y', 'x'], attributes: { factor: 4 } });
    expect(await store.list('videos/v1/frames/')).toEqual(['videos/v1/frames/c/0/0/0', 'videos/v1/frames/c/1/0/0', 'videos/v1/frames/c/2/0/0', 'videos/v1/frames/zarr.json']);
    const meta = JSON.parse(new TextDecoder().decode(await store.get('videos/v1/frames/zarr.json'))) as Record<string, unknown>;
    expect(meta).toMatchObject({ zarr_format: 3, node_type: 'array', shape: [3, 4, 5], data_type: 'float32', attributes: { factor: 4 } });
    const back = await readArray(store, 'videos/v1/frames');
    expect(back.shape).toEqual([3, 4, 5]);
    expect(back.data).toEqual(data);
    expect((await readArrayMetadata(store, 'videos/v1/frames')).dimensionNames).toEqual(['t', 'y', 'x']);
  });

  it('reads a frame range touching only the chunks it needs, for any chunk shape', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
        fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
        fc.nat(),
        fc.nat(),
        async (shape, chunkShape, a, b) => {
          const n = shape[0] * shape[1] * shape[2];
          const data = Uint16Array.from({ length: n }, (_, i) => (i * 37) % 65536);
          await writeArray(store, 'p', { data, shape }, { chunkShape });
          const start = a % (shape[0] + 1);
          const end = start + (b % (shape[0] - start + 1));
          const part = await readArray(store, 'p', { start, end });
          const frame = shape[1] * shape[2];
          expect(part.shape).toEqual([end - start, shape[1], shape[2]]);
          expect(Array.from(part.data)).toEqual(Array.from(data.subarray(start * frame, end * frame)));
          await store.delete('p/');
        },
      ),
      { numRuns: 40 },
    );
  });

  it('detects a damaged chunk and a missing array with errors naming them', async () => {
    await writeArray(store, 'maps/m', { data: new Uint8Array([1, 0, 1, 1]), shape: [2, 2] });
    const bytes = await store.get('maps/m/c/1/0');
    bytes[0] ^= 0xff;
    await store.put('maps/m/c/1/0', bytes);
    await expect(readArray(store, 'maps/m', { start: 0, end: 1 })).resolves.toMatchObject({ shape: [1, 2] });
    await expect(readArray(store, 'maps/m')).rejects.toThrow(/chunk 1\/0.*checksum/);
    await expect(readArray(store, 'nope')).rejects.toThrow(NotFoundError);
    await expect(readArray(store, 'maps/m', { start: 1, end: 5 })).rejects.toThrow(InvalidInputError);
    await expect(writeArray(store, 'bad', { data: new Float32Array(5), shape: [2, 2] })).rejects.toThrow(/holds 4 values, the data has 5/);
  });
});
