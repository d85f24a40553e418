import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { BlobStore } from '@mitosis/core';
import { InvalidInputError, createLocalBlobStore } from '@mitosis/core';
import { loadZarrita, readArray, readArrayMetadata, writeArray, zarritaReadStore } from '@mitosis/tensor-store';
import { startS3Server, uniqueBucketName } from '@mitosis/testing';
import type { S3ServerFixture } from '@mitosis/testing';
import { createS3BlobStore } from './s3-blob-store';

/**
 * Interop: @mitosis/tensor-store writes and reads its arrays with zarrita.js (zarr.create and
 * zarr.set, zarr.open and zarr.get) through a zarrita store over our BlobStores, here the S3
 * store (minio client) on the test S3 server and a local folder. zarrita 0.7.5 cannot encode gzip
 * or crc32c and its crc32c decoder strips the 4 checksum bytes without checking them, so
 * tensor-store registers its own gzip (node:zlib) and verifying crc32c in zarrita's codec
 * registry. A stock zarrita (unmodified registry, ESM, run in a child `node`) still reads what
 * tensor-store writes as plain Zarr v3, and shows why the verifying codec is needed.
 */

const run = promisify(execFile);

/** file:// URL of an ESM package entry in the workspace's node_modules (the child runs from a temp folder). */
function entryUrl(pkg: string, subpath = '.'): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'node_modules', pkg, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${pkg} is not installed (npm install zarrita @zarrita/storage)`);
    dir = parent;
  }
  const root = path.join(dir, 'node_modules', pkg);
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { exports: Record<string, { import: string }> };
  return pathToFileURL(path.join(root, manifest.exports[subpath].import)).href;
}

const SCRIPT = `
const zarr = await import(process.env.ZARRITA_URL);
const source = JSON.parse(process.env.SOURCE);
let store;
if (source.kind === 'fs') store = new (await import(process.env.FS_STORE_URL)).default(source.root);
else store = new (await import(process.env.FETCH_STORE_URL)).default(source.url);
const arr = await zarr.open.v3(zarr.root(store).resolve(source.array), { kind: 'array' });
const all = await zarr.get(arr);
const frames = await zarr.get(arr, [zarr.slice(1, 3), null, null]);
console.log(JSON.stringify({
  shape: arr.shape, dtype: arr.dtype, chunks: arr.chunks, attrs: arr.attrs,
  data: Array.from(all.data), frames: { shape: frames.shape, data: Array.from(frames.data) },
}));
`;

interface ZarritaView {
  shape: number[];
  dtype: string;
  chunks: number[];
  attrs: Record<string, unknown>;
  data: number[];
  frames: { shape: number[]; data: number[] };
}

/** [5, 7, 9] float32, voxel (t, y, x) = t*100 + y + x/4 (exact in float32), 2 frames per chunk. */
const data = Float32Array.from({ length: 5 * 7 * 9 }, (_, i) => Math.floor(i / 63) * 100 + Math.floor((i % 63) / 9) + (i % 9) / 4);
const options = { chunkShape: [2, 7, 9], dimensionNames: ['t', 'y', 'x'], attributes: { source: 'cetres-b', factor: 4 } };
const FRAME = 7 * 9;

describe('tensor-store reads and writes through zarrita', () => {
  let work: string;
  let script: string;
  let server: S3ServerFixture;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'zarrita-'));
    script = path.join(work, 'read.mjs');
    await writeFile(script, SCRIPT);
    server = await startS3Server();
  });
  afterAll(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function s3Store(): Promise<{ store: BlobStore; bucket: string }> {
    const bucket = uniqueBucketName('zarrita');
    await server.createBucket(bucket);
    const store = createS3BlobStore({ ...server.connection, bucket, prefix: 'runs/1' });
    return { store, bucket };
  }

  /** A stock zarrita, outside Jest and without our codecs, on a local folder or a URL. */
  async function stockZarrita(source: Record<string, string>): Promise<ZarritaView> {
    const { stdout } = await run(process.execPath, [script], {
      cwd: work,
      env: {
        ...process.env,
        ZARRITA_URL: entryUrl('zarrita'),
        FS_STORE_URL: entryUrl('@zarrita/storage', './fs'),
        FETCH_STORE_URL: entryUrl('@zarrita/storage', './fetch'),
        SOURCE: JSON.stringify(source),
      },
      timeout: 20000,
    });
    return JSON.parse(stdout) as ZarritaView;
  }

  it('over the S3 store: zarrita writes, reads back whole and by frames, fetching only those chunks', async () => {
    const { store } = await s3Store();
    await writeArray(store, 'videos/a/frames', { data, shape: [5, 7, 9] }, options);
    expect(await store.list('videos/a/frames/')).toEqual(['videos/a/frames/c/0/0/0', 'videos/a/frames/c/1/0/0', 'videos/a/frames/c/2/0/0', 'videos/a/frames/zarr.json']);
    const back = await readArray(store, 'videos/a/frames');
    expect(back.data).toEqual(data);
    expect(back.meta).toEqual({ shape: [5, 7, 9], chunkShape: [2, 7, 9], dataType: 'float32', dimensionNames: ['t', 'y', 'x'], attributes: options.attributes });

    server.takeRequests();
    const frames = await readArray(store, 'videos/a/frames', { start: 2, end: 4 }); // frames 2-3: chunk 1 only
    expect(frames.shape).toEqual([2, 7, 9]);
    expect(frames.data).toEqual(data.subarray(2 * FRAME, 4 * FRAME));
    expect(server.takeRequests().map((r) => `${r.method} ${r.key}`)).toEqual(['GET runs/1/videos/a/frames/zarr.json', 'GET runs/1/videos/a/frames/c/1/0/0']);

    // The same array through zarrita's own API, on the store adapter tensor-store uses.
    const zarr = await loadZarrita();
    const arr = await zarr.open.v3(new zarr.Location(zarritaReadStore(store, 'videos/a/frames'), '/videos/a/frames'), { kind: 'array' });
    expect([arr.dtype, arr.shape, arr.chunks, arr.attrs]).toEqual(['float32', [5, 7, 9], [2, 7, 9], options.attributes]);
    const last = await zarr.get(arr, [4, null, null]);
    expect(Array.from(last.data as Float32Array)).toEqual(Array.from(data.subarray(4 * FRAME)));
  }, 30000);

  it('over the S3 store: a chunk damaged in the bucket fails with an error naming it; a stock zarrita does not notice', async () => {
    const { store, bucket } = await s3Store();
    await writeArray(store, 'm', { data, shape: [5, 7, 9] }, options);
    const chunk = await store.get('m/c/1/0/0');
    chunk[chunk.length - 1] ^= 0xff; // the stored checksum only; the gzip data is intact
    await store.put('m/c/1/0/0', chunk);
    const error = await readArray(store, 'm').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toBe('array "m" chunk 1/0/0: chunk checksum mismatch (crc32c), the stored chunk m/c/1/0/0 is damaged');
    expect((await readArray(store, 'm', { start: 4, end: 5 })).data).toEqual(data.subarray(4 * FRAME)); // the other chunks still read
    expect((await readArrayMetadata(store, 'm')).shape).toEqual([5, 7, 9]);

    // Stock zarrita over anonymous HTTP GETs: its crc32c strips the 4 bytes unchecked.
    const view = await stockZarrita({ kind: 'fetch', url: `${server.url}/${bucket}/runs/1`, array: 'm' });
    expect(view.dtype).toBe('float32');
    expect(view.data).toEqual(Array.from(data));
  }, 30000);

  it('over a local folder: what tensor-store writes, a stock zarrita FileSystemStore reads as plain Zarr v3', async () => {
    const root = path.join(work, 'local');
    await writeArray(createLocalBlobStore(root), 'videos/a/frames', { data, shape: [5, 7, 9] }, options);
    const view = await stockZarrita({ kind: 'fs', root, array: 'videos/a/frames' });
    expect(view.shape).toEqual([5, 7, 9]);
    expect(view.dtype).toBe('float32');
    expect(view.chunks).toEqual([2, 7, 9]);
    expect(view.attrs).toEqual({ source: 'cetres-b', factor: 4 });
    expect(view.data).toEqual(Array.from(data));
    expect(view.data[(4 * 7 + 6) * 9 + 8]).toBe(4 * 100 + 6 + 8 / 4); // last voxel: t=4, y=6, x=8
    expect(view.frames.shape).toEqual([2, 7, 9]);
    expect(view.frames.data).toEqual(Array.from(data.subarray(FRAME, 3 * FRAME)));
  }, 30000);
});
