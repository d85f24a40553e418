import { InvalidInputError } from '@mitosis/core';
import { bytesCodec, jsonCodec } from './codec';

describe('jsonCodec', () => {
  it('round-trips a value as UTF-8 JSON', () => {
    const codec = jsonCodec<{ videoId: string; frames: number[] }>();
    const bytes = codec.encode({ videoId: 'vidéo', frames: [1, 2] });
    expect(new TextDecoder().decode(bytes)).toBe('{"videoId":"vidéo","frames":[1,2]}');
    expect(codec.decode(bytes)).toEqual({ videoId: 'vidéo', frames: [1, 2] });
  });

  it('rejects bytes that are not JSON, or not UTF-8, with an InvalidInputError', () => {
    const codec = jsonCodec<unknown>(undefined, 'M1 request');
    expect(() => codec.decode(new TextEncoder().encode('{nope'))).toThrow(InvalidInputError);
    expect(() => codec.decode(Uint8Array.of(0x7b, 0xff, 0x7d))).toThrow(/M1 request is not valid UTF-8 JSON \(3 bytes\)/);
  });

  it('applies the shape check', () => {
    const isPoint = (v: unknown): v is { x: number } => typeof v === 'object' && v !== null && typeof (v as { x?: unknown }).x === 'number';
    const codec = jsonCodec(isPoint, 'point');
    expect(codec.decode(codec.encode({ x: 3 }))).toEqual({ x: 3 });
    expect(() => codec.decode(new TextEncoder().encode('{"x":"3"}'))).toThrow(/point does not have the expected shape/);
  });
});

describe('bytesCodec', () => {
  it('passes bytes through', () => {
    const bytes = Uint8Array.of(1, 2, 3);
    expect(bytesCodec.decode(bytesCodec.encode(bytes))).toBe(bytes);
  });
});
