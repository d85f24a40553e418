import type { BlobStore } from './blob-store';
import { checkKey } from './blob-store';
import { NotFoundError } from './errors';

/** A BlobStore in memory: the embedded mode's scratch space and unit tests of stage logic. */
export function createMemoryBlobStore(): BlobStore {
  const objects = new Map<string, Uint8Array>();
  return {
    async put(key, bytes) {
      objects.set(checkKey(key), Uint8Array.from(bytes));
    },
    async get(key) {
      const bytes = objects.get(checkKey(key));
      if (!bytes) throw new NotFoundError(`no object "${key}" in memory store`);
      return Uint8Array.from(bytes);
    },
    async exists(key) {
      return objects.has(checkKey(key));
    },
    async list(prefix) {
      return [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
    async delete(keyOrPrefix) {
      for (const key of [...objects.keys()]) {
        if (key === keyOrPrefix || (keyOrPrefix.endsWith('/') && key.startsWith(keyOrPrefix))) objects.delete(key);
      }
    },
  };
}
