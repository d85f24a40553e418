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
