import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { InvalidInputError } from '@mitosis/core';
import { Client } from 'minio';
import type { S3ServerFixture } from './s3-server';
import { startS3Server, uniqueBucketName } from './s3-server';

const MiB = 1024 * 1024;
const clientOf = (s: S3ServerFixture, partSize?: number): Client =>
  new Client({ endPoint: s.endPoint, port: s.port, useSSL: false, accessKey: s.accessKey, secretKey: s.secretKey, region: 'us-east-1', ...(partSize ? { partSize } : {}) });

async function collect<T>(stream: AsyncIterable<unknown>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item as T);
  return out;
}

describe('startS3Server', () => {
  it('listens on 127.0.0.1 at a real port with the requested buckets, and stops cleanly (twice)', async () => {
    const server = await startS3Server({ buckets: ['alpha-bucket', 'beta-bucket'] });
    expect(server.endPoint).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const client = clientOf(server);
    await server.createBucket('gamma-bucket');
    expect((await client.listBuckets()).map((b) => b.name).sort()).toEqual(['alpha-bucket', 'beta-bucket', 'gamma-bucket']);
    await expect(server.createBucket('Not_A_Bucket')).rejects.toThrow(InvalidInputError);
    expect(existsSync(server.directory)).toBe(true);
    await server.stop();
    await server[Symbol.asyncDispose]();
    expect(existsSync(server.directory)).toBe(false);
    await expect(client.bucketExists('alpha-bucket')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('keeps a folder it was given, so a new server serves the same objects', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 's3-keep-'));
    try {
      const first = await startS3Server({ directory: folder, buckets: ['kept'] });
      await clientOf(first).putObject('kept', 'a/b.bin', Buffer.from('hello'));
      await first.stop();
      expect(existsSync(folder)).toBe(true);
      const second = await startS3Server({ directory: folder });
      try {
        const stream = await clientOf(second).getObject('kept', 'a/b.bin');
        expect(Buffer.concat(await collect<Buffer>(stream)).toString()).toBe('hello');
      } finally {
        await second.stop();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('makes unique valid bucket names', () => {
    const names = new Set(Array.from({ length: 50 }, () => uniqueBucketName('My_Test.Prefix')));
    expect(names.size).toBe(50);
    for (const name of names) expect(name).toMatch(/^my-test-prefix-[a-z0-9-]+$/);
    expect(uniqueBucketName('x'.repeat(100)).length).toBeLessThanOrEqual(63);
  });

  describe('the shim for what minio-js needs and s3rver lacks', () => {
    let server: S3ServerFixture;
    let bucket: string;
    beforeAll(async () => {
      server = await startS3Server();
    });
    afterAll(async () => {
      await server.stop();
    });
    beforeEach(async () => {
      bucket = uniqueBucketName('shim');
      await server.createBucket(bucket);
    });

    it("lets minio-js's own stream upload go multipart (ListMultipartUploads)", async () => {
      const client = clientOf(server, 5 * MiB);
      const body = Buffer.alloc(11 * MiB, 7);
      server.takeRequests();
      await client.putObject(bucket, 'streamed.bin', Readable.from([body]), body.length);
      const requests = server.takeRequests();
      expect(requests.some((r) => r.method === 'GET' && r.key === '' && r.query.includes('uploads'))).toBe(true);
      expect(requests.some((r) => r.method === 'POST' && r.query.includes('uploadId'))).toBe(true);
      expect((await client.statObject(bucket, 'streamed.bin')).size).toBe(body.length);
    });

    it('lists incomplete uploads with their parts, and aborts them (ListParts, AbortMultipartUpload)', async () => {
      const client = clientOf(server);
      const uploadId = await client.initiateNewMultipartUpload(bucket, 'dir/partial.bin', {});
      const part = Buffer.alloc(1000, 1);
      const md5 = createHash('md5').update(part).digest('base64');
      for (const partNumber of [1, 2]) {
        await client.uploadPart(
          { bucketName: bucket, objectName: 'dir/partial.bin', uploadID: uploadId, partNumber, headers: { 'Content-Length': part.length, 'Content-MD5': md5 } },
          part,
        );
      }
      expect(await client.findUploadId(bucket, 'dir/partial.bin')).toBe(uploadId);
      const uploads = await collect<{ key: string; uploadId: string; size: number }>(client.listIncompleteUploads(bucket, 'dir/', true));
      expect(uploads.map((u) => [u.key, u.uploadId, u.size])).toEqual([['dir/partial.bin', uploadId, 2000]]);
      await client.abortMultipartUpload(bucket, 'dir/partial.bin', uploadId);
      expect(await client.findUploadId(bucket, 'dir/partial.bin')).toBeUndefined();
      await expect(client.abortMultipartUpload(bucket, 'dir/partial.bin', uploadId)).rejects.toMatchObject({ code: 'NoSuchUpload' });
      await expect(client.abortMultipartUpload(bucket, 'dir/partial.bin', '../../etc')).rejects.toMatchObject({ code: 'NoSuchUpload' });
      expect(await collect(client.listObjectsV2(bucket, '', true))).toEqual([]);
    });

    it('rejects a body that does not match its Content-MD5 (BadDigest)', async () => {
      const client = clientOf(server);
      const uploadId = await client.initiateNewMultipartUpload(bucket, 'k', {});
      const wrong = createHash('md5').update('something else').digest('base64');
      await expect(
        client.uploadPart({ bucketName: bucket, objectName: 'k', uploadID: uploadId, partNumber: 1, headers: { 'Content-Length': 3, 'Content-MD5': wrong } }, Buffer.from('abc')),
      ).rejects.toMatchObject({ code: 'BadDigest' });
    });

    it('pages ListObjectsV2 with continuation tokens and URL-encodes keys (s3rver used DES, gone from OpenSSL 3)', async () => {
      const client = clientOf(server);
      const keys = ['a b+c%d', 'a/1', 'a/2', 'b', 'c/x/y'];
      for (const key of keys) await client.putObject(bucket, key, Buffer.from(key));
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = await client.listObjectsV2Query(bucket, '', token, '', 2, '');
        seen.push(...page.objects.map((o) => (o as { name: string }).name));
        token = page.isTruncated ? page.nextContinuationToken : '';
        pages++;
      } while (token !== '');
      expect(seen).toEqual(keys);
      expect(pages).toBe(3);
      const listed = await collect<{ name?: string; prefix?: string }>(client.listObjectsV2(bucket, 'a', false));
      expect(listed.map((o) => o.name ?? `prefix:${o.prefix}`)).toEqual(['a b+c%d', 'prefix:a/']);
      await expect(client.listObjectsV2Query(bucket, '', 'bm90IG91cnM', '', 2, '')).rejects.toMatchObject({ code: 'InvalidArgument' });
    });

    it('pages ListObjects V1 by marker in key order, folding common prefixes', async () => {
      const client = clientOf(server);
      for (const key of ['z', 'm/2', 'm/1', 'a', 'm0']) await client.putObject(bucket, key, Buffer.from(key));
      // Anonymous GETs (s3rver accepts them): the raw XML, as any S3 tool would see it.
      const page = async (query: string): Promise<{ entries: string[]; next?: string; truncated: boolean }> => {
        const xml = await (await fetch(`${server.url}/${bucket}?${query}`)).text();
        const entries = [...xml.matchAll(/<(Key|Prefix)>([^<]*)<\/\1>/g)].map((m) => `${m[1]}:${m[2]}`).filter((e) => e !== 'Prefix:');
        return { entries, next: /<NextMarker>([^<]*)</.exec(xml)?.[1], truncated: xml.includes('<IsTruncated>true</IsTruncated>') };
      };
      expect(await page('max-keys=2')).toEqual({ entries: ['Key:a', 'Key:m/1'], next: 'm/1', truncated: true });
      expect(await page('max-keys=2&marker=m/1')).toEqual({ entries: ['Key:m/2', 'Key:m0'], next: 'm0', truncated: true });
      expect(await page('max-keys=2&marker=m0')).toEqual({ entries: ['Key:z'], truncated: false });
      expect(await page('delimiter=/&max-keys=2')).toEqual({ entries: ['Key:a', 'Prefix:m/'], next: 'm/', truncated: true });
      expect(await page('delimiter=/&max-keys=2&marker=m/')).toEqual({ entries: ['Key:m0', 'Key:z'], truncated: false });
    });

    it('cuts an upload on request and keeps the previous object whole', async () => {
      const client = clientOf(server);
      await client.putObject(bucket, 'obj', Buffer.from('old'));
      server.interruptNextUpload({ afterBytes: 1000 });
      await expect(client.putObject(bucket, 'obj', Buffer.alloc(2 * MiB, 1))).rejects.toThrow();
      const stream = await client.getObject(bucket, 'obj');
      expect(Buffer.concat(await collect<Buffer>(stream)).toString()).toBe('old');
      expect(() => server.interruptNextUpload({ afterBytes: 0 })).toThrow(InvalidInputError);
    });
  });
});
