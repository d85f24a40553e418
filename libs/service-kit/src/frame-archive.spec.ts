import { InvalidInputError } from '@mitosis/core';
import { detectSourceFormat, readFrameArchive, writeFrameArchive } from './frame-archive';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describe('detectSourceFormat', () => {
  it('knows TIFF (both byte orders, BigTIFF) and tar by their magic', async () => {
    expect(detectSourceFormat(bytes(0x49, 0x49, 42, 0, 8, 0, 0, 0), 's')).toBe('tiff');
    expect(detectSourceFormat(bytes(0x4d, 0x4d, 0, 42), 's')).toBe('tiff');
    expect(detectSourceFormat(bytes(0x49, 0x49, 43, 0), 's')).toBe('tiff');
    expect(detectSourceFormat(await writeFrameArchive([{ name: 'a.png', data: bytes(1) }]), 's')).toBe('frame-archive');
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

  it('reads back the frame files, skipping other and hidden files', async () => {
    const out = await readFrameArchive(await writeFrameArchive(frames), 'src');
    expect(out.map((f) => f.name)).toEqual(['frame-2.png', 'frame-10.tif']);
    expect(Array.from(out[0]?.data ?? [])).toEqual([2, 2]);
    expect(out[1]?.data.length).toBe(700);
  });

  it('takes the base name of frames in folders, also past the 100 characters of a ustar name (pax path)', async () => {
    const deep = `${'folder/'.repeat(20)}frame-1.png`;
    const out = await readFrameArchive(await writeFrameArchive([{ name: deep, data: bytes(7) }, frames[0]!]), 'src');
    expect(out.map((f) => [f.name, Array.from(f.data)])).toEqual([
      ['frame-1.png', [7]],
      ['frame-2.png', [2, 2]],
    ]);
  });

  it('refuses corrupt, truncated, ambiguous and frameless archives', async () => {
    const archive = await writeFrameArchive(frames);
    const corrupt = archive.slice();
    corrupt[3] = 0x41; // a name byte: the header checksum no longer matches
    await expect(readFrameArchive(corrupt, 'src')).rejects.toThrow('src: tar entry at byte 0: header checksum mismatch (corrupt archive)');
    const second = archive.slice();
    second[1024 + 3] = 0x41; // the second entry's header
    await expect(readFrameArchive(second, 'src')).rejects.toThrow('src: tar entry at byte 1024: header checksum mismatch (corrupt archive)');
    await expect(readFrameArchive(archive.subarray(0, 1536), 'src')).rejects.toThrow('src: tar entry at byte 1024: 700 bytes of content run past the end');
    await expect(readFrameArchive(archive.subarray(0, 1024), 'src')).rejects.toThrow('src: the tar archive ends at byte 1024 without its end marker (truncated upload?)');
    await expect(readFrameArchive(archive.subarray(0, 1200), 'src')).rejects.toThrow('src: tar entry at byte 1024: the tar archive is cut inside a header (truncated upload?)');
    await expect(readFrameArchive(await writeFrameArchive([frames[0]!, frames[0]!]), 'src')).rejects.toThrow('src: two frames named frame-2.png');
    await expect(readFrameArchive(await writeFrameArchive([frames[2]!]), 'src')).rejects.toThrow(InvalidInputError);
  });
});
