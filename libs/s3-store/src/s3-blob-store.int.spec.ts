import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError, MitosisError, NotFoundError, PreconditionError } from '@mitosis/core';

import { startS3Server, uniqueBucketName } from '@mitosis/testing';

import type { S3ServerFixture } from '@mitosis/testing';
import { Client } from 'minio';
import type { S3StoreConfig } from './config';
import { createS3BlobStore } from './s3-blob-store';

const MiB = 1024 * 1024;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Deterministic, incompressible-looking bytes (a hash-like sequence), distinct per seed. */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

describe('createS3BlobStore against s3rver over HTTP', () => {
  let server: S3ServerFixture;
  beforeAll(async () => {
    server = await startS3Server();
  });
  afterAll(async () => {
    await server.stop();
  });

  async function freshStore(extra: Partial<S3StoreConfig> = {}, on: S3ServerFixture = server) {
    const bucket = uniqueBucketName('blob');
    await on.createBucket(bucket);
    const config: S3StoreConfig = { endPoint: on.endPoint, port: on.port, useSSL: false, accessKey: on.accessKey, secretKey: on.secretKey, bucket, ...extra };
    return createS3BlobStore(config);
  }

  it('puts, gets, lists and deletes by key and prefix (the BlobStore contract)', async () => {
    const store = await freshStore();
    await store.put('videos/a/zarr.json', text('{}'));
    await store.put('videos/a/c/0', new Uint8Array([1, 2, 3]));
    await store.put('models/m3/weights.bin', new Uint8Array([9]));
    expect(await store.get('videos/a/c/0')).toEqual(new Uint8Array([1, 2, 3]));
    expect(await store.list('videos/')).toEqual(['videos/a/c/0', 'videos/a/zarr.json']);
    expect(await store.exists('models/m3/weights.bin')).toBe(true);
    expect(await store.exists('models/m3')).toBe(false);
    await store.delete('videos/');
    expect(await store.list('')).toEqual(['models/m3/weights.bin']);
    await store.delete('models/m3/weights.bin');
    await store.delete('models/m3/weights.bin'); // absent: no error
    expect(await store.list('')).toEqual([]);
  });

  it('names the missing key and bucket, and refuses keys that escape the prefix', async () => {
    const store = await freshStore();
    const missing = store.get('nope/x');
    await expect(missing).rejects.toThrow(NotFoundError);
    await expect(store.get('nope/x')).rejects.toThrow(/nope\/x.*bucket "blob-/);
    await expect(store.put('../evil', new Uint8Array())).rejects.toThrow(InvalidInputError);
    await expect(store.get('/abs')).rejects.toThrow(InvalidInputError);
    expect(await store.exists('nope/x')).toBe(false);
  });

  it('keeps nested prefixes apart and stores empty objects and overwrites', async () => {
    const store = await freshStore({ prefix: 'runs/1' });
    const neighbour = createS3BlobStore({ ...configOf(store.bucket), prefix: 'runs/10' });
    await store.put('a', new Uint8Array([1]));
    await store.put('a/b', new Uint8Array([2]));
    await store.put('a/b/c', new Uint8Array([3]));
    await store.put('ab', new Uint8Array([]));
    await neighbour.put('a', new Uint8Array([10]));
    expect(await store.list('')).toEqual(['a', 'a/b', 'a/b/c', 'ab']);
    expect(await store.list('a/')).toEqual(['a/b', 'a/b/c']);
    expect(await store.list('a')).toEqual(['a', 'a/b', 'a/b/c', 'ab']);
    expect(await store.get('ab')).toEqual(new Uint8Array([]));
    await store.put('a', new Uint8Array([4, 4]));
    expect(await store.get('a')).toEqual(new Uint8Array([4, 4]));
    await store.delete('a/');
    expect(await store.list('')).toEqual(['a', 'ab']);
    expect(await neighbour.list('')).toEqual(['a']);
    expect(await neighbour.get('a')).toEqual(new Uint8Array([10]));
    // The objects really live under the prefix in the bucket.
    const raw = createS3BlobStore(configOf(store.bucket));
    expect(await raw.list('')).toEqual(['runs/1/a', 'runs/1/ab', 'runs/10/a']);
  });

  it('deletes a prefix of more objects than one DeleteObjects request takes', async () => {
    const store = await freshStore();
    const keys = Array.from({ length: 1001 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, new Uint8Array([1]))));
    await store.put('keep', new Uint8Array([2]));
    server.takeRequests();
    await store.delete('many/');
    const deletes = server.takeRequests().filter((r) => r.method === 'POST' && r.query.includes('delete'));
    expect(deletes).toHaveLength(2);
    expect(await store.list('')).toEqual(['keep']);
  }, 30000);

  it('uploads an object larger than the part size as a multipart upload and reads it back', async () => {
    const store = await freshStore({ partSize: 5 * MiB });
    const big = pattern(12 * MiB + 123, 7);
    server.takeRequests();
    await store.put('big/volume.bin', big); // ETag checked against the multipart MD5 or the whole MD5
    const requests = server.takeRequests().filter((r) => r.key === 'big/volume.bin');
    expect(requests.filter((r) => r.method === 'PUT' && r.query.includes('uploadId'))).toHaveLength(3);
    expect(requests.some((r) => r.method === 'POST' && r.query.includes('uploads'))).toBe(true);
    expect(requests.some((r) => r.method === 'POST' && r.query.includes('uploadId'))).toBe(true);
    expect(sameBytes(await store.get('big/volume.bin'), big)).toBe(true);
    // A small object under the same store is one plain PUT.
    await store.put('small', pattern(1000, 3));
    expect(
      server
        .takeRequests()
        .filter((r) => r.key === 'small')
        .map((r) => `${r.method} ${r.query.join(',')}`),
    ).toEqual(['PUT ']);
  });

  it('keeps the previous value when a put is cut midway (connection reset)', async () => {
    const store = await freshStore();
    const before = pattern(3000, 1);
    await store.put('frames/x', before);
    server.interruptNextUpload({ afterBytes: MiB, action: 'reset' });
    const failed = store.put('frames/x', pattern(4 * MiB, 2));
    await expect(failed).rejects.toThrow(MitosisError);
    await expect(failed).rejects.toThrow(/S3 put .*frames\/x/);
    expect(((await failed.catch((e: unknown) => e)) as Error).cause).toBeDefined();
    expect(sameBytes(await store.get('frames/x'), before)).toBe(true);
    expect(await store.list('')).toEqual(['frames/x']);
  });

  it('keeps the previous value and leaves no parts when a multipart put is cut midway', async () => {
    const store = await freshStore({ partSize: 5 * MiB });
    const before = pattern(2000, 4);
    await store.put('big', before);
    server.interruptNextUpload({ afterBytes: 2 * MiB, action: 'reset' }); // inside one of the three parts
    await expect(store.put('big', pattern(12 * MiB, 5))).rejects.toThrow(/S3 put/);
    expect(sameBytes(await store.get('big'), before)).toBe(true);
    expect(await store.list('')).toEqual(['big']);
    const client = new Client({ endPoint: server.endPoint, port: server.port, useSSL: false, accessKey: server.accessKey, secretKey: server.secretKey, region: 'us-east-1' });
    expect(await client.findUploadId(store.bucket, 'big')).toBeUndefined(); // the store aborted it
    // And a later multipart put of the same key goes through.
    const after = pattern(11 * MiB, 6);
    await store.put('big', after);
    expect(sameBytes(await store.get('big'), after)).toBe(true);
  });

  it('keeps the previous value when the server stops during a put (restart on the same folder)', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 's3-restart-'));
    try {
      const bucket = uniqueBucketName('restart');
      const first = await startS3Server({ directory: folder, buckets: [bucket] });
      const storeOn = (s: S3ServerFixture) => createS3BlobStore({ ...s.connection, bucket });
      const before = pattern(5000, 8);
      await storeOn(first).put('model/weights.bin', before);
      first.interruptNextUpload({ afterBytes: 2 * MiB, action: 'stop' });
      await expect(storeOn(first).put('model/weights.bin', pattern(4 * MiB, 9))).rejects.toThrow(MitosisError);
      await first.stop();
      const second = await startS3Server({ directory: folder });
      try {
        const store = storeOn(second);
        expect(sameBytes(await store.get('model/weights.bin'), before)).toBe(true);
        expect(await store.list('')).toEqual(['model/weights.bin']);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('reports a missing bucket as a precondition and creates it with ensureBucket', async () => {
    const bucket = uniqueBucketName('absent');
    const store = createS3BlobStore(configOf(bucket));
    await expect(store.put('k', new Uint8Array([1]))).rejects.toThrow(PreconditionError);
    await expect(store.list('')).rejects.toThrow(/bucket "absent-.*ensureBucket/);
    await store.ensureBucket();
    await store.ensureBucket(); // idempotent
    await store.put('k', new Uint8Array([1]));
    expect(await store.list('')).toEqual(['k']);
  });

  it('keeps the cause of transport errors (server gone)', async () => {
    const gone = await startS3Server({ buckets: ['gone-bucket'] });
    const store = createS3BlobStore({ ...gone.connection, bucket: 'gone-bucket' });
    await gone.stop();
    const error = (await store.get('x').catch((e: unknown) => e)) as MitosisError;
    expect(error).toBeInstanceOf(MitosisError);
    expect(error.kind).toBe('INTERNAL');
    expect(error.message).toMatch(/S3 get s3:\/\/127\.0\.0\.1:\d+\/gone-bucket key "x" failed/);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  function configOf(bucket: string): S3StoreConfig {
    return { ...server.connection, bucket };
  }
});
