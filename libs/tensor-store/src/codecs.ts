import { gunzipSync, gzipSync } from 'node:zlib';
import { InvalidInputError } from '@mitosis/core';
import { crc32c } from './crc32c';

/**
 * The two bytes-to-bytes codecs of our chain (bytes -> gzip -> crc32c) as zarrita codecs, put
 * in zarrita's registry in place of its own: zarrita 0.7 cannot encode either, and its crc32c
 * decoder drops the 4 checksum bytes without checking them, so a damaged chunk would reach a
 * model as garbage. Ours encode, and verify on decode with an error naming the chunk.
 */

/** Which stored chunk a buffer came from: set by the store adapter when it fetches a chunk. */
export interface ChunkOrigin {
  /** The array's key in the BlobStore. */
  readonly array: string;
  /** Chunk coordinates as in its key (`1/0/0`). */
  readonly coords: string;
}

// Keyed by the very Uint8Array the store returned (zarrita hands it unchanged to the last codec
// of the chain, crc32c, first on decode); a WeakMap so a dropped chunk leaves no entry behind.
const origins = new WeakMap<Uint8Array, ChunkOrigin>();

export function recordChunkOrigin(bytes: Uint8Array, origin: ChunkOrigin): void {
  origins.set(bytes, origin);
}

/**
 * For a buffer fetched by the adapter, where: `array "k" chunk 1/0` and key: `k/c/1/0` (its
 * BlobStore key); for any other buffer, `a chunk` and no key.
 */
export function describeChunk(bytes: Uint8Array): { readonly where: string; readonly key: string } {
  const origin = origins.get(bytes);
  if (!origin) return { where: 'a chunk', key: '' };
  return { where: `array "${origin.array}" chunk ${origin.coords}`, key: ` ${origin.array}/c/${origin.coords}` };
}

/** The subset of zarrita's chunk metadata our codecs read (the rest is ignored). */
interface ChunkMeta {
  readonly dataType: string;
  readonly shape: readonly number[];
  readonly codecs: readonly { readonly name: string }[];
}

const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = { uint8: 1, int8: 1, uint16: 2, int16: 2, int32: 4, uint32: 4, float32: 4, float64: 8 };

export class NodeGzipCodec {
  readonly kind = 'bytes_to_bytes' as const;

  constructor(
    private readonly level: number,
    /** Decoded size when gzip sits right after `bytes` (our chain); undefined when unknown. */
    private readonly expectedBytes: number | undefined,
  ) {}

  static fromConfig(config: unknown, meta: ChunkMeta): NodeGzipCodec {
    const level = (config as { level?: unknown } | undefined)?.level ?? 1;
    if (typeof level !== 'number' || !Number.isInteger(level) || level < 0 || level > 9) {
      throw new InvalidInputError(`gzip codec: level ${String(level)} is not an integer in 0-9`);
    }
    const at = meta.codecs.findIndex((c) => c.name === 'gzip');
    const perElement = BYTES_PER_ELEMENT[meta.dataType];
    const expected = at > 0 && meta.codecs[at - 1].name === 'bytes' && perElement !== undefined ? meta.shape.reduce((a, b) => a * b, 1) * perElement : undefined;
    return new NodeGzipCodec(level, expected);
  }

  encode(bytes: Uint8Array): Uint8Array {
    // Same call as the pre-zarrita writer, so the chunks stay byte-identical.
    return new Uint8Array(gzipSync(bytes, { level: this.level }));
  }

  decode(bytes: Uint8Array): Uint8Array {
    let raw: Buffer;
    try {
      raw = gunzipSync(bytes);
    } catch (error: unknown) {
      const { where, key } = describeChunk(bytes);
      throw new InvalidInputError(`${where}: chunk${key} does not decompress (gzip)`, { cause: error });
    }
    if (this.expectedBytes !== undefined && raw.length !== this.expectedBytes) {
      const { where, key } = describeChunk(bytes);
      throw new InvalidInputError(`${where}: chunk${key} holds ${raw.length} bytes, expected ${this.expectedBytes}`);
    }
    // A fresh, aligned buffer of this realm: `bytes` then views it as the array's typed array.
    const out = new Uint8Array(raw.length);
    out.set(raw);
    return out;
  }
}

export class VerifyingCrc32cCodec {
  readonly kind = 'bytes_to_bytes' as const;

  static fromConfig(): VerifyingCrc32cCodec {
    return new VerifyingCrc32cCodec();
  }

  /** Zarr v3 crc32c: the checksum of the bytes, 4 bytes little-endian, appended. */
  encode(bytes: Uint8Array): Uint8Array {
    const out = new Uint8Array(bytes.length + 4);
    out.set(bytes, 0);
    new DataView(out.buffer).setUint32(bytes.length, crc32c(bytes), true);
    return out;
  }

  decode(bytes: Uint8Array): Uint8Array {
    const { where, key } = describeChunk(bytes);
    if (bytes.length < 4) throw new InvalidInputError(`${where}: chunk${key} is truncated (${bytes.length} bytes)`);
    const body = bytes.subarray(0, bytes.length - 4);
    const stored = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
    if (crc32c(body) !== stored) throw new InvalidInputError(`${where}: chunk checksum mismatch (crc32c), the stored chunk${key} is damaged`);
    const origin = origins.get(bytes);
    if (origin) origins.set(body, origin); // so gzip, next on decode, can name the chunk too
    return body;
  }

  computeEncodedSize(decodedSize: number): number {
    return decodedSize + 4;
  }
}
