import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { InvalidInputError } from '@mitosis/core';
import { probeVideo, readVideo } from './read-video';
import { decodeTiff } from './tiff-reader';
import { encodeTiff } from './tiff-writer';

// ---------------------------------------------------------------------------------------------
// Test helpers: a TIFF LZW encoder and a hand-assembled TIFF builder, written from TIFF 6.0.

/** TIFF LZW encoder (section 13): MSB-first codes of 9-12 bits, early change, Clear at 4094. */
function lzwEncode(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let bitBuffer = 0;
  let bitCount = 0;
  let width = 9;
  const put = (code: number): void => {
    bitBuffer = (bitBuffer << width) | code;
    bitCount += width;
    while (bitCount >= 8) {
      out.push((bitBuffer >>> (bitCount - 8)) & 0xff);
      bitCount -= 8;
    }
    bitBuffer &= (1 << bitCount) - 1;
  };
  let table = new Map<number, number>();
  let next = 258;
  put(256);
  if (data.length > 0) {
    let prefix = data[0]!;
    for (let i = 1; i < data.length; i++) {
      const c = data[i]!;
      const key = prefix * 256 + c;
      const found = table.get(key);
      if (found !== undefined) {
        prefix = found;
        continue;
      }
      put(prefix);
      table.set(key, next++);
      if (next === 4094) {
        put(256);
        table = new Map();
        next = 258;
        width = 9;
      } else if (next > (1 << width) - 1) {
        width++;
      }
      prefix = c;
    }
    put(prefix);
  }
  put(257);
  if (bitCount > 0) out.push((bitBuffer << (8 - bitCount)) & 0xff);
  return Uint8Array.from(out);
}

type EntrySpec = [tag: number, type: 3 | 4, values: number[]];

interface PageSpec {
  readonly entries: EntrySpec[];
  /** Strip (or tile) data as stored; offsets and byte counts are filled in. */
  readonly chunks: Uint8Array[];
  readonly tiled?: boolean;
}

/** Lays out a TIFF by hand: header, then per page its chunks and its IFD, values > 4 bytes after it. */
function buildTiff(pages: PageSpec[], littleEndian = true): Uint8Array {
  const bytes: number[] = [];
  const u16 = (v: number, at = bytes.length): void => {
    const b = littleEndian ? [v & 0xff, v >>> 8] : [v >>> 8, v & 0xff];
    bytes.splice(at, 2, ...b);
  };
  const u32 = (v: number, at = bytes.length): void => {
    const b = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    bytes.splice(at, 4, ...(littleEndian ? b.reverse() : b));
  };
  bytes.push(...(littleEndian ? [0x49, 0x49] : [0x4d, 0x4d]));
  u16(42);
  u32(0);
  let previousNext = 4;
  for (const page of pages) {
    const offsets: number[] = [];
    for (const chunk of page.chunks) {
      offsets.push(bytes.length);
      bytes.push(...chunk);
      if (bytes.length % 2 === 1) bytes.push(0);
    }
    const located: EntrySpec[] = [
      [page.tiled === true ? 324 : 273, 4, offsets],
      [page.tiled === true ? 325 : 279, 4, page.chunks.map((c) => c.length)],
    ];
    const entries = [...page.entries, ...located].sort((a, b) => a[0] - b[0]);
    const ifdAt = bytes.length;
    u32(ifdAt, previousNext);
    u16(entries.length);
    let extraAt = ifdAt + 2 + entries.length * 12 + 4;
    const extras: Array<() => void> = [];
    for (const [tag, type, values] of entries) {
      u16(tag);
      u16(type);
      u32(values.length);
      const size = (type === 3 ? 2 : 4) * values.length;
      const write = (): void => values.forEach((v) => (type === 3 ? u16(v) : u32(v)));
      if (size <= 4) {
        const start = bytes.length;
        write();
        while (bytes.length < start + 4) bytes.push(0);
      } else {
        u32(extraAt);
        extraAt += size + (size % 2);
        extras.push(() => {
          write();
          if (size % 2 === 1) bytes.push(0);
        });
      }
    }
    previousNext = bytes.length;
    u32(0);
    extras.forEach((write) => write());
  }
  return Uint8Array.from(bytes);
}

/** Tags of a grey page; `extra` adds tags or replaces these by tag number. */
function greyEntries(width: number, height: number, rowsPerStrip: number, extra: EntrySpec[] = [], bits = 8): EntrySpec[] {
  const base: EntrySpec[] = [
    [256, 4, [width]],
    [257, 4, [height]],
    [258, 3, [bits]],
    [262, 3, [1]],
    [278, 4, [rowsPerStrip]],
  ];
  return [...base.filter(([tag]) => !extra.some(([t]) => t === tag)), ...extra];
}

function bytes16(values: number[], littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(i * 2, v, littleEndian));
  return out;
}

// ---------------------------------------------------------------------------------------------

/** A one-page 8-bit grey TIFF of `width` x `height` holding one strip stored as given. */
function oneStrip(width: number, height: number, compression: number, strip: Uint8Array, littleEndian = true): Uint8Array {
  return buildTiff([{ entries: greyEntries(width, height, height, [[259, 3, [compression]]]), chunks: [strip] }], littleEndian);
}

describe('PackBits (through geotiff)', () => {
  it('decodes the example of TIFF 6.0 section 9', async () => {
    const packed = Uint8Array.of(0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa, 0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7, 0xaa);
    const unpacked = [0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0xaa, 0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0x22, ...new Array<number>(10).fill(0xaa)];
    expect(Array.from((await decodeTiff(oneStrip(24, 1, 32773, packed)))[0]!.data)).toEqual(unpacked);
  });

  it('skips the -128 no-op and refuses data that ends early', async () => {
    expect(Array.from((await decodeTiff(oneStrip(2, 1, 32773, Uint8Array.of(0x80, 0x01, 5, 6))))[0]!.data)).toEqual([5, 6]);
    await expect(decodeTiff(oneStrip(4, 1, 32773, Uint8Array.of(0xfe, 0xaa)), 'pb.tif')).rejects.toThrow(/pb\.tif: page 1: strip 1: PackBits data ends after 3 of 4 bytes/);
    await expect(decodeTiff(oneStrip(4, 1, 32773, Uint8Array.of(0x03, 1, 2)))).rejects.toThrow(InvalidInputError);
    await expect(decodeTiff(oneStrip(3, 1, 32773, Uint8Array.of(0xfe)))).rejects.toThrow(InvalidInputError);
  });
});

describe('LZW (through geotiff)', () => {
  it('decodes a hand-worked code sequence', async () => {
    // 7,7,7,7 -> codes Clear(256) 7 258("77") 7 EOI(257), nine bits each, MSB first:
    // 100000000 000000111 100000010 000000111 100000001 (+3 zero bits of padding)
    const handWorked = Uint8Array.of(0x80, 0x01, 0xe0, 0x40, 0x78, 0x08);
    expect(Array.from((await decodeTiff(oneStrip(4, 1, 5, handWorked)))[0]!.data)).toEqual([7, 7, 7, 7]);
    expect(Array.from(lzwEncode(Uint8Array.of(7, 7, 7, 7)))).toEqual(Array.from(handWorked));
  });

  it('round-trips through the 10, 11 and 12-bit codes and a table reset', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 12000 }), fc.integer({ min: 1, max: 16 }), async (data, alphabet) => {
        const narrowed = data.map((b) => b % alphabet); // small alphabets make long strings
        const [frame] = await decodeTiff(oneStrip(narrowed.length, 1, 5, lzwEncode(narrowed)));
        expect(Array.from(frame!.data)).toEqual(Array.from(narrowed));
      }),
      { numRuns: 30, seed: 7 },
    );
    const noise = Uint8Array.from({ length: 20000 }, (_, i) => (i * 2654435761) >>> 24);
    expect(Array.from((await decodeTiff(oneStrip(200, 100, 5, lzwEncode(noise))))[0]!.data)).toEqual(Array.from(noise));
  });

  it('refuses truncated data, codes beyond the table and old-style LZW', async () => {
    const data = Uint8Array.from({ length: 500 }, (_, i) => i % 7);
    const encoded = lzwEncode(data);
    await expect(decodeTiff(oneStrip(500, 1, 5, encoded.subarray(0, encoded.length >> 1)), 'lzw.tif')).rejects.toThrow(/lzw\.tif: page 1: strip 1: /);
    // Clear, then 7, then code 300 while the next free code is 258.
    const beyond = Uint8Array.of(0x80, 0x01, 0xe4, 0xb0);
    await expect(decodeTiff(oneStrip(10, 1, 5, beyond))).rejects.toThrow(InvalidInputError);
    // Old-style (pre TIFF 5.0, LSB-first) LZW does not decode to the page's bytes.
    await expect(decodeTiff(oneStrip(4, 1, 5, Uint8Array.of(0x00, 0x01, 0x02)))).rejects.toThrow(InvalidInputError);
  });
});

describe('TIFF pages from libtiff (tiffcp)', () => {
  const fixtures = JSON.parse(readFileSync(path.join(__dirname, '__fixtures__', 'libtiff-fixtures.json'), 'utf8')) as Record<string, string>;
  const grey8 = (p: number): number[] =>
    Array.from({ length: 24 * 20 }, (_, i) => {
      const x = i % 24;
      const y = (i - x) / 24;
      return (7 * x + 13 * y + 29 * p + ((x * y) % 5)) % 256;
    });
  const grey16 = (p: number): number[] =>
    Array.from({ length: 24 * 20 }, (_, i) => {
      const x = i % 24;
      const y = (i - x) / 24;
      return (2003 * x + 4001 * y + 30011 * p + 17 * x * y) % 65536;
    });
  const expected: Record<string, { bitDepth: 8 | 16; pages: number[][] }> = {
    'lzw8-le': { bitDepth: 8, pages: [grey8(0), grey8(1)] },
    'lzw8-be-predictor': { bitDepth: 8, pages: [grey8(0), grey8(1)] },
    'packbits8-be': { bitDepth: 8, pages: [grey8(0), grey8(1)] },
    'zip8-tiled': { bitDepth: 8, pages: [grey8(0), grey8(1)] },
    'lzw16-be-predictor': { bitDepth: 16, pages: [grey16(0), grey16(1)] },
    'packbits16-le': { bitDepth: 16, pages: [grey16(0), grey16(1)] },
    'zip16-be-tiled': { bitDepth: 16, pages: [grey16(0), grey16(1)] },
    'rgb8-lzw-predictor': { bitDepth: 8, pages: [grey8(0)] },
    'rgb8-be-separate-lzw': { bitDepth: 8, pages: [grey8(0)] },
    'bigtiff8-lzw': { bitDepth: 8, pages: [grey8(0), grey8(1)] },
    'bigtiff16-be-zip-tiled': { bitDepth: 16, pages: [grey16(0), grey16(1)] },
    zstd8: { bitDepth: 8, pages: [grey8(0), grey8(1)] },
    'zstd16-be-predictor': { bitDepth: 16, pages: [grey16(0), grey16(1)] },
    'zstd16-tiled': { bitDepth: 16, pages: [grey16(0), grey16(1)] },
    'bigtiff-zstd16-be-tiled': { bitDepth: 16, pages: [grey16(0), grey16(1)] },
  };

  it.each(Object.keys(expected))('decodes %s', async (name) => {
    const bytes = new Uint8Array(Buffer.from(fixtures[name]!, 'base64'));
    const frames = await decodeTiff(bytes, `${name}.tif`);
    expect(frames.map((f) => [f.width, f.height, f.bitDepth])).toEqual(expected[name]!.pages.map(() => [24, 20, expected[name]!.bitDepth]));
    expect(frames.map((f) => Array.from(f.data))).toEqual(expected[name]!.pages);
  });

  // 32-bit float pages, rescaled to 16-bit by one linear map over both pages (finite min to 0,
  // max to 65535), whatever libtiff's compression, predictor 3, byte order or BigTIFF.
  const float32 = (p: number): number[] =>
    Array.from({ length: 24 * 20 }, (_, i) => {
      const x = i % 24;
      const y = (i - x) / 24;
      return (x - 9) / 4 + 1.5 * y - 3.125 * p + ((x * y) % 3) / 8;
    });
  const floats = [float32(0), float32(1)];
  const low = Math.min(...floats.flat());
  const high = Math.max(...floats.flat());
  const rescaled = floats.map((page) => page.map((v) => Math.round(((v - low) / (high - low)) * 65535)));

  it.each(['float32-none', 'float32-zip-fp', 'float32-be-lzw', 'float32-bigtiff-zstd-tiled'])('decodes %s, rescaled to 16-bit', async (name) => {
    const frames = await decodeTiff(new Uint8Array(Buffer.from(fixtures[name]!, 'base64')), `${name}.tif`);
    expect(frames.map((f) => [f.width, f.height, f.bitDepth, f.data.constructor.name])).toEqual([
      [24, 20, 16, 'Uint16Array'],
      [24, 20, 16, 'Uint16Array'],
    ]);
    expect(frames.map((f) => Array.from(f.data))).toEqual(rescaled);
    expect(Math.min(...frames.flatMap((f) => Array.from(f.data)))).toBe(0);
    expect(Math.max(...frames.flatMap((f) => Array.from(f.data)))).toBe(65535);
  });

  describe.each(['bigtiff8-lzw', 'zstd16-be-predictor', 'bigtiff-zstd16-be-tiled', 'float32-bigtiff-zstd-tiled'])('%s, truncated or bit-flipped', (name) => {
    const bytes = new Uint8Array(Buffer.from(fixtures[name]!, 'base64'));

    it('is refused with InvalidInputError naming the file at every truncation', async () => {
      for (let length = 0; length < bytes.length; length++) {
        await expect(decodeTiff(bytes.subarray(0, length), 'cut.tif')).rejects.toThrow(InvalidInputError);
      }
      await expect(decodeTiff(bytes.subarray(0, bytes.length >> 1), 'cut.tif')).rejects.toThrow(/^cut\.tif: /);
    });

    it('either decodes or raises InvalidInputError when bytes are flipped', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), async (flips) => {
          const corrupt = bytes.slice();
          for (const [at, mask] of flips) corrupt[at] = corrupt[at]! ^ mask;
          try {
            await decodeTiff(corrupt, 'flipped.tif');
          } catch (error: unknown) {
            expect(error).toBeInstanceOf(InvalidInputError);
            expect((error as Error).message).toMatch(/^flipped\.tif: /);
          }
        }),
        { numRuns: 200, seed: 5 },
      );
    });
  });

  it('reads BigTIFF zstd and float stacks from a file through readVideo and probeVideo', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'video-bigtiff-'));
    try {
      const big = path.join(dir, 'big.tif');
      await writeFile(big, Buffer.from(fixtures['bigtiff-zstd16-be-tiled']!, 'base64'));
      expect(await probeVideo(big)).toEqual({ frameCount: 2, width: 24, height: 20, bitDepth: 16, kind: 'tiff-stack', source: big });
      const second = await readVideo(big, { frames: { first: 2, last: 2 } });
      expect(second).toMatchObject({ bitDepth: 16, frameNames: ['page 2'], firstFrame: 2, totalFrames: 2 });
      expect(Array.from(second.volume.data)).toEqual(grey16(1));
      const floats = path.join(dir, 'float.tif');
      await writeFile(floats, Buffer.from(fixtures['float32-bigtiff-zstd-tiled']!, 'base64'));
      expect((await probeVideo(floats)).bitDepth).toBe(16);
      expect(Array.from((await readVideo(floats)).volume.data)).toEqual(rescaled.flat());
      // Over one frame the range is that frame's own: its smallest value becomes 0.
      expect(Math.min(...(await readVideo(floats, { frames: { first: 2, last: 2 } })).volume.data)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('decodes 64x64 16-bit noise whose LZW codes reach 12 bits', async () => {
    let state = 2463534242;
    const noise = Array.from({ length: 64 * 64 }, () => {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      return state & 0xffff;
    });
    const [frame] = await decodeTiff(new Uint8Array(Buffer.from(fixtures['lzw16-noise-be']!, 'base64')));
    expect(Array.from(frame!.data)).toEqual(noise);
  });
});

describe('hand-assembled TIFFs', () => {
  it('reads big-endian 8-bit PackBits strips', async () => {
    // 4x3, rows per strip 2: strip 1 = rows 0-1, strip 2 = row 2.
    const tiff = buildTiff(
      [
        {
          entries: greyEntries(4, 3, 2, [[259, 3, [32773]]]),
          // Strip 1: -7 repeats 9 eight times, filling the strip; the literal 200 after it is surplus.
          // Strip 2: 3 copies the next four bytes literally.
          chunks: [Uint8Array.of(0xf9, 9, 0x00, 200), Uint8Array.of(0x03, 1, 2, 3, 4)],
        },
      ],
      false,
    );
    expect(Array.from((await decodeTiff(tiff, 'pb.tif'))[0]!.data)).toEqual([9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 4]);
  });

  it.each([true, false])('reads 16-bit LZW with the horizontal predictor (little endian %p)', async (littleEndian) => {
    const width = 5;
    const height = 4;
    const values = Array.from({ length: width * height }, (_, i) => (i * 9001 + 40000) % 65536);
    const differenced = values.map((v, i) => (i % width === 0 ? v : (v - values[i - 1]! + 65536) % 65536));
    const chunks = [0, 2].map((y0) => lzwEncode(bytes16(differenced.slice(y0 * width, (y0 + 2) * width), littleEndian)));
    const tiff = buildTiff(
      [
        {
          entries: greyEntries(
            width,
            height,
            2,
            [
              [259, 3, [5]],
              [317, 3, [2]],
            ],
            16,
          ),
          chunks,
        },
      ],
      littleEndian,
    );
    const [frame] = await decodeTiff(tiff);
    expect(frame!.bitDepth).toBe(16);
    expect(Array.from(frame!.data)).toEqual(values);
  });

  it('reads 2x2 tiles of a 3x3 page, dropping the padding past the edge', async () => {
    // Tiles in row-major order; each is stored whole, 0xee padding where it passes the image edge.
    const tiles = [Uint8Array.of(1, 2, 4, 5), Uint8Array.of(3, 0xee, 6, 0xee), Uint8Array.of(7, 8, 0xee, 0xee), Uint8Array.of(9, 0xee, 0xee, 0xee)];
    const entries: EntrySpec[] = [
      [256, 4, [3]],
      [257, 4, [3]],
      [258, 3, [8]],
      [262, 3, [1]],
      [322, 4, [2]],
      [323, 4, [2]],
    ];
    expect(Array.from((await decodeTiff(buildTiff([{ entries, chunks: tiles, tiled: true }])))[0]!.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('reads Deflate (32946) and inverts WhiteIsZero', async () => {
    const tiff = buildTiff([
      {
        entries: greyEntries(3, 1, 1, [
          [259, 3, [32946]],
          [262, 3, [0]],
        ]),
        chunks: [new Uint8Array(deflateSync(Uint8Array.of(0, 10, 255)))],
      },
    ]);
    expect(Array.from((await decodeTiff(tiff))[0]!.data)).toEqual([255, 245, 0]);
  });

  it('reads RGB with equal channels as grey and names the page and pixel where channels differ', async () => {
    const rgbEntries = (): EntrySpec[] => [
      [256, 4, [2]],
      [257, 4, [2]],
      [258, 3, [8, 8, 8]],
      [259, 3, [1]],
      [262, 3, [2]],
      [277, 3, [3]],
      [278, 4, [2]],
    ];
    const equal = Uint8Array.of(1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4);
    const unequal = Uint8Array.of(1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 5, 4);
    const good = buildTiff([{ entries: rgbEntries(), chunks: [equal] }]);
    expect(Array.from((await decodeTiff(good, 'rgb.tif'))[0]!.data)).toEqual([1, 2, 3, 4]);
    const bad = buildTiff([
      { entries: rgbEntries(), chunks: [equal] },
      { entries: rgbEntries(), chunks: [unequal] },
    ]);
    await expect(decodeTiff(bad, 'colour.tif')).rejects.toThrow(InvalidInputError);
    await expect(decodeTiff(bad, 'colour.tif')).rejects.toThrow(/colour\.tif: page 2: colour channels differ at pixel \(x=1, y=1\)/);
  });

  it('skips reduced-resolution pages (thumbnails)', async () => {
    const tiff = buildTiff([
      { entries: greyEntries(1, 1, 1, [[254, 4, [1]]]), chunks: [Uint8Array.of(99)] },
      { entries: greyEntries(2, 1, 1), chunks: [Uint8Array.of(5, 6)] },
    ]);
    expect((await decodeTiff(tiff)).map((f) => Array.from(f.data))).toEqual([[5, 6]]);
  });

  it.each<[string, EntrySpec[], RegExp]>([
    [
      'float 64-bit samples',
      [
        [258, 3, [64]],
        [339, 3, [3]],
      ],
      /64-bit floating-point samples are not supported/,
    ],
    [
      'float 16-bit samples',
      [
        [258, 3, [16]],
        [339, 3, [3]],
      ],
      /floating-point samples/,
    ],
    ['12-bit samples', [[258, 3, [12]]], /12-bit samples; only 8- and 16-bit/],
    ['a palette', [[262, 3, [3]]], /palette/],
    ['JPEG', [[259, 3, [7]]], /compression 7 \(JPEG\)/],
    ['planar configuration 3', [[284, 3, [3]]], /planar configuration 3/],
    [
      'the floating-point predictor',
      [
        [259, 3, [5]],
        [317, 3, [3]],
      ],
      /floating-point predictor/,
    ],
    ['a corrupt width', [[256, 4, [0x7fffffff]]], /exceeds 1048576 pixels a side/],
  ])('refuses %s, naming the file and page', async (_what, extra, message) => {
    const tiff = buildTiff([{ entries: greyEntries(2, 2, 2, extra), chunks: [new Uint8Array(8)] }]);
    await expect(decodeTiff(tiff, 'odd.tif')).rejects.toThrow(InvalidInputError);
    await expect(decodeTiff(tiff, 'odd.tif')).rejects.toThrow(/^odd\.tif: page 1: /);
    await expect(decodeTiff(tiff, 'odd.tif')).rejects.toThrow(message);
  });

  it('refuses pages of differing size, naming the first one that differs', async () => {
    const tiff = buildTiff([
      { entries: greyEntries(2, 1, 1), chunks: [Uint8Array.of(1, 2)] },
      { entries: greyEntries(2, 1, 1), chunks: [Uint8Array.of(3, 4)] },
      { entries: greyEntries(1, 2, 2), chunks: [Uint8Array.of(5, 6)] },
    ]);
    await expect(decodeTiff(tiff, 'mixed.tif')).rejects.toThrow(/mixed\.tif: page 3 is 1x2 but page 1 is 2x1/);
  });

  it('refuses a file with zero pages, a loop of IFDs, and a strip past the end', async () => {
    await expect(decodeTiff(Uint8Array.of(0x49, 0x49, 42, 0, 0, 0, 0, 0), 'empty.tif')).rejects.toThrow(/empty\.tif: TIFF has no pages/);
    const one = buildTiff([{ entries: greyEntries(2, 1, 1), chunks: [Uint8Array.of(1, 2)] }]);
    const loop = one.slice();
    const view = new DataView(loop.buffer);
    const ifdAt = view.getUint32(4, true);
    const count = view.getUint16(ifdAt, true);
    view.setUint32(ifdAt + 2 + count * 12, ifdAt, true);
    await expect(decodeTiff(loop, 'loop.tif')).rejects.toThrow(/loops back/);
    const shortStrip = buildTiff([{ entries: greyEntries(4, 1, 1), chunks: [Uint8Array.of(1, 2)] }]);
    await expect(decodeTiff(shortStrip, 'short.tif')).rejects.toThrow(/short\.tif: page 1: strip 1: uncompressed data holds 2 of 4 bytes/);
  });
});

describe('truncated and corrupt TIFFs', () => {
  const pages = [0, 1].map((p) => ({ width: 6, height: 5, data: Uint16Array.from({ length: 30 }, (_, i) => i * 1000 + p) }));
  const sample = encodeTiff(pages, { compression: 'deflate', rowsPerStrip: 2, predictor: true });
  const plain = encodeTiff(pages, { byteOrder: 'big', rowsPerStrip: 2 });

  it('raises InvalidInputError for every truncation, never reading past the buffer', async () => {
    // Uncompressed 16-bit strips have even lengths: every byte of the file is needed.
    for (let length = 0; length < plain.length; length++) {
      await expect(decodeTiff(plain.subarray(0, length), 'cut.tif')).rejects.toThrow(InvalidInputError);
    }
    // A deflated strip may end on an odd byte followed by one byte of word-alignment padding.
    for (let length = 0; length < sample.length - 1; length++) {
      await expect(decodeTiff(sample.subarray(0, length), 'cut.tif')).rejects.toThrow(InvalidInputError);
    }
    await expect(decodeTiff(sample.subarray(0, 100), 'cut.tif')).rejects.toThrow(/^cut\.tif: /);
  });

  it('either decodes or raises InvalidInputError when bytes are flipped', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(sample.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), async (flips) => {
        const corrupt = sample.slice();
        for (const [at, mask] of flips) corrupt[at] = corrupt[at]! ^ mask;
        try {
          await decodeTiff(corrupt, 'flipped.tif');
        } catch (error: unknown) {
          expect(error).toBeInstanceOf(InvalidInputError);
        }
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});
