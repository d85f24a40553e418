/** The backend a call could not reach. */
export type Backend = 'job queue (NATS)' | 'object store';

/** nats.js error codes that mean the server is away or not answering, not that the request was wrong. */
const NATS_OUTAGE_CODES: ReadonlySet<string> = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DRAINING',
  'CONNECTION_REFUSED',
  'CONNECTION_TIMEOUT',
  'DISCONNECT',
  'TIMEOUT',
  '503',
  '408',
]);

/** Node's codes of a connection that could not be made or was lost, as the S3 client passes them on. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

const codeOf = (error: object): string | undefined => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
};

/** The error, its causes (`cause`, nats.js' `chainedError`) and an AggregateError's errors, breadth first. */
function* chain(error: unknown): Generator<object> {
  const queue: unknown[] = [error];
  const seen = new Set<unknown>();
  while (queue.length > 0 && seen.size < 16) {
    const next = queue.shift();
    if (typeof next !== 'object' || next === null || seen.has(next)) continue;
    seen.add(next);
    yield next;
    queue.push((next as { cause?: unknown }).cause, (next as { chainedError?: unknown }).chainedError);
    if (next instanceof AggregateError) queue.push(...(next.errors as unknown[]));
  }
}

/**
 * Which backend an error says is unreachable: a nats.js error of a lost or silent connection is
 * the job queue; a connection refused, reset or timed out elsewhere is the object store (the
 * gateway's only other network peer). Undefined for any other error.
 */
export function unreachableBackend(error: unknown): Backend | undefined {
  let network = false;
  for (const link of chain(error)) {
    const code = codeOf(link);
    if (code === undefined) continue;
    if ((link as { name?: unknown }).name === 'NatsError') {
      if (NATS_OUTAGE_CODES.has(code)) return 'job queue (NATS)';
    } else if (NETWORK_CODES.has(code)) network = true;
  }
  return network ? 'object store' : undefined;
}

/** The message a client gets for an outage: retryable, unlike an internal error. */
export const outageMessage = (backend: Backend): string => `the ${backend} is unreachable; retry later`;
