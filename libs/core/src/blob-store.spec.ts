import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLocalBlobStore } from './blob-store';
import { createMemoryBlobStore } from './memory-blob-store';
import { InvalidInputError, NotFoundError } from './errors';

describe('createLocalBlobStore', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'blob-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('puts, gets, lists and deletes by key and prefix', async () => {
    const store = createLocalBlobStore(root);
    await store.put('videos/a/zarr.json', new TextEncoder().encode('{}'));
    await store.put('videos/a/c/0', new Uint8Array([1, 2, 3]));
    await store.put('models/m3/weights.bin', new Uint8Array([9]));
    expect(await store.get('videos/a/c/0')).toEqual(new Uint8Array([1, 2, 3]));
    expect(await store.list('videos/')).toEqual(['videos/a/c/0', 'videos/a/zarr.json']);
    expect(await store.exists('models/m3/weights.bin')).toBe(true);
    await store.delete('videos/');
    expect(await store.list('')).toEqual(['models/m3/weights.bin']);
    expect(await readdir(path.join(root, 'models', 'm3'))).toEqual(['weights.bin']);
  });

  it('names the missing key and refuses keys that escape the root', async () => {
    const store = createLocalBlobStore(root);
    await expect(store.get('nope/x')).rejects.toThrow(NotFoundError);
    await expect(store.get('nope/x')).rejects.toThrow('nope/x');
    await expect(store.put('../evil', new Uint8Array())).rejects.toThrow(InvalidInputError);
  });
});

describe('createMemoryBlobStore', () => {
  it('behaves like the folder store for keys, prefixes and missing objects', async () => {
    const store = createMemoryBlobStore();
    const bytes = new Uint8Array([4, 5]);
    await store.put('a/b', bytes);
    bytes[0] = 0;
    await store.put('a/c', new Uint8Array([6]));
    await store.put('d', new Uint8Array([7]));
    expect(await store.get('a/b')).toEqual(new Uint8Array([4, 5]));
    expect(await store.list('a/')).toEqual(['a/b', 'a/c']);
    await store.delete('a/');
    expect(await store.list('')).toEqual(['d']);
    await expect(store.get('a/b')).rejects.toThrow(NotFoundError);
    await expect(store.put('../x', new Uint8Array())).rejects.toThrow(InvalidInputError);
  });
});
