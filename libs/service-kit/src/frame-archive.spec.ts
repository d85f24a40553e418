import { InvalidInputError } from '@mitosis/core';
import { detectSourceFormat, readFrameArchive, writeFrameArchive } from './frame-archive';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describe('detectSourceFormat', () => {
  it('knows TIFF (both byte orders, BigTIFF) and tar by their magic', () => {
    expect(detectSourceFormat(bytes(0x49, 0x49, 42, 0, 8, 0, 0, 0), 's')).toBe('tiff');
    expect(detectSourceFormat(bytes(0x4d, 0x4d, 0, 42), 's')).toBe('tiff');
    expect(detectSourceFormat(bytes(0x49, 0x49, 43, 0), 's')).toBe('tiff');
    expect(detectSourceFormat(writeFrameArchive([{ name: 'a.png', data: bytes(1) }]), 's')).toBe('frame-archive');
  });

  it('names the source and the first bytes of anything else', () => {
    expect(() => detectSourceFormat(new TextEncoder().encode('GIF89a..'), 'videos/v/source')).toThrow(
      'videos/v/source: not a multi-page TIFF nor a tar archive of frames (starts with bytes 47 49 46 38 39 61 2e 2e)',
    );
    expect(() => detectSourceFormat(new Uint8Array(0), 'videos/v/source')).toThrow('videos/v/source: empty file');
  });
});

describe('readFrameArchive', () => {
  const frames = [
    { name: 'frame-2.png', data: bytes(2, 2) },
    { name: 'frame-10.tif', data: new Uint8Array(700).fill(10) },
    { name: 'notes.txt', data: bytes(9) },
    { name: '._frame-3.png', data: bytes(3) },
  ];

  it('reads back the frame files, skipping other and hidden files', () => {
    const out = readFrameArchive(writeFrameArchive(frames), 'src');
    expect(out.map((f) => f.name)).toEqual(['frame-2.png', 'frame-10.tif']);
    expect(Array.from(out[0]?.data ?? [])).toEqual([2, 2]);
    expect(out[1]?.data.length).toBe(700);
  });

  it('refuses corrupt, truncated, ambiguous and frameless archives', () => {
    const archive = writeFrameArchive(frames);
    const corrupt = archive.slice();
    corrupt[3] = 0x41; // a name byte: the header checksum no longer matches
    expect(() => readFrameArchive(corrupt, 'src')).toThrow('src: tar entry at byte 0: header checksum mismatch (corrupt archive)');
    expect(() => readFrameArchive(archive.subarray(0, 1536), 'src')).toThrow('src: tar entry at byte 1024: 700 bytes of content run past the end');
    expect(() => readFrameArchive(archive.subarray(0, 1024), 'src')).toThrow('src: the tar archive ends at byte 1024 without its end marker (truncated upload?)');
    expect(() => readFrameArchive(writeFrameArchive([frames[0]!, frames[0]!]), 'src')).toThrow('src: two frames named frame-2.png');
    expect(() => readFrameArchive(writeFrameArchive([frames[2]!]), 'src')).toThrow(InvalidInputError);
  });
});
