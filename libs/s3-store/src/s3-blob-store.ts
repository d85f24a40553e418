import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobStore } from '@mitosis/core';
import { InvalidInputError, MitosisError, NotFoundError, PreconditionError, checkKey } from '@mitosis/core';
import { Client } from 'minio';
import type { S3StoreConfig } from './config';
import { describeS3Location, normalizeS3Config } from './config';

/**
 * The BlobStore of the services: objects in an S3 bucket (MinIO in deployment), each key under an
 * optional prefix. S3 makes a PUT atomic (readers see the old object or the new one, never half)
 * and, since 2020 on AWS and always on MinIO, read-after-write consistent: a stage that wrote its
 * chunks then its metadata lets the next stage read them as soon as it hears about it.
 */
export interface S3BlobStore extends BlobStore {
  readonly bucket: string;
  /** Key prefix inside the bucket ('' for the root). */
  readonly prefix: string;
  /** `s3://host:port/bucket/prefix` (no credentials). */
  readonly location: string;
  /** Creates the bucket when it does not exist (idempotent). */
  ensureBucket(): Promise<void>;
}

/** S3 caps a DeleteObjects request at 1000 keys. */
const DELETE_BATCH = 1000;
/** Parts of one multipart upload in flight at once. */
const PART_CONCURRENCY = 4;

const codeOf = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : undefined;

/**
 * The ETags an unencrypted object may come back with: hex MD5 for a plain PUT; for a multipart
 * upload of parts of `partSize`, S3's and MinIO's MD5 of the concatenated part MD5s followed by
 * '-<parts>', or the whole MD5 (what s3rver, the test server, returns).
 */
function expectedEtags(bytes: Buffer, partSize: number): string[] {
  const whole = createHash('md5').update(bytes).digest('hex');
  if (bytes.length <= partSize) return [whole];
  const digests: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += partSize) {
    digests.push(
      createHash('md5')
        .update(bytes.subarray(offset, offset + partSize))
        .digest(),
    );
  }
  return [`${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`, whole];
}

async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export function createS3BlobStore(config: S3StoreConfig): S3BlobStore {
  const settings = normalizeS3Config(config);
  const { bucket, prefix, partSize } = settings;
  const location = describeS3Location(settings);
  const client = new Client({
    endPoint: settings.endPoint,
    port: settings.port,
    useSSL: settings.useSSL,
    accessKey: settings.accessKey,
    secretKey: settings.secretKey,
    region: settings.region, // known region: no GetBucketLocation round trip before the first request
    pathStyle: true,
  });

  const objectName = (key: string): string => (prefix === '' ? checkKey(key) : `${prefix}/${checkKey(key)}`);
  const listPrefix = (keyPrefix: string): string => (prefix === '' ? keyPrefix : `${prefix}/${keyPrefix}`);

  /** Turns an S3/transport failure into a project error naming the operation, keeping the cause. */
  function failure(operation: string, key: string, error: unknown): Error {
    if (error instanceof MitosisError) return error;
    const code = codeOf(error);
    const where = `${location}${key === '' ? '' : ` key "${key}"`}`;
    const detail = error instanceof Error ? error.message : String(error);
    if (code === 'NoSuchBucket') {
      return new PreconditionError(`S3 bucket "${bucket}" does not exist at ${settings.endPoint}:${settings.port} (${operation} ${where}); create it or call ensureBucket()`, {
        cause: error,
      });
    }
    if (code === 'AccessDenied' || code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch') {
      return new MitosisError('UNAUTHENTICATED', `S3 refused ${operation} ${where}: ${code}`, { cause: error });
    }
    return new MitosisError('INTERNAL', `S3 ${operation} ${where} failed: ${code ? `${code}: ` : ''}${detail}`, { cause: error });
  }

  /**
   * A multipart upload on minio-js's primitives. Its own putObject(stream) is not used: it cuts
   * parts by reading a chunker that hands over everything buffered at once (a 12 MiB object with
   * 5 MiB parts went up as one or two oversized parts, and a single part over 5 GiB fails), and it
   * resumes any earlier incomplete upload of the key without checking part numbers. Here parts are
   * exactly partSize, carry Content-MD5, go up PART_CONCURRENCY at a time, and a failed upload is
   * aborted by its id so that no orphan parts keep costing storage.
   */
  async function putMultipart(name: string, body: Buffer): Promise<string> {
    const uploadId = await client.initiateNewMultipartUpload(bucket, name, { 'Content-Type': 'application/octet-stream' });
    const count = Math.ceil(body.length / partSize);
    const etags: { part: number; etag: string }[] = new Array(count);
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (!failed && next < count) {
        const index = next++;
        const part = body.subarray(index * partSize, Math.min(body.length, (index + 1) * partSize));
        const headers = { 'Content-Length': part.length, 'Content-MD5': createHash('md5').update(part).digest('base64') };
        try {
          const result = await client.uploadPart({ bucketName: bucket, objectName: name, uploadID: uploadId, partNumber: index + 1, headers }, part);
          etags[index] = { part: index + 1, etag: result.etag };
        } catch (error: unknown) {
          failed = true; // the other workers take no new part
          throw error;
        }
      }
    };
    // Settle every part before aborting, so that no part lands after the abort.
    const outcomes = await Promise.allSettled(Array.from({ length: Math.min(PART_CONCURRENCY, count) }, worker));
    const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    try {
      if (rejected) throw rejected.reason;
      return (await client.completeMultipartUpload(bucket, name, uploadId, etags)).etag;
    } catch (error: unknown) {
      await client.abortMultipartUpload(bucket, name, uploadId).catch(() => undefined); // best effort: the server may be what failed
      throw error;
    }
  }

  async function removeNames(names: readonly string[], what: string): Promise<void> {
    for (let start = 0; start < names.length; start += DELETE_BATCH) {
      const batch = names.slice(start, start + DELETE_BATCH);
      const results = (await client.removeObjects(bucket, [...batch])) as unknown[];
      // Quiet mode: the server reports only the keys it failed to delete.
      const errors = results.filter((r) => typeof r === 'object' && r !== null && ('Code' in r || 'Key' in r)) as { Code?: string; Key?: string; Message?: string }[];
      if (errors.length > 0) {
        const first = errors[0];
        throw new MitosisError(
          'INTERNAL',
          `S3 delete ${location} "${what}": ${errors.length} objects not deleted, first "${first.Key}": ${first.Code} ${first.Message ?? ''}`.trim(),
        );
      }
    }
  }

  return {
    bucket,
    prefix,
    location,

    async ensureBucket() {
      try {
        if (await client.bucketExists(bucket)) return;
        await client.makeBucket(bucket, settings.region);
      } catch (error: unknown) {
        const code = codeOf(error);
        if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') return; // created meanwhile by another replica
        throw failure('create bucket', '', error);
      }
    },

    async put(key, bytes) {
      const name = objectName(key);
      const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let etag: string;
      try {
        // Either way the key keeps its previous value until the upload completes (S3 is atomic).
        etag = body.length > partSize ? await putMultipart(name, body) : (await client.putObject(bucket, name, body, body.length)).etag;
      } catch (error: unknown) {
        throw failure('put', key, error);
      }
      if (settings.checkEtag && etag) {
        const returned = etag.replace(/"/g, '').toLowerCase();
        const candidates = expectedEtags(body, partSize);
        if (!candidates.includes(returned)) {
          throw new MitosisError(
            'INTERNAL',
            `S3 put ${location} key "${key}": the server's ETag ${returned} does not match the MD5 of the ${body.length} bytes sent (${candidates[0]}); ` +
              'the stored object may be damaged (set checkEtag: false for buckets that encrypt objects)',
          );
        }
      }
    },

    async get(key) {
      const name = objectName(key);
      try {
        return await readAll(await client.getObject(bucket, name));
      } catch (error: unknown) {
        const code = codeOf(error);
        if (code === 'NoSuchKey' || code === 'NotFound') {
          throw new NotFoundError(`no object "${key}" in ${location} (bucket "${bucket}", object "${name}")`, { cause: error });
        }
        throw failure('get', key, error);
      }
    },

    async exists(key) {
      const name = objectName(key);
      try {
        await client.statObject(bucket, name);
        return true;
      } catch (error: unknown) {
        const code = codeOf(error);
        // HEAD has no body: a missing bucket also reads as NotFound here.
        if (code === 'NotFound' || code === 'NoSuchKey') return false;
        throw failure('stat', key, error);
      }
    },

    async list(keyPrefix) {
      if (keyPrefix.startsWith('/')) throw new InvalidInputError(`storage prefix "${keyPrefix}" must not start with '/'`);
      const full = listPrefix(keyPrefix);
      const strip = prefix === '' ? 0 : prefix.length + 1;
      const keys: string[] = [];
      try {
        for await (const item of client.listObjectsV2(bucket, full, true)) {
          const itemName = (item as { name?: string }).name;
          if (itemName !== undefined) keys.push(itemName.slice(strip));
        }
      } catch (error: unknown) {
        throw failure('list', keyPrefix, error);
      }
      return keys.sort(); // the same order as the other stores (S3 sorts by UTF-8 bytes)
    },

    async delete(keyOrPrefix) {
      try {
        if (keyOrPrefix.endsWith('/')) {
          checkKey(keyOrPrefix.slice(0, -1));
          const names: string[] = [];
          for await (const item of client.listObjectsV2(bucket, listPrefix(keyOrPrefix), true)) {
            const itemName = (item as { name?: string }).name;
            if (itemName !== undefined) names.push(itemName);
          }
          await removeNames(names, keyOrPrefix);
        } else {
          await client.removeObject(bucket, objectName(keyOrPrefix)); // S3: deleting a missing key succeeds
        }
      } catch (error: unknown) {
        throw failure('delete', keyOrPrefix, error);
      }
    },
  };
}
