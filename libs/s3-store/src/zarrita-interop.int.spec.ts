import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createLocalBlobStore } from '@mitosis/core';
import { readArray, writeArray } from '@mitosis/tensor-store';
 
import { startS3Server, uniqueBucketName } from '@mitosis/testing';
import { createS3BlobStore } from './s3-blob-store';

/**
 * Interop: arrays written by @mitosis/tensor-store are read by zarrita (a stock Zarr v3 reader,
 * ESM-only, so it runs in a child `node` on a small .mjs script). What it shows about zarrita
 * 0.7.5: it reads our codec chain bytes -> gzip -> crc32c, but its crc32c decoder only strips the
 * 4 checksum bytes without verifying them (a damaged checksum goes unnoticed; our reader rejects
 * it), and it cannot write gzip or crc32c (their encoders throw UnsupportedError): read-only interop.
 */

const run = promisify(execFile);

/** file:// URL of an ESM package entry in the workspace's node_modules (the child runs from a temp folder). */
function entryUrl(pkg: string, subpath = '.'): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'node_modules', pkg, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${pkg} is not installed (npm install --save-dev zarrita @zarrita/storage)`);
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

describe('zarrita reads what tensor-store writes', () => {
  let work: string;
  let script: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'zarrita-'));
    script = path.join(work, 'read.mjs');
    await writeFile(script, SCRIPT);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function zarrita(source: Record<string, string>): Promise<ZarritaView> {
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

  /** [5, 7, 9] float32, voxel (t, y, x) = t*100 + y + x/4 (exact in float32), 2 frames per chunk. */
  const data = Float32Array.from({ length: 5 * 7 * 9 }, (_, i) => Math.floor(i / 63) * 100 + Math.floor((i % 63) / 9) + (i % 9) / 4);
  const options = { chunkShape: [2, 7, 9], dimensionNames: ['t', 'y', 'x'], attributes: { source: 'cetres-b', factor: 4 } };

  it('opens a local-folder array with FileSystemStore: shape, dtype, chunks, attributes and values', async () => {
    const root = path.join(work, 'local');
    await writeArray(createLocalBlobStore(root), 'videos/a/frames', { data, shape: [5, 7, 9] }, options);
    const view = await zarrita({ kind: 'fs', root, array: 'videos/a/frames' });
    expect(view.shape).toEqual([5, 7, 9]);
    expect(view.dtype).toBe('float32');
    expect(view.chunks).toEqual([2, 7, 9]);
    expect(view.attrs).toEqual({ source: 'cetres-b', factor: 4 });
    expect(view.data).toEqual(Array.from(data));
    expect(view.data[(4 * 7 + 6) * 9 + 8]).toBe(4 * 100 + 6 + 8 / 4); // last voxel: t=4, y=6, x=8
    expect(view.frames.shape).toEqual([2, 7, 9]);
    expect(view.frames.data).toEqual(Array.from(data.subarray(63, 3 * 63)));
  }, 30000);

  it('does not verify crc32c: a damaged checksum passes zarrita and fails our reader', async () => {
    const root = path.join(work, 'damaged');
    const store = createLocalBlobStore(root);
    await writeArray(store, 'm', { data, shape: [5, 7, 9] }, options);
    const chunk = await store.get('m/c/1/0/0');
    chunk[chunk.length - 1] ^= 0xff; // the stored checksum only; the gzip data is intact
    await store.put('m/c/1/0/0', chunk);
    await expect(readArray(store, 'm')).rejects.toThrow(/crc32c/);
    const view = await zarrita({ kind: 'fs', root, array: 'm' });
    expect(view.data).toEqual(Array.from(data)); // zarrita strips the 4 bytes without checking them
  }, 30000);

  it('opens the same layout straight from the S3 bucket with FetchStore (anonymous GETs)', async () => {
    const server = await startS3Server();
    try {
      const bucket = uniqueBucketName('zarrita');
      await server.createBucket(bucket);
      const store = createS3BlobStore({ endPoint: server.endPoint, port: server.port, useSSL: false, accessKey: server.accessKey, secretKey: server.secretKey, bucket, prefix: 'runs/1' });
      await writeArray(store, 'videos/a/frames', { data, shape: [5, 7, 9] }, options);
      const view = await zarrita({ kind: 'fetch', url: `${server.url}/${bucket}/runs/1`, array: 'videos/a/frames' });
      expect(view.shape).toEqual([5, 7, 9]);
      expect(view.dtype).toBe('float32');
      expect(view.data).toEqual(Array.from(data));
    } finally {
      await server.stop();
    }
  }, 30000);
});
