/** JetStream API error codes this lib reacts to (nats-server's errors.json). */
export const JS_ERR_STREAM_NOT_FOUND = 10059;
export const JS_ERR_CONSUMER_NOT_FOUND = 10014;
/** A compare-and-set lost: kv.create on an existing key, kv.update on a stale revision. */
export const JS_ERR_WRONG_LAST_SEQUENCE = 10071;

/** The `err_code` of a JetStream API error, or undefined for anything else. */
export function jsErrorCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const api = (error as { api_error?: unknown }).api_error;
  if (typeof api !== 'object' || api === null) return undefined;
  const code = (api as { err_code?: unknown }).err_code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * nats.js codes of a server that is away or not answering (a restart, a partition): the request
 * may succeed once the connection is back. A closed or draining connection is not among them:
 * that one is not coming back.
 */
const OUTAGE_CODES: ReadonlySet<string> = new Set(['TIMEOUT', 'DISCONNECT', 'CONNECTION_REFUSED', 'CONNECTION_TIMEOUT', '503', '408']);

/** Whether an error (or one of its causes) is a NATS outage rather than an answer, so retrying may help. */
export function isNatsOutage(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (name === 'NatsError' && typeof code === 'string' && OUTAGE_CODES.has(code)) return true;
    const next = e as { cause?: unknown; chainedError?: unknown };
    e = next.cause ?? next.chainedError;
  }
  return false;
}
