import type { BlobStore } from '@mitosis/core';

/** Connection-level failures: the request may never have reached the server, or its answer was lost. */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);

/** Whether an error (or one of its causes) is a dropped or refused connection rather than an answer. */
export function isTransientConnectionError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
    if (typeof message === 'string' && /socket hang up|ECONNRESET|EPIPE/.test(message)) return true;
  }
  return false;
}

export interface TransientRetryOptions {
  /** Tries per operation; default 3. */
  readonly attempts?: number;
  /** Delay before the second try, doubling; default 200 ms. */
  readonly delayMs?: number;
  /** Cap on one delay; default none. */
  readonly maxDelayMs?: number;
  readonly log?: { warn(message: string, fields?: Record<string, unknown>): void };
}

export interface RetryTransientOptions extends TransientRetryOptions {
  /** Which failures are worth another try; any other is thrown at once. */
  readonly isTransient: (error: unknown) => boolean;
  /** The warning logged before each new try. */
  readonly message: string;
  readonly fields?: Record<string, unknown>;
  /** Stops retrying (the last error is thrown) once aborted. */
  readonly signal?: AbortSignal;
}

/** Runs `action`, trying again after a transient failure with a doubling delay, `attempts` times at most. */
export async function retryTransient<T>(action: () => Promise<T>, options: RetryTransientOptions): Promise<T> {
  const attempts = options.attempts ?? 3;
  const delayMs = options.delayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error: unknown) {
      if (attempt >= attempts || options.signal?.aborted === true || !options.isTransient(error)) throw error;
      const wait = Math.min(delayMs * 2 ** (attempt - 1), options.maxDelayMs ?? Infinity);
      options.log?.warn(options.message, { ...options.fields, attempt, delayMs: wait, error });
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/**
 * Retries the store's operations (all idempotent: a put replaces, a delete of nothing is fine)
 * after a dropped connection. A stage thread trains synchronously for minutes; meanwhile the
 * object store closes the idle keep-alive sockets of its HTTP agent, and the first put after
 * training meets a dead socket (ECONNRESET). Without this, hours of training would be thrown
 * away and redone for want of one reconnection.
 */
export function withTransientRetries<S extends BlobStore>(store: S, options: TransientRetryOptions = {}): S {
  const retry = <T>(operation: string, key: string, action: () => Promise<T>): Promise<T> =>
    retryTransient(action, { ...options, isTransient: isTransientConnectionError, message: 'object store connection dropped; retrying', fields: { operation, key } });
  const wrapped: BlobStore = {
    put: (key, bytes) => retry('put', key, () => store.put(key, bytes)),
    get: (key) => retry('get', key, () => store.get(key)),
    exists: (key) => retry('exists', key, () => store.exists(key)),
    list: (prefix) => retry('list', prefix, () => store.list(prefix)),
    delete: (key) => retry('delete', key, () => store.delete(key)),
  };
  // Keep everything else the store offers (location, bucket, ensureBucket...).
  return Object.assign(Object.create(store) as S, wrapped);
}
