import { createHash, randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { InvalidInputError } from '@mitosis/core';

/**
 * An S3-compatible server for integration tests: s3rver (npm) in this process, on 127.0.0.1 and
 * a free port, storing into a fresh temporary folder. No MinIO can be installed on these
 * machines (SPEC, "facts"); s3rver 3.7 speaks enough S3 for minio-js once this shim, a Koa
 * middleware ahead of its router plus a few store methods replaced, fills what it lacks:
 * - ListMultipartUploads (GET /bucket?uploads): minio-js calls it before every multipart upload
 *   of a stream; s3rver answered NotImplemented, so every such upload failed;
 * - ListParts (GET /bucket/key?uploadId=) and AbortMultipartUpload (DELETE ...?uploadId=), which
 *   minio-js uses to resume or remove an incomplete upload (s3rver: MethodNotAllowed);
 * - ListObjects V1/V2: s3rver paged over its folder walk in file-system order (hash order on
 *   ext4), so keys went missing from later pages, and its V2 continuation tokens use DES, which
 *   OpenSSL 3 no longer offers (every listing longer than a page answered 500);
 * - atomic object and part writes: s3rver streamed a PUT straight into the final file, so an
 *   interrupted upload truncated the previous object and a GET right after a PUT could read a
 *   file still being flushed. Here the body is received whole, checked against Content-Length
 *   and Content-MD5 (as S3 does: IncompleteBody, BadDigest), then renamed into place;
 * - concurrent deletes: DeleteObjects removed its keys in parallel and failed (500) when two of
 *   them raced to remove the same emptied folder.
 * s3rver does not verify V4 signatures: a wrong secret key is accepted, a wrong access key is not.
 * Anonymous GETs are accepted (a Zarr reader can fetch chunks over plain HTTP).
 */

// s3rver ships no type declarations: these are the members of s3rver 3.7 the fixture touches.
interface S3rverObject {
  bucket: string;
  key: string;
  content: Readable | Buffer;
  metadata: Record<string, unknown>;
}
interface S3rverStore {
  getBucket(name: string): Promise<unknown>;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  putBucket(name: string): Promise<unknown>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  putPart(bucket: string, uploadId: string, partNumber: string | number, content: Readable): Promise<{ size: number; md5: string }>;
  deleteObject(bucket: string, key: string): Promise<void>;
  getBucketPath(bucket: string): string;
}
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: IncomingHttpHeaders;
  req: IncomingMessage;
  status: number;
  body: unknown;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<unknown>;
interface S3rverInstance {
  store: S3rverStore;
  middleware: Middleware[];
  context: { logger: unknown };
  httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
type S3ErrorConstructor = new (code: string, message: string, detail?: Record<string, unknown>) => Error;

const load = createRequire(__filename);
const S3rver = load('s3rver') as S3rverConstructor;
const S3Error = load('s3rver/lib/models/error') as S3ErrorConstructor;

const OBJECT_SUFFIX = '._S3rver_object'; // s3rver stores key "a/b" as the file a/b._S3rver_object
const UPLOADS_DIR = '._S3rver_uploads';
/** Query parameters that make a bucket GET something other than a listing. */
const BUCKET_SUBRESOURCES = new Set([
  'acl',
  'analytics',
  'cors',
  'encryption',
  'inventory',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'tagging',
  'uploads',
  'versioning',
  'versions',
  'website',
]);
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
const ACCESS_KEY = 'S3RVER'; // the one key pair s3rver registers
const SECRET_KEY = 'S3RVER';

/** Where a fixture server listens and how a client reaches it. */
const serverAddress = (port: number, directory: string): Pick<S3ServerFixture, 'endPoint' | 'port' | 'accessKey' | 'secretKey' | 'url' | 'directory' | 'connection'> => ({
  endPoint: '127.0.0.1',
  port,
  accessKey: ACCESS_KEY,
  secretKey: SECRET_KEY,
  url: `http://127.0.0.1:${port}`,
  directory,
  connection: { endPoint: '127.0.0.1', port, useSSL: false, accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
});
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export interface S3ServerOptions {
  /** Buckets created before the server answers. */
  readonly buckets?: readonly string[];
  /** Store into this folder (kept on stop) instead of a fresh temporary one (removed on stop). */
  readonly directory?: string;
  /** Listen on this port (e.g. to restart on the port a previous server had); default a free one. */
  readonly port?: number;
  /**
   * Run the server in a child process (`node` through tsx), so a test can freeze it (SIGSTOP) or
   * kill it; see S3ServerFixture.child. Request logs and interruptNextUpload are not available
   * then. Default false: in this process.
   */
  readonly childProcess?: boolean;
}

/** One request the server received, for tests that count round trips. */
export interface S3RequestRecord {
  readonly method: string;
  readonly bucket: string;
  /** Object key, '' for bucket-level requests. */
  readonly key: string;
  /** Query parameter names (uploads, uploadId, partNumber, list-type, delete...). */
  readonly query: readonly string[];
}

export interface S3InterruptOptions {
  /** Cut the next object or part upload once this many body bytes have arrived. */
  readonly afterBytes: number;
  /** 'reset': drop that connection, the server goes on; 'stop': stop the whole server. */
  readonly action?: 'reset' | 'stop';
}

export interface S3ServerFixture {
  readonly endPoint: string;
  readonly port: number;
  readonly accessKey: string;
  readonly secretKey: string;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The folder s3rver stores into. */
  readonly directory: string;
  /** The connection settings of an S3 client of this server, bucket aside (as createS3BlobStore takes them). */
  readonly connection: { readonly endPoint: string; readonly port: number; readonly useSSL: false; readonly accessKey: string; readonly secretKey: string };
  createBucket(name: string): Promise<void>;
  /** Requests received since the last call (oldest first); clears the log. */
  takeRequests(): S3RequestRecord[];
  /** Fault injection: the next upload body is cut midway (see S3InterruptOptions). */
  interruptNextUpload(options: S3InterruptOptions): void;
  /** Closes the server and every open connection, removes a temporary folder; safe to call twice. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** The server's process when started with options.childProcess (signal it to inject faults). */
  readonly child?: ChildProcess;
}

const BUCKET_NAME = /^(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function checkBucketName(name: string): string {
  if (!BUCKET_NAME.test(name) || name.includes('..')) {
    throw new InvalidInputError(`bucket name "${name}" is not 3-63 lowercase letters, digits, '.' or '-'`);
  }
  return name;
}

let bucketCounter = 0;

/** A bucket name no other test (or process) uses: `<prefix>-<time>-<pid>-<n>-<random>`. */
export function uniqueBucketName(prefix = 'test'): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 24) || 'test';
  const suffix = [Date.now().toString(36), process.pid.toString(36), (bucketCounter++).toString(36), randomBytes(3).toString('hex')];
  return checkBucketName(`${clean}-${suffix.join('-')}`);
}

/** Splits a path-style request path into bucket and (decoded) key. */
function splitPath(urlPath: string): { bucket: string; key: string } {
  const rest = urlPath.replace(/^\/+/, '');
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucket: decodeURIComponent(rest), key: '' };
  return { bucket: decodeURIComponent(rest.slice(0, slash)), key: decodeURIComponent(rest.slice(slash + 1)) };
}

const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/**
 * Writes a file through a temporary file renamed into place. The temporary file lies in the
 * store's root folder (same file system, so the rename is atomic), where s3rver sees only folders
 * as buckets and never walks it while listing objects.
 */
async function writeAtomically(root: string, file: string, bytes: Uint8Array): Promise<void> {
  const tmp = path.join(root, `._S3rver_tmp-${randomBytes(8).toString('hex')}`);
  try {
    await writeFile(tmp, bytes);
    // A concurrent delete may remove the (then empty) target folder between mkdir and rename.
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(path.dirname(file), { recursive: true });
        await rename(tmp, file);
        return;
      } catch (error: unknown) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw error;
      }
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3ServerFixture> {
  for (const bucket of options.buckets ?? []) checkBucketName(bucket);
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new InvalidInputError(`startS3Server: port ${options.port} is not an integer in 0-65535`);
  }
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(os.tmpdir(), 's3rver-')));
  if (!ownsDirectory) await mkdir(directory, { recursive: true });
  if (options.childProcess === true) return startChildS3Server(options, directory, ownsDirectory);

  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  const store = server.store;
  const requests: S3RequestRecord[] = [];
  // What the headers of each upload request promise about its body, checked once it has arrived.
  const expected = new WeakMap<object, { length?: number; md5?: string }>();
  let interrupt: S3InterruptOptions | undefined;
  let stopping: Promise<void> | undefined;

  const noSuchUpload = (uploadId: string): Error =>
    new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
      UploadId: uploadId,
    });
  const uploadsDir = (bucket: string): string => store.getResourcePath(bucket, undefined, 'uploads');

  /** The upload folder of an upload of `key`, or NoSuchUpload (ids are hex: no path tricks). */
  async function uploadDir(bucket: string, uploadId: string, key?: string): Promise<string> {
    if (!/^[0-9a-f]{8,64}$/i.test(uploadId)) throw noSuchUpload(uploadId);
    const dir = path.join(uploadsDir(bucket), uploadId);
    let storedKey: string;
    try {
      storedKey = await readFile(path.join(dir, 'key'), 'utf8');
    } catch {
      throw noSuchUpload(uploadId);
    }
    if (key !== undefined && storedKey !== key) throw noSuchUpload(uploadId);
    return dir;
  }

  /** Receives a whole request body; cuts it when an interruption is armed (fault injection). */
  async function receive(content: Readable | Buffer): Promise<Buffer> {
    if (Buffer.isBuffer(content)) return content;
    const chunks: Buffer[] = [];
    let received = 0;
    for await (const chunk of content) {
      const buffer = chunk as Buffer;
      chunks.push(buffer);
      received += buffer.length;
      if (interrupt && received >= interrupt.afterBytes && 'socket' in content) {
        const action = interrupt.action ?? 'reset';
        interrupt = undefined;
        if (action === 'stop') void stop();
        else (content as IncomingMessage).socket.destroy();
      }
    }
    const bytes = Buffer.concat(chunks);
    const promise = expected.get(content);
    if (promise?.length !== undefined && promise.length !== bytes.length) {
      throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    }
    if (promise?.md5 !== undefined && createHash('md5').update(bytes).digest('base64') !== promise.md5) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    return bytes;
  }

  store.putObject = async (object) => {
    const bytes = await receive(object.content);
    const md5 = createHash('md5').update(bytes).digest('hex');
    // Metadata first, object last: a new key appears (listing, GET) only once it is complete.
    await mkdir(path.dirname(store.getResourcePath(object.bucket, object.key, 'object')), { recursive: true });
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    await writeAtomically(directory, store.getResourcePath(object.bucket, object.key, 'object'), bytes);
    return { size: bytes.length, md5 };
  };

  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const number = Number(partNumber);
    if (!Number.isInteger(number) || number < 1 || number > 10000) {
      throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber' });
    }
    const dir = await uploadDir(bucket, uploadId);
    const bytes = await receive(content);
    const md5 = createHash('md5').update(bytes).digest('hex');
    await writeFile(path.join(dir, `${number}.md5`), md5);
    await writeAtomically(directory, path.join(dir, String(number)), bytes);
    return { size: bytes.length, md5 };
  };

  store.deleteObject = async (bucket, key) => {
    const objectPath = store.getResourcePath(bucket, key, 'object');
    await Promise.all([objectPath, `${objectPath}.md5`, store.getResourcePath(bucket, key, 'metadata.json')].map((file) => rm(file, { force: true })));
    // Remove the folders the key leaves empty. Deletes of sibling keys run concurrently (a
    // DeleteObjects request deletes all its keys at once): a folder already gone or refilled
    // ends the climb instead of failing the whole request, as s3rver's version did.
    const parts = key.split('/').slice(0, -1);
    while (parts.length > 0) {
      try {
        await rmdir(path.join(store.getBucketPath(bucket), ...parts));
      } catch {
        return;
      }
      parts.pop();
    }
  };

  async function listMultipartUploads(ctx: KoaContext, bucket: string): Promise<void> {
    const prefix = single(ctx.query['prefix']) ?? '';
    const keyMarker = single(ctx.query['key-marker']) ?? '';
    const uploadIdMarker = single(ctx.query['upload-id-marker']) ?? '';
    const maxUploads = Math.max(1, Math.min(1000, Number(single(ctx.query['max-uploads']) ?? 1000) || 1000));
    let ids: string[] = [];
    try {
      ids = await readdir(uploadsDir(bucket));
    } catch {
      // no upload was ever initiated in this bucket
    }
    const uploads: { key: string; uploadId: string; initiated: Date }[] = [];
    for (const uploadId of ids) {
      try {
        const keyFile = path.join(uploadsDir(bucket), uploadId, 'key');
        const [key, info] = await Promise.all([readFile(keyFile, 'utf8'), stat(keyFile)]);
        uploads.push({ key, uploadId, initiated: info.mtime });
      } catch {
        // completed or aborted while we listed
      }
    }
    // S3 order: by key, then by initiation time; the markers resume after (key, uploadId).
    uploads.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated.getTime() - b.initiated.getTime()));
    const afterMarker = uploads.filter(
      (u) => u.key.startsWith(prefix) && (keyMarker === '' || u.key > keyMarker || (u.key === keyMarker && uploadIdMarker !== '' && u.uploadId > uploadIdMarker)),
    );
    const page = afterMarker.slice(0, maxUploads);
    const truncated = afterMarker.length > page.length;
    const last = page[page.length - 1];
    const owner = { ID: '123456789000', DisplayName: 'S3rver' };
    ctx.body = {
      ListMultipartUploadsResult: {
        '@': { xmlns: XMLNS },
        Bucket: bucket,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
        ...(truncated && last ? { NextKeyMarker: last.key, NextUploadIdMarker: last.uploadId } : {}),
        Prefix: prefix,
        MaxUploads: maxUploads,
        IsTruncated: truncated,
        Upload: page.map((u) => ({
          Key: u.key,
          UploadId: u.uploadId,
          Initiator: owner,
          Owner: owner,
          StorageClass: 'STANDARD',
          Initiated: u.initiated.toISOString(),
        })),
      },
    };
  }

  async function listParts(ctx: KoaContext, bucket: string, key: string, uploadId: string): Promise<void> {
    const dir = await uploadDir(bucket, uploadId, key);
    const marker = Number(single(ctx.query['part-number-marker']) ?? 0) || 0;
    const maxParts = Math.max(1, Math.min(1000, Number(single(ctx.query['max-parts']) ?? 1000) || 1000));
    const numbers = (await readdir(dir))
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((n) => n > marker)
      .sort((a, b) => a - b);
    const page = numbers.slice(0, maxParts);
    const parts = await Promise.all(
      page.map(async (n) => {
        const [info, md5] = await Promise.all([stat(path.join(dir, String(n))), readFile(path.join(dir, `${n}.md5`), 'utf8')]);
        return { PartNumber: n, LastModified: info.mtime.toISOString(), ETag: JSON.stringify(md5), Size: info.size };
      }),
    );
    const truncated = numbers.length > page.length;
    ctx.body = {
      ListPartsResult: {
        '@': { xmlns: XMLNS },
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        StorageClass: 'STANDARD',
        PartNumberMarker: marker,
        ...(truncated ? { NextPartNumberMarker: page[page.length - 1] } : {}),
        MaxParts: maxParts,
        IsTruncated: truncated,
        Part: parts,
      },
    };
  }

  /** Every object key under `prefix`, in S3's order (UTF-8 bytes); folders vanishing meanwhile are skipped. */
  async function sortedKeys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const visit = async (dir: string, relative: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return; // removed by a concurrent delete
      }
      for (const entry of entries) {
        if (entry.isDirectory()) {
          if (relative === '' && entry.name === UPLOADS_DIR) continue;
          const child = `${relative}${entry.name}/`;
          if (child.startsWith(prefix) || prefix.startsWith(child)) await visit(path.join(dir, entry.name), child);
        } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
          const key = relative + entry.name.slice(0, -OBJECT_SUFFIX.length);
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
    };
    await visit(store.getBucketPath(bucket), '');
    return keys.sort(byBytes);
  }

  /**
   * ListObjects (V1, marker) and ListObjectsV2 (continuation token). s3rver pages over its folder
   * walk, whose order is the file system's (hash order on ext4), not the key order its markers
   * assume: keys went missing from later pages. And its V2 tokens are DES-encrypted, which
   * OpenSSL 3 no longer offers: any V2 listing of more than max-keys answered 500.
   */
  async function listObjects(ctx: KoaContext, bucket: string, version: 1 | 2): Promise<void> {
    const prefix = single(ctx.query['prefix']) ?? '';
    const delimiter = single(ctx.query['delimiter']) ?? '';
    const startAfter = single(ctx.query[version === 2 ? 'start-after' : 'marker']) ?? '';
    const token = version === 2 ? single(ctx.query['continuation-token']) : undefined;
    const maxKeysText = single(ctx.query['max-keys']) ?? '1000';
    if (!/^\d+$/.test(maxKeysText)) {
      throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: maxKeysText });
    }
    const maxKeys = Math.min(1000, Number(maxKeysText));
    // Our token is the last entry returned (key or common prefix), base64url, behind a tag naming the bucket.
    let after = startAfter;
    if (token !== undefined) {
      const decoded = Buffer.from(token, 'base64url').toString('utf8');
      const tag = `s3shim:${bucket}/`;
      if (!decoded.startsWith(tag)) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
      after = decoded.slice(tag.length);
    }
    // Keys after the marker, those holding the delimiter past the prefix folded into common prefixes.
    const entries: { key?: string; commonPrefix?: string }[] = [];
    for (const key of await sortedKeys(bucket, prefix)) {
      const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
      const commonPrefix = cut < 0 ? undefined : key.slice(0, cut + delimiter.length);
      if (byBytes(commonPrefix ?? key, after) <= 0) continue;
      if (commonPrefix !== undefined) {
        if (entries[entries.length - 1]?.commonPrefix !== commonPrefix) entries.push({ commonPrefix });
      } else entries.push({ key });
    }
    const page = entries.slice(0, maxKeys);
    const truncated = entries.length > page.length;
    const lastEntry = page[page.length - 1];
    const marker = lastEntry?.key ?? lastEntry?.commonPrefix ?? '';
    const objects = [];
    for (const entry of page) {
      if (entry.key === undefined) continue;
      const meta = await store.getMetadata(bucket, entry.key).catch(() => undefined);
      if (meta) objects.push({ key: entry.key, meta }); // else deleted meanwhile
    }
    // encoding-type=url (what minio-js asks, and then decodes): keys come back URL-encoded.
    const urlEncoded = single(ctx.query['encoding-type']) === 'url';
    const encode = (value: string): string => (urlEncoded ? encodeURIComponent(value).replace(/%2F/g, '/').replace(/%20/g, '+') : value);
    const owner = version === 1 || single(ctx.query['fetch-owner']) === 'true' ? { Owner: { ID: '123456789000', DisplayName: 'S3rver' } } : {};
    const paging =
      version === 2
        ? {
            ...(token !== undefined ? { ContinuationToken: token } : startAfter !== '' ? { StartAfter: encode(startAfter) } : {}),
            ...(truncated ? { NextContinuationToken: Buffer.from(`s3shim:${bucket}/${marker}`).toString('base64url') } : {}),
            KeyCount: page.length,
          }
        : { Marker: encode(startAfter), ...(truncated ? { NextMarker: encode(marker) } : {}) };
    ctx.body = {
      ListBucketResult: {
        '@': { xmlns: XMLNS },
        Name: bucket,
        Prefix: encode(prefix),
        ...paging,
        MaxKeys: maxKeys,
        ...(delimiter !== '' ? { Delimiter: encode(delimiter) } : {}),
        ...(urlEncoded ? { EncodingType: 'url' } : {}),
        IsTruncated: truncated,
        Contents: objects.map(({ key, meta }) => ({
          Key: encode(key),
          LastModified: new Date(String(meta['last-modified'])).toISOString(),
          ETag: String(meta['etag']),
          Size: Number(meta['content-length']),
          ...owner,
          StorageClass: 'STANDARD',
        })),
        CommonPrefixes: page.filter((e) => e.commonPrefix !== undefined).map((e) => ({ Prefix: encode(e.commonPrefix ?? '') })),
      },
    };
  }

  const shim: Middleware = async (ctx, next) => {
    const { bucket, key } = splitPath(ctx.path);
    requests.push({ method: ctx.method, bucket, key, query: Object.keys(ctx.query) });
    const uploadId = single(ctx.query['uploadId']);
    // Bucket GETs without a sub-resource are listings; with one (location, cors...) they stay s3rver's.
    const listing = key === '' && ctx.method === 'GET' && !Object.keys(ctx.query).some((q) => BUCKET_SUBRESOURCES.has(q));
    const handled =
      bucket !== '' &&
      (listing || (key === '' && ctx.method === 'GET' && 'uploads' in ctx.query) || (key !== '' && uploadId !== undefined && (ctx.method === 'GET' || ctx.method === 'DELETE')));
    if (!handled) {
      if (ctx.method === 'PUT' && key !== '') {
        const length = ctx.headers['content-length'];
        const md5 = ctx.headers['content-md5'];
        expected.set(ctx.req, {
          ...(length !== undefined ? { length: Number(length) } : {}),
          ...(typeof md5 === 'string' ? { md5 } : {}),
        });
      }
      await next();
      return;
    }
    if (!(await store.getBucket(bucket))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    }
    if (listing) return listObjects(ctx, bucket, single(ctx.query['list-type']) === '2' ? 2 : 1);
    if (key === '') return listMultipartUploads(ctx, bucket);
    if (ctx.method === 'GET') return listParts(ctx, bucket, key, uploadId ?? '');
    await rm(await uploadDir(bucket, uploadId ?? '', key), { recursive: true, force: true, maxRetries: 3 });
    ctx.status = 204;
  };
  // Before s3rver's router (the last middleware), after its XML encoder: plain-object bodies
  // come out as XML and thrown S3Errors as S3 error documents.
  server.middleware.splice(server.middleware.length - 1, 0, shim);
  // Silent for real: s3rver's request logger and its controllers write to a winston logger that
  // complains on stderr once closed, which happens when stop() cuts requests in flight.
  server.middleware = server.middleware.filter((m) => m.name !== 'logger');
  const quiet = (): void => undefined;
  server.context.logger = { info: quiet, warn: quiet, error: quiet, debug: quiet };

  const address = await server.run();
  const httpServer = server.httpServer;
  const port = address.port;

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      const closed = server.close().catch(() => undefined);
      // Keep-alive connections (Node's default agent) would hold close() open: end them now.
      httpServer?.closeAllConnections();
      await closed;
      if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    })();
    return stopping;
  }

  return {
    ...serverAddress(port, directory),
    async createBucket(name) {
      await store.putBucket(checkBucketName(name));
    },
    takeRequests() {
      return requests.splice(0, requests.length);
    },
    interruptNextUpload(interruptOptions) {
      if (!Number.isInteger(interruptOptions.afterBytes) || interruptOptions.afterBytes < 1) {
        throw new InvalidInputError(`interruptNextUpload: afterBytes ${interruptOptions.afterBytes} is not a positive integer`);
      }
      interrupt = interruptOptions;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** How long a child server may take to load through tsx and listen. */
const CHILD_START_TIMEOUT_MS = 60_000;

/**
 * The same server in a child process: the child runs startS3Server (in its own process) and
 * prints its port; the fixture signals it. The child is given the folder, so it never removes it.
 */
async function startChildS3Server(options: S3ServerOptions, directory: string, ownsDirectory: boolean): Promise<S3ServerFixture> {
  const script = [
    "require('tsx/cjs');",
    `const { startS3Server } = require(${JSON.stringify(__filename)});`,
    `startS3Server(${JSON.stringify({ directory, buckets: options.buckets ?? [], port: options.port ?? 0 })}).then((s) => {`,
    "  process.stdout.write(JSON.stringify({ port: s.port }) + '\\n');",
    "  process.once('SIGTERM', () => void s.stop().then(() => process.exit(0)));",
    '}, (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });',
  ].join('\n');
  const tsconfig = path.resolve(__dirname, '..', '..', '..', 'tsconfig.base.json');
  const child = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, TSX_TSCONFIG_PATH: process.env['TSX_TSCONFIG_PATH'] ?? tsconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the S3 server child did not listen within ${CHILD_START_TIMEOUT_MS} ms: ${output}`)), CHILD_START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /\{"port":(\d+)\}/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the S3 server child exited (code ${String(code)}, signal ${String(signal)}) before it listened: ${output}`));
    });
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    throw error;
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // A frozen child would never handle SIGTERM.
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killTimer);
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
      if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    })();
    return stopping;
  };
  const unavailable = (what: string): Error => new InvalidInputError(`S3 server fixture: ${what} is not available with options.childProcess`);
  return {
    ...serverAddress(port, directory),
    async createBucket(name) {
      // s3rver takes each folder of its root as a bucket.
      await mkdir(path.join(directory, checkBucketName(name)), { recursive: true });
    },
    takeRequests() {
      throw unavailable('takeRequests');
    },
    interruptNextUpload() {
      throw unavailable('interruptNextUpload');
    },
    stop,
    [Symbol.asyncDispose]: stop,
    child,
  };
}
