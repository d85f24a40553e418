import type { BlobStore } from '@mitosis/core';
import { InvalidInputError, NotFoundError } from '@mitosis/core';
import type * as Zarr from 'zarrita';
import { NodeGzipCodec, VerifyingCrc32cCodec, recordChunkOrigin } from './codecs';

/**
 * zarrita.js, the Zarr v3 reader and writer of tensor-store, and the adapter that lets it use any
 * of our BlobStores (local folder, memory, S3/MinIO) as its store.
 */
export type Zarrita = typeof Zarr;

let loading: Promise<Zarrita> | undefined;

/**
 * zarrita is ESM-only: a real `import()` under tsx and plain Node; under Jest (CommonJS, no
 * require(esm) before Node 24.9) jest.preset.js compiles it to CommonJS. Loaded once, with our
 * gzip and verifying crc32c codecs registered in place of zarrita's decode-only ones.
 */
export function loadZarrita(): Promise<Zarrita> {
  loading ??= import('zarrita').then((zarr) => {
    zarr.registry.set('gzip', () => Promise.resolve(NodeGzipCodec));
    zarr.registry.set('crc32c', () => Promise.resolve(VerifyingCrc32cCodec));
    return zarr;
  });
  return loading;
}

/** zarrita's store paths are absolute (`/a/b/zarr.json`); BlobStore keys are relative (`a/b/zarr.json`). */
function blobKey(path: string): string {
  return path.replace(/^\/+/, '');
}

/** zarrita's async store interface (AsyncReadable & AsyncWritable of @zarrita/storage). */
export interface ZarritaStore {
  get(key: `/${string}`): Promise<Uint8Array | undefined>;
  set(key: `/${string}`, value: Uint8Array): Promise<void>;
}
export type ZarrLocation = Zarr.Location<ZarritaStore>;
export type ZarrArray = Zarr.Array<Zarr.DataType, ZarritaStore>;
export type ZarrCodecMetadata = Zarr.CodecMetadata;

/**
 * A read view of one array's keys: a missing `zarr.json` is reported to zarrita as absent (it
 * raises its NotFoundError, which readArray names), but a missing chunk is an error: the writer
 * writes every chunk, so a hole means a damaged or half-deleted array, not fill values.
 */
export function readStore(store: BlobStore, arrayKey: string): ZarritaStore {
  const chunkPrefix = `${arrayKey}/c/`;
  return {
    async get(path) {
      const key = blobKey(path);
      const isChunk = key.startsWith(chunkPrefix);
      try {
        const bytes = await store.get(key);
        if (isChunk) recordChunkOrigin(bytes, { array: arrayKey, coords: key.slice(chunkPrefix.length) });
        return bytes;
      } catch (error: unknown) {
        if (!(error instanceof NotFoundError)) throw error;
        if (isChunk) throw new InvalidInputError(`array "${arrayKey}" chunk ${key.slice(chunkPrefix.length)} is missing: no object ${key}`, { cause: error });
        return undefined;
      }
    },
    set(path) {
      return Promise.reject(new InvalidInputError(`array "${arrayKey}": opened for reading, cannot write ${blobKey(path)}`));
    },
  };
}

/**
 * A write session over one array: chunks go straight to the BlobStore, `zarr.json` is held back
 * until `commit()`, so a reader never sees metadata pointing at chunks not written yet (the
 * services take the presence of zarr.json as "array complete"). Reads see only what this session
 * wrote: an edge chunk is built from the fill value, never from an older array under the same key.
 */
export function writeSession(store: BlobStore, arrayKey: string): ZarritaStore & { commit(): Promise<void> } {
  const held = new Map<string, Uint8Array>();
  const metadataKey = `${arrayKey}/zarr.json`;
  return {
    get(path) {
      return Promise.resolve(held.get(blobKey(path)));
    },
    async set(path, value) {
      const key = blobKey(path);
      if (key === metadataKey) held.set(key, value);
      else await store.put(key, value);
    },
    async commit() {
      const metadata = held.get(metadataKey);
      if (!metadata) throw new InvalidInputError(`array "${arrayKey}": zarrita wrote no zarr.json`);
      await store.put(metadataKey, metadata);
    },
  };
}

/** Runs tasks with at most `limit` in flight; after a failure none starts, and the first error is thrown. */
export async function runBounded(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < tasks.length) {
      const task = tasks[next++];
      try {
        await task();
      } catch (error: unknown) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure) throw failure.error;
}

/**
 * zarrita's chunk queue with at most `limit` chunks in flight. Its default starts every chunk at
 * once, which for a 200-frame video holds a second copy of the whole array in chunk buffers.
 * Tasks run when zarrita asks for `onIdle`; after a failure no new chunk starts, and the first
 * error is thrown once the running ones have settled.
 */
export function boundedQueue(limit = 4): NonNullable<Zarr.GetOptions['createQueue']> {
  return () => {
    const tasks: (() => Promise<void>)[] = [];
    return {
      add(fn) {
        tasks.push(fn);
      },
      async onIdle() {
        await runBounded(tasks, limit);
        return [];
      },
    };
  };
}
