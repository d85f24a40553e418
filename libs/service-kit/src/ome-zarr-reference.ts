import { InvalidInputError } from '@mitosis/core';

/**
 * What `videos/<id>/source` holds for a video registered where it lies (an OME-Zarr already in
 * the bucket) instead of uploaded bytes: the prefix of the OME-Zarr. Ingest reads the chunks from
 * there; nothing is copied.
 */
export interface OmeZarrReference {
  readonly omeZarr: { readonly prefix: string };
}

const MARK = '{"omeZarr":';

export function encodeOmeZarrReference(prefix: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ omeZarr: { prefix } } satisfies OmeZarrReference));
}

/** The reference these bytes hold, or undefined for the bytes of a file (TIFF, tar). */
export function parseOmeZarrReference(bytes: Uint8Array, source: string): OmeZarrReference | undefined {
  if (bytes.length > 4096 || new TextDecoder().decode(bytes.subarray(0, MARK.length)) !== MARK) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error: unknown) {
    throw new InvalidInputError(`${source}: an OME-Zarr reference that is not valid JSON`, { cause: error });
  }
  const prefix = (value as { omeZarr?: { prefix?: unknown } }).omeZarr?.prefix;
  if (typeof prefix !== 'string' || prefix === '') throw new InvalidInputError(`${source}: an OME-Zarr reference without a prefix`);
  return { omeZarr: { prefix } };
}
