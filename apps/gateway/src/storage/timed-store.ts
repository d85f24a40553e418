import type { BlobStore } from '@mitosis/core';

/** A store call that got no answer in time: the store is slow or frozen, the call may succeed later. */
export class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`the object store did not answer within ${timeoutMs} ms; retry later`);
  }
}

/**
 * Time a put may take on top of the limit for each KiB it carries (a floor of 1 MiB/s): a large
 * upload's bytes take longer than one answer, and must not read as an outage.
 */
const PUT_MS_PER_KIB = 1;

/**
 * The store with every call bounded: no answer within `timeoutMs` rejects with StoreTimeoutError,
 * so a frozen store fails a call well before the client's deadline instead of hanging to it.
 * The underlying request is not aborted (BlobStore takes no signal); its late answer is dropped.
 */
export function withStoreTimeout(store: BlobStore, timeoutMs: number): BlobStore {
  const bounded = <T>(work: Promise<T>, limitMs: number): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreTimeoutError(limitMs)), limitMs);
    });
    work.catch(() => undefined);
    return Promise.race([work, expired]).finally(() => clearTimeout(timer));
  };
  return {
    put: (key, bytes) => bounded(store.put(key, bytes), timeoutMs + Math.ceil(bytes.length / 1024) * PUT_MS_PER_KIB),
    get: (key) => bounded(store.get(key), timeoutMs),
    exists: (key) => bounded(store.exists(key), timeoutMs),
    list: (prefix) => bounded(store.list(prefix), timeoutMs),
    delete: (keyOrPrefix) => bounded(store.delete(keyOrPrefix), timeoutMs),
  };
}

/** The StoreTimeoutError an error is or was caused by, if any (callers may wrap it). */
export function storeTimeoutOf(error: unknown): StoreTimeoutError | undefined {
  for (let link = error, depth = 0; typeof link === 'object' && link !== null && depth < 8; link = (link as { cause?: unknown }).cause, depth++) {
    if (link instanceof StoreTimeoutError) return link;
  }
  return undefined;
}
