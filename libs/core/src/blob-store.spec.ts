import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLocalBlobStore } from './blob-store';
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
