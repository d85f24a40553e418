/**
 * Which failures are worth another delivery. A @mitosis/core error of one of these kinds says the
 * input or the state is wrong, so the next attempt would fail the same way; anything else
 * (a network hiccup, an out-of-memory GPU, a bug that may not recur) is retried.
 */
export const NON_RETRYABLE_KINDS: readonly string[] = ['INVALID_ARGUMENT', 'NOT_FOUND', 'FAILED_PRECONDITION'];

/** The `kind` of a MitosisError-like value (checked by shape, not class), else 'INTERNAL'. */
export function errorKind(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const kind = (error as { kind?: unknown }).kind;
    if (typeof kind === 'string' && kind !== '') return kind;
  }
  return 'INTERNAL';
}

export function isRetryable(error: unknown): boolean {
  return !NON_RETRYABLE_KINDS.includes(errorKind(error));
}

export interface RetryBackoff {
  /** Delay after the first failed delivery; default 1000 ms. */
  readonly initialMs?: number;
  /** Cap on the delay; default 60 000 ms. */
  readonly maxMs?: number;
}

/** Exponential backoff: initialMs * 2^(deliveryCount-1), capped at maxMs. */
export function retryDelayMs(deliveryCount: number, backoff: RetryBackoff = {}): number {
  const initial = backoff.initialMs ?? 1_000;
  const max = backoff.maxMs ?? 60_000;
  const exponent = Math.max(0, Math.min(30, deliveryCount - 1));
  return Math.max(0, Math.min(max, initial * 2 ** exponent));
}
