import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BlobStore } from '@mitosis/core';
import { InvalidInputError, createLocalBlobStore, createMemoryBlobStore } from '@mitosis/core';
import { NodeGzipCodec, VerifyingCrc32cCodec, recordChunkOrigin } from './codecs';
import { crc32c } from './crc32c';
import { readArray, readArrayMetadata, writeArray } from './zarr';
import { boundedQueue, loadZarrita, readStore } from './zarrita';

/** A BlobStore that records every get and put (and how many puts run at once). */
function recording(inner: BlobStore) {
  const gets: string[] = [];
  const puts: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const store: BlobStore = {
    ...inner,
    get: (key) => {
      gets.push(key);
      return inner.get(key);
    },
    put: async (key, bytes) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      await inner.put(key, bytes);
      puts.push(key);
      inFlight -= 1;
    },
  };
  return { store, gets, puts, maxInFlight: () => maxInFlight };
}

/** The arrays in fixtures/legacy, as the pre-zarrita tensor-store wrote them (same formulas). */
const legacy = [
  {
    key: 'videos/v/frames',
    data: Float32Array.from({ length: 5 * 3 * 4 }, (_, i) => Math.floor(i / 12) * 10 + (i % 12) / 8),
    shape: [5, 3, 4],
    options: { chunkShape: [2, 3, 4], dimensionNames: ['t', 'y', 'x'], attributes: { mitosis: { factor: 2 } } },
  },
  { key: 'maps/ncm', data: Uint8Array.from({ length: 3 * 5 * 3 }, (_, i) => (i * 7) % 3), shape: [3, 5, 3], options: { chunkShape: [1, 2, 2] } },
  { key: 'stats/counts', data: Uint16Array.from({ length: 4 * 2 }, (_, i) => i * 1000), shape: [4, 2], options: { gzipLevel: 6 } },
  { key: 'labels/l', data: Int32Array.from({ length: 6 }, (_, i) => i - 3), shape: [6], options: { chunkShape: [4] } },
];

describe('tensor-store through zarrita', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'zarrita-store-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('registers our gzip and verifying crc32c codecs in zarrita', async () => {
    const zarr = await loadZarrita();
    await expect(zarr.registry.get('gzip')?.()).resolves.toBe(NodeGzipCodec);
    await expect(zarr.registry.get('crc32c')?.()).resolves.toBe(VerifyingCrc32cCodec);
  });

  it('reads the arrays stored before zarrita, and writes them again byte for byte', async () => {
    const old = createLocalBlobStore(path.join(__dirname, 'fixtures', 'legacy'));
    const fresh = createLocalBlobStore(root);
    for (const { key, data, shape, options } of legacy) {
      const back = await readArray(old, key);
      expect(back.shape).toEqual(shape);
      expect(back.data).toEqual(data);
      await writeArray(fresh, key, { data, shape }, options);
      const keys = await old.list(`${key}/`);
      expect(await fresh.list(`${key}/`)).toEqual(keys);
      for (const chunk of keys.filter((k) => !k.endsWith('zarr.json'))) {
        expect(Buffer.from(await fresh.get(chunk)).equals(Buffer.from(await old.get(chunk)))).toBe(true);
      }
      const json = async (store: BlobStore) => JSON.parse(new TextDecoder().decode(await store.get(`${key}/zarr.json`))) as unknown;
      expect(await json(fresh)).toEqual(await json(old)); // same document; zarrita orders the keys its own way
    }
    expect(await readArrayMetadata(old, 'videos/v/frames')).toEqual({
      shape: [5, 3, 4],
      chunkShape: [2, 3, 4],
      dataType: 'float32',
      dimensionNames: ['t', 'y', 'x'],
      attributes: { mitosis: { factor: 2 } },
    });
  });

  it('opens what writeArray wrote with zarr.open and zarr.get directly', async () => {
    const store = createMemoryBlobStore();
    const data = Uint16Array.from({ length: 4 * 3 * 2 }, (_, i) => i * 11);
    await writeArray(store, 'a', { data, shape: [4, 3, 2] }, { chunkShape: [3, 2, 2] });
    const zarr = await loadZarrita();
    const arr = await zarr.open.v3(new zarr.Location(readStore(store, 'a'), '/a'), { kind: 'array' });
    expect(arr.dtype).toBe('uint16');
    expect(arr.chunks).toEqual([3, 2, 2]);
    const frames = await zarr.get(arr, [zarr.slice(1, 3), null, null]);
    expect(Array.from(frames.data as Uint16Array)).toEqual(Array.from(data.subarray(6, 18)));
  });

  it('reads frames A:B fetching zarr.json and only the chunks of those frames', async () => {
    const { store, gets } = recording(createMemoryBlobStore());
    const frame = 6 * 7;
    const data = Float32Array.from({ length: 10 * frame }, (_, i) => i / 3);
    await writeArray(store, 'videos/x/frames', { data, shape: [10, 6, 7] });
    gets.length = 0;
    const part = await readArray(store, 'videos/x/frames', { start: 3, end: 6 });
    expect(part.data).toEqual(data.subarray(3 * frame, 6 * frame));
    expect([...gets].sort()).toEqual(['videos/x/frames/c/3/0/0', 'videos/x/frames/c/4/0/0', 'videos/x/frames/c/5/0/0', 'videos/x/frames/zarr.json']);
    gets.length = 0;
    await readArray(store, 'videos/x/frames', { start: 4, end: 4 });
    expect(gets).toEqual(['videos/x/frames/zarr.json']); // an empty range reads no chunk
  });

  it('writes every chunk before zarr.json, with a bounded number of puts in flight', async () => {
    const rec = recording(createMemoryBlobStore());
    await writeArray(rec.store, 'm', { data: new Uint8Array(20 * 4), shape: [20, 2, 2] });
    expect(rec.puts).toHaveLength(21);
    expect(rec.puts[20]).toBe('m/zarr.json');
    expect(rec.maxInFlight()).toBeGreaterThan(1);
    expect(rec.maxInFlight()).toBeLessThanOrEqual(4);
  });

  it('rewrites a key without reading the old chunks: edge chunks are padded with zeros as in a fresh store', async () => {
    const reused = createMemoryBlobStore();
    await writeArray(reused, 'k', { data: new Float32Array(5 * 3).fill(7), shape: [5, 3] }, { chunkShape: [2, 2] });
    const data = Uint8Array.from({ length: 5 * 3 }, (_, i) => i + 1);
    await writeArray(reused, 'k', { data, shape: [5, 3] }, { chunkShape: [2, 2] });
    const fresh = createMemoryBlobStore();
    await writeArray(fresh, 'k', { data, shape: [5, 3] }, { chunkShape: [2, 2] });
    for (const key of await fresh.list('k/c/')) expect(Array.from(await reused.get(key))).toEqual(Array.from(await fresh.get(key)));
    expect((await readArray(reused, 'k')).data).toEqual(data);
  });

  it('names the chunk when its checksum, its gzip stream or the chunk itself is wrong', async () => {
    const store = createLocalBlobStore(root);
    const data = Int32Array.from({ length: 3 * 4 }, (_, i) => i * i);
    await writeArray(store, 'labels/x', { data, shape: [3, 4] });
    const good = await store.get('labels/x/c/1/0');

    const flipped = Uint8Array.from(good);
    flipped[flipped.length - 1] ^= 0x01; // the stored checksum only
    await store.put('labels/x/c/1/0', flipped);
    const error = await readArray(store, 'labels/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toBe('array "labels/x" chunk 1/0: chunk checksum mismatch (crc32c), the stored chunk labels/x/c/1/0 is damaged');
    await expect(readArray(store, 'labels/x', { start: 2, end: 3 })).resolves.toMatchObject({ shape: [1, 4] }); // other frames still read

    const notGzip = new VerifyingCrc32cCodec().encode(new TextEncoder().encode('not a gzip stream'));
    await store.put('labels/x/c/1/0', notGzip);
    await expect(readArray(store, 'labels/x')).rejects.toThrow('array "labels/x" chunk 1/0: chunk labels/x/c/1/0 does not decompress (gzip)');

    const short = new VerifyingCrc32cCodec().encode(new Uint8Array(gzipSync(new Uint8Array(12))));
    await store.put('labels/x/c/1/0', short);
    await expect(readArray(store, 'labels/x')).rejects.toThrow('array "labels/x" chunk 1/0: chunk labels/x/c/1/0 holds 12 bytes, expected 16');

    await store.delete('labels/x/c/1/0');
    const missing = await readArray(store, 'labels/x').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(InvalidInputError);
    expect((missing as Error).message).toBe('array "labels/x" chunk 1/0 is missing: no object labels/x/c/1/0');
  });

  it('reports malformed metadata, groups and unusable keys as InvalidInputError', async () => {
    const store = createMemoryBlobStore();
    await store.put('j/zarr.json', new TextEncoder().encode('{not json'));
    await expect(readArray(store, 'j')).rejects.toThrow(/array "j": .*JSON/);
    await store.put('g/zarr.json', new TextEncoder().encode(JSON.stringify({ zarr_format: 3, node_type: 'group', attributes: {} })));
    await expect(readArrayMetadata(store, 'g')).rejects.toThrow('"g" is a Zarr group, not an array');
    await store.put('n/zarr.json', new TextEncoder().encode(JSON.stringify({ zarr_format: 3, node_type: 'array', shape: [2] })));
    await expect(readArray(store, 'n')).rejects.toThrow(/array "n": zarr.json is not a Zarr v3 array/);
    await expect(writeArray(store, 'a?b', { data: new Uint8Array(1), shape: [1] })).rejects.toThrow(/array key "a\?b" holds characters/);
    await expect(writeArray(store, 'a//b', { data: new Uint8Array(1), shape: [1] })).rejects.toThrow(InvalidInputError);
    await expect(writeArray(store, 'z', { data: new Uint8Array(1), shape: [1] }, { gzipLevel: 12 })).rejects.toThrow('gzip level 12');
    expect(await store.list('')).toEqual(['g/zarr.json', 'j/zarr.json', 'n/zarr.json']); // nothing written by the refused calls
  });
});

describe('the codecs', () => {
  const meta = { dataType: 'uint16', shape: [2, 3], codecs: [{ name: 'bytes' }, { name: 'gzip' }, { name: 'crc32c' }] };

  it('gzip round-trips at the configured level and checks the decoded size', () => {
    const raw = Uint8Array.from({ length: 12 }, (_, i) => i % 3);
    const codec = NodeGzipCodec.fromConfig({ level: 9 }, meta);
    expect(Buffer.from(codec.encode(raw)).equals(gzipSync(raw, { level: 9 }))).toBe(true);
    expect(codec.decode(codec.encode(raw))).toEqual(raw);
    expect(() => codec.decode(codec.encode(raw.subarray(2)))).toThrow('a chunk: chunk holds 10 bytes, expected 12');
    expect(() => NodeGzipCodec.fromConfig({ level: -1 }, meta)).toThrow(InvalidInputError);
  });

  it('crc32c appends the little-endian checksum and verifies it, naming the recorded chunk', () => {
    const codec = VerifyingCrc32cCodec.fromConfig();
    const body = new TextEncoder().encode('123456789');
    const encoded = codec.encode(body);
    expect(Array.from(encoded.subarray(9))).toEqual([0x83, 0x92, 0x06, 0xe3]); // 0xe3069283, the check value
    expect(codec.decode(encoded)).toEqual(body);
    const damaged = Uint8Array.from(encoded);
    damaged[0] ^= 0x80;
    recordChunkOrigin(damaged, { array: 'maps/m', coords: '0/1' });
    expect(() => codec.decode(damaged)).toThrow('array "maps/m" chunk 0/1: chunk checksum mismatch (crc32c), the stored chunk maps/m/c/0/1 is damaged');
    expect(() => codec.decode(new Uint8Array(3))).toThrow('a chunk: chunk is truncated (3 bytes)');
    expect(crc32c(body)).toBe(0xe3069283);
  });

  it('the bounded queue runs every task, at most `limit` at once, and stops after a failure', async () => {
    const queue = boundedQueue(2)();
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    for (let i = 0; i < 7; i++) {
      queue.add(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running -= 1;
        done.push(i);
      });
    }
    await queue.onIdle();
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(2);

    const failing = boundedQueue(1)();
    const ran: number[] = [];
    failing.add(() => Promise.reject(new Error('first')));
    failing.add(async () => {
      ran.push(1);
    });
    await expect(failing.onIdle()).rejects.toThrow('first');
    expect(ran).toEqual([]);
  });
});
