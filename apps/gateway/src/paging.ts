import { InvalidInputError } from '@mitosis/core';

/**
 * Page tokens are opaque to clients: base64url of a small JSON object. A token that does not
 * decode to the expected shape is an INVALID_ARGUMENT (the proto's "malformed page token").
 */
export function encodePageToken(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodePageToken<T>(token: string, check: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (error: unknown) {
    throw new InvalidInputError(`page_token "${token.slice(0, 80)}" is malformed; pass next_page_token of the previous page`, { cause: error });
  }
  if (!check(value)) throw new InvalidInputError(`page_token "${token.slice(0, 80)}" is malformed; pass next_page_token of the previous page`);
  return value;
}

/** page_size: 0 means `fallback`, above `max` is refused. */
export function pageSize(requested: number, fallback: number, max: number): number {
  if (requested === 0) return fallback;
  if (requested > max) throw new InvalidInputError(`page_size ${requested} is above the maximum of ${max}`);
  return requested;
}
