import type { BlobStore } from '@mitosis/core';

/** A store whose calls the spec can hold, as a frozen object store holds them, and then let through. */
export interface HeldStore extends BlobStore {
  /** From now on every call waits (before it reaches the store) until release(). */
  hold(): void;
  /** Lets the waiting calls and every later one through. */
  release(): void;
  /** Calls waiting now. */
  readonly waiting: number;
}

export function heldStore(store: BlobStore): HeldStore {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let waiting = 0;
  const pass = async <T>(work: () => Promise<T>): Promise<T> => {
    if (gate !== undefined) {
      waiting++;
      await gate.finally(() => waiting--);
    }
    return work();
  };
  return {
    put: (key, bytes) => pass(() => store.put(key, bytes)),
    get: (key) => pass(() => store.get(key)),
    exists: (key) => pass(() => store.exists(key)),
    list: (prefix) => pass(() => store.list(prefix)),
    delete: (keyOrPrefix) => pass(() => store.delete(keyOrPrefix)),
    hold: () => {
      gate ??= new Promise<void>((resolve) => (open = resolve));
    },
    release: () => {
      open?.();
      gate = undefined;
      open = undefined;
    },
    get waiting() {
      return waiting;
    },
  };
}
