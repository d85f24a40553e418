import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, NotFoundError } from './errors';

/**
 * The small storage interface every stage reads from and writes to: keys are '/'-separated
 * paths. The embedded mode uses a local folder; the services use object storage (S3/MinIO)
 * behind the same interface, so a stage never knows where its tensors live.
 */
export interface BlobStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Throws NotFoundError when the key does not exist. */
  get(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  /** Every key under a prefix ('' for all), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes a key, or everything under a prefix ending in '/'; no error when absent. */
  delete(keyOrPrefix: string): Promise<void>;
}

export function checkKey(key: string): string {
  if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.')) {
    throw new InvalidInputError(`storage key "${key}" is not a relative path without '.' or '..' parts`);
  }
  return key;
}

/** A BlobStore over a local folder. Writes go to a temporary file renamed into place, so a crash never leaves half a file under the final key. */
export function createLocalBlobStore(root: string): BlobStore {
  const full = (key: string): string => path.join(root, ...checkKey(key).split('/'));
  async function walk(dir: string, prefix: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name.includes('.tmp-')) continue;
      const key = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), key, out);
      else out.push(key);
    }
  }
  let counter = 0;
  return {
    async put(key, bytes) {
      const file = full(key);
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}-${counter++}`;
      await writeFile(tmp, bytes);
      await rename(tmp, file);
    },
    async get(key) {
      try {
        return new Uint8Array(await readFile(full(key)));
      } catch (error: unknown) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EISDIR') {
          throw new NotFoundError(`no object "${key}" in ${root}`, { cause: error });
        }
        throw error;
      }
    },
    async exists(key) {
      try {
        return (await stat(full(key))).isFile();
      } catch {
        return false;
      }
    },
    async list(prefix) {
      const out: string[] = [];
      await walk(root, '', out);
      return out.filter((key) => key.startsWith(prefix)).sort();
    },
    async delete(keyOrPrefix) {
      const target = keyOrPrefix.endsWith('/') ? full(keyOrPrefix.slice(0, -1)) : full(keyOrPrefix);
      await rm(target, { recursive: true, force: true });
    },
  };
}
