import { InvalidInputError } from '@mitosis/core';

/**
 * How a payload becomes bytes on the wire. The transport never looks inside: services plug the
 * protobuf codecs generated in libs/proto, tests and small tools use JSON.
 */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  /** Throws (preferably an InvalidInputError) on bytes that are not a valid T. */
  decode(bytes: Uint8Array): T;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON as UTF-8. `validate` (optional) checks the parsed value's shape; without it the decoder
 * trusts the producer, so give one for anything that crosses a process boundary.
 */
export function jsonCodec<T>(validate?: (value: unknown) => value is T, what = 'message'): Codec<T> {
  return {
    encode: (value) => encoder.encode(JSON.stringify(value)),
    decode: (bytes) => {
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(bytes));
      } catch (error) {
        throw new InvalidInputError(`${what} is not valid UTF-8 JSON (${bytes.length} bytes)`, { cause: error });
      }
      if (validate !== undefined && !validate(value)) {
        throw new InvalidInputError(`${what} does not have the expected shape`);
      }
      return value as T;
    },
  };
}

/** The identity codec, for payloads that are already bytes. */
export const bytesCodec: Codec<Uint8Array> = {
  encode: (value) => value,
  decode: (bytes) => bytes,
};
