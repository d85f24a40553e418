import type { BlobStore } from '@mitosis/core';
import { InvalidInputError } from '@mitosis/core';
import { readArray, readArrayMetadata, writeArray } from '@mitosis/tensor-store';

import { startS3Server, uniqueBucketName } from '@mitosis/testing';

import type { S3ServerFixture } from '@mitosis/testing';
import { createS3BlobStore } from './s3-blob-store';

/** Records every get, to show which chunks a read fetched. */
function countingStore(inner: BlobStore): BlobStore & { readonly gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    put: (key, bytes) => inner.put(key, bytes),
    get: (key) => {
      gets.push(key);
      return inner.get(key);
    },
    exists: (key) => inner.exists(key),
    list: (prefix) => inner.list(prefix),
    delete: (key) => inner.delete(key),
  };
}

/** A float32 [frames, h, w] volume whose voxel (t, y, x) holds t*1000 + y*10 + x/8 (exact in float32). */
function volume(frames: number, height: number, width: number): Float32Array {
  const data = new Float32Array(frames * height * width);
  for (let t = 0; t < frames; t++) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[(t * height + y) * width + x] = t * 1000 + y * 10 + x / 8;
  return data;
}

describe('tensor-store arrays over the S3 store', () => {
  let server: S3ServerFixture;
  beforeAll(async () => {
    server = await startS3Server();
  });
  afterAll(async () => {
    await server.stop();
  });

  async function s3Store(prefix?: string) {
    const bucket = uniqueBucketName('zarr');
    await server.createBucket(bucket);
    return createS3BlobStore({ ...server.connection, bucket, ...(prefix ? { prefix } : {}) });
  }

  it('round-trips a float32 [frames, h, w] volume chunked by frames', async () => {
    const store = await s3Store('runs/7');
    const data = volume(9, 13, 17);
    await writeArray(store, 'videos/v1/frames', { data, shape: [9, 13, 17] }, { chunkShape: [2, 13, 17], dimensionNames: ['t', 'y', 'x'], attributes: { factor: 4 } });
    expect(await store.list('videos/v1/frames/')).toEqual([
      'videos/v1/frames/c/0/0/0',
      'videos/v1/frames/c/1/0/0',
      'videos/v1/frames/c/2/0/0',
      'videos/v1/frames/c/3/0/0',
      'videos/v1/frames/c/4/0/0',
      'videos/v1/frames/zarr.json',
    ]);
    const back = await readArray(store, 'videos/v1/frames');
    expect(back.shape).toEqual([9, 13, 17]);
    expect(back.data).toBeInstanceOf(Float32Array);
    expect(back.data).toEqual(data);
    expect(back.meta.attributes).toEqual({ factor: 4 });
    expect(back.meta.dimensionNames).toEqual(['t', 'y', 'x']);
  });

  it('reads a frame range fetching only the chunks that overlap it', async () => {
    const inner = await s3Store();
    const data = volume(10, 6, 5);
    await writeArray(inner, 'maps/y', { data, shape: [10, 6, 5] }, { chunkShape: [3, 6, 5] });
    const store = countingStore(inner);
    server.takeRequests();
    const part = await readArray(store, 'maps/y', { start: 4, end: 7 }); // frames 4..6: chunks 1 (3-5) and 2 (6-8)
    expect(part.shape).toEqual([3, 6, 5]);
    expect(part.data).toEqual(data.subarray(4 * 30, 7 * 30));
    expect(store.gets).toEqual(['maps/y/zarr.json', 'maps/y/c/1/0/0', 'maps/y/c/2/0/0']);
    // On the wire: three GETs, nothing else.
    expect(server.takeRequests().map((r) => `${r.method} ${r.key}`)).toEqual(['GET maps/y/zarr.json', 'GET maps/y/c/1/0/0', 'GET maps/y/c/2/0/0']);
  });

  it('detects a chunk damaged in the bucket by its crc32c', async () => {
    const store = await s3Store();
    await writeArray(store, 'a', { data: volume(4, 8, 8), shape: [4, 8, 8] });
    const chunk = await store.get('a/c/2/0/0');
    const damaged = Uint8Array.from(chunk);
    damaged[Math.floor(damaged.length / 2)] ^= 0x10; // one bit in the gzip stream
    await store.put('a/c/2/0/0', damaged);
    await expect(readArray(store, 'a', { start: 0, end: 2 })).resolves.toBeDefined(); // other chunks still read
    await expect(readArray(store, 'a')).rejects.toThrow(InvalidInputError);
    await expect(readArray(store, 'a')).rejects.toThrow(/chunk 2\/0\/0: chunk checksum mismatch \(crc32c\)/);
  });

  it('reports a missing array and a missing chunk by name', async () => {
    const store = await s3Store();
    await expect(readArrayMetadata(store, 'nothing/here')).rejects.toThrow(/no stored array "nothing\/here"/);
    await writeArray(store, 'b', { data: volume(2, 2, 2), shape: [2, 2, 2] });
    await store.delete('b/c/1/0/0');
    await expect(readArray(store, 'b')).rejects.toThrow(/chunk 1\/0\/0 is missing/);
  });
});
