import { cetres, cetresFixture, describeWithSharedData } from '@mitosis/testing';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError, NotFoundError, parseFrameRange } from '@mitosis/core';
import { encodePng } from './png';
import { readOmeZarr } from './ome-zarr';
import { naturalCompare, probeVideo, readVideo } from './read-video';
import { Tag } from './tiff-format';
import { bufferSource, readTiffStructure, tagValues } from './tiff-reader';
import { encodeTiff } from './tiff-writer';

const FIXTURE_FRAMES = cetresFixture.frames();

function frame8(width: number, height: number, value: number): Uint8Array {
  return new Uint8Array(width * height).map((_, i) => (value + i) % 256);
}

describe('naturalCompare', () => {
  it('orders frame numbers numerically, whatever the padding, and breaks ties lexically', () => {
    const names = ['t10.png', 't2.png', 't1.png', 't100.png', 't01.png', 'a9.png', 't2b.png', 'T3.png'];
    expect([...names].sort(naturalCompare)).toEqual(['T3.png', 'a9.png', 't01.png', 't1.png', 't2.png', 't2b.png', 't10.png', 't100.png']);
    expect(naturalCompare('f_9_z', 'f_10_a')).toBeLessThan(0);
    expect(naturalCompare('x123456789012345678901', 'x99')).toBeGreaterThan(0);
    expect(naturalCompare('same', 'same')).toBe(0);
  });
});

describe('readVideo and probeVideo', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'video-read-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function folderOf(frames: Array<[name: string, bytes: Uint8Array]>): Promise<string> {
    const folder = path.join(dir, 'frames');
    await mkdir(folder, { recursive: true });
    for (const [name, bytes] of frames) await writeFile(path.join(folder, name), bytes);
    return folder;
  }

  it('reads a folder of PNG and TIFF frames in natural order, ignoring other files', async () => {
    const folder = await folderOf([
      ['t10.png', encodePng(frame8(3, 2, 100), 3, 2, 8)],
      ['t2.tif', encodeTiff([{ width: 3, height: 2, data: frame8(3, 2, 20) }])],
      ['t1.png', encodePng(frame8(3, 2, 10), 3, 2, 8)],
      ['notes.txt', new TextEncoder().encode('not a frame')],
      ['.t0.png', new Uint8Array(3)],
    ]);
    const video = await readVideo(folder);
    expect(video).toMatchObject({ kind: 'frame-folder', bitDepth: 8, source: folder, frameNames: ['t1.png', 't2.tif', 't10.png'], firstFrame: 1 });
    expect(video.volume).toMatchObject({ frames: 3, width: 3, height: 2 });
    expect(Array.from(video.volume.data.subarray(0, 6))).toEqual(Array.from(frame8(3, 2, 10)));
    expect(Array.from(video.volume.data.subarray(6, 12))).toEqual(Array.from(frame8(3, 2, 20)));
    expect(await probeVideo(folder)).toEqual({ frameCount: 3, width: 3, height: 2, bitDepth: 8, kind: 'frame-folder', source: folder });
  });

  it('decodes only the frames of a range: a corrupt frame outside it is never decoded', async () => {
    const good = (v: number): Uint8Array => encodePng(frame8(2, 2, v), 2, 2, 8);
    const corrupt = good(0).slice(0, 40); // valid header, truncated pixels
    const folder = await folderOf([
      ['f1.png', good(1)],
      ['f2.png', good(2)],
      ['f3.png', good(3)],
      ['f4.png', corrupt],
    ]);
    const video = await readVideo(folder, { frames: parseFrameRange('2:3') });
    expect(video.frameNames).toEqual(['f2.png', 'f3.png']);
    expect(video.firstFrame).toBe(2);
    expect(Array.from(video.volume.data)).toEqual([...frame8(2, 2, 2), ...frame8(2, 2, 3)]);
    await expect(readVideo(folder)).rejects.toThrow(/f4\.png: corrupt or truncated PNG/);
    await expect(readVideo(folder, { frames: { first: 3, last: 5 } })).rejects.toThrow(/ends after the last frame \(4\)/);
    await expect(readVideo(folder, { frames: { first: 0, last: 2 } })).rejects.toThrow(InvalidInputError);
  });

  it('reads a multi-page 16-bit TIFF stack and a range of its pages', async () => {
    const pages = [0, 1, 2, 3].map((p) => ({ width: 4, height: 3, data: Uint16Array.from({ length: 12 }, (_, i) => p * 1000 + i) }));
    const file = path.join(dir, 'stack.tif');
    await writeFile(file, encodeTiff(pages, { compression: 'deflate' }));
    const all = await readVideo(file);
    expect(all).toMatchObject({ kind: 'tiff-stack', bitDepth: 16, frameNames: ['page 1', 'page 2', 'page 3', 'page 4'], totalFrames: 4 });
    expect(all.volume.data).toBeInstanceOf(Uint16Array);
    const some = await readVideo(file, { frames: { first: 3, last: 4 } });
    expect(some.frameNames).toEqual(['page 3', 'page 4']);
    expect(Array.from(some.volume.data)).toEqual([...pages[2]!.data, ...pages[3]!.data]);
    expect(await probeVideo(file)).toEqual({ frameCount: 4, width: 4, height: 3, bitDepth: 16, kind: 'tiff-stack', source: file });
  });

  it('names the first frame whose size or bit depth differs', async () => {
    const sizes = await folderOf([
      ['a1.png', encodePng(frame8(2, 2, 0), 2, 2, 8)],
      ['a2.png', encodePng(frame8(2, 2, 0), 2, 2, 8)],
      ['a3.png', encodePng(frame8(3, 2, 0), 3, 2, 8)],
      ['a4.png', encodePng(frame8(4, 2, 0), 4, 2, 8)],
    ]);
    await expect(readVideo(sizes)).rejects.toThrow(/a3\.png \(frame 3\) is 3x2 but a1\.png is 2x2/);
    await expect(probeVideo(sizes)).rejects.toThrow(InvalidInputError);
    await rm(sizes, { recursive: true });
    const depths = await folderOf([
      ['b1.png', encodePng(frame8(2, 2, 0), 2, 2, 8)],
      ['b2.png', encodePng(new Uint16Array(4), 2, 2, 16)],
    ]);
    await expect(readVideo(depths)).rejects.toThrow(/b2\.png \(frame 2\) is 16-bit but b1\.png is 8-bit/);
  });

  it('raises NotFoundError for a missing path and InvalidInputError for empty or foreign input', async () => {
    await expect(readVideo(path.join(dir, 'nope'))).rejects.toThrow(NotFoundError);
    await expect(probeVideo(path.join(dir, 'nope', 'deeper.tif'))).rejects.toThrow(NotFoundError);
    const empty = await folderOf([['readme.txt', new Uint8Array(1)]]);
    await expect(readVideo(empty)).rejects.toThrow(/holds no PNG or TIFF frames/);
    const emptyFile = path.join(dir, 'empty.tif');
    await writeFile(emptyFile, new Uint8Array(0));
    await expect(readVideo(emptyFile)).rejects.toThrow(/empty file/);
    const noPages = path.join(dir, 'nopages.tif');
    await writeFile(noPages, Uint8Array.of(0x49, 0x49, 42, 0, 0, 0, 0, 0));
    await expect(probeVideo(noPages)).rejects.toThrow(/TIFF has no pages/);
    const png = path.join(dir, 'single.png');
    await writeFile(png, encodePng(frame8(2, 2, 0), 2, 2, 8));
    await expect(readVideo(png)).rejects.toThrow(/a single PNG is not a video/);
    const fake = await folderOf([['x1.png', new TextEncoder().encode('hello, not a png at all, sorry')]]);
    await expect(probeVideo(fake)).rejects.toThrow(/x1\.png: neither PNG nor TIFF/);
  });

  it('refuses a TIFF frame file with several pages inside a frame folder', async () => {
    const folder = await folderOf([['s1.tif', encodeTiff([0, 1].map(() => ({ width: 2, height: 1, data: Uint8Array.of(1, 2) })))]]);
    await expect(readVideo(folder)).rejects.toThrow(/s1\.tif: TIFF frame file holds 2 pages/);
  });

  it('reads an OME-Zarr folder as one video, a channel by name, not as a folder of frames', async () => {
    const store = path.join(__dirname, '__fixtures__', 'ome-zarr', 'v04-tczyx-uint16.zarr');
    const info = await probeVideo(store, { channel: 'GFP' });
    expect(info).toMatchObject({ kind: 'ome-zarr', frameCount: 5, width: 20, height: 24, bitDepth: 16, channels: ['phase', 'GFP'], channel: 1 });
    expect(info.physical).toEqual({ pixelSizeUm: { y: 0.65, x: 0.65 }, frameIntervalS: 30 });
    const video = await readVideo(store, { channel: 'GFP', frames: { first: 2, last: 4 } });
    const direct = await readOmeZarr(store, { channel: 1, frames: { first: 2, last: 4 } });
    expect(video).toMatchObject({ kind: 'ome-zarr', firstFrame: 2, totalFrames: 5, channel: 1 });
    expect(Array.from(video.volume.data)).toEqual(Array.from(direct.volume.data));
    await expect(readVideo(store, { channel: 'DAPI' })).rejects.toThrow(/no channel named "DAPI"; channels are 0: phase, 1: GFP/);
  });

  describe('OME-TIFF and ImageJ hyperstacks (written by python3-tifffile)', () => {
    const fixture = (name: string): string => path.join(__dirname, '__fixtures__', 'ome-tiff', name);
    // The formula of make-ome-tiff-fixtures.py, 24x20 pixels a plane.
    const plane = (t: number, c: number, z: number, bits: 8 | 16): number[] =>
      Array.from({ length: 20 * 24 }, (_, i) => ((t * 1000 + c * 10000 + z * 300 + Math.floor(i / 24) * 37 + (i % 24) * 11) % 65536) % (bits === 8 ? 256 : 65536));
    const frames = (ts: number[], c: number, z: number, bits: 8 | 16 = 16): number[] => ts.flatMap((t) => plane(t, c, z, bits));

    /** A copy of a fixture with `from` replaced by `to` (same length: offsets stay valid). */
    async function patched(name: string, from: string | RegExp, to: (match: string) => string): Promise<string> {
      const bytes = Buffer.from(await readFile(fixture(name)));
      const text = bytes.toString('latin1');
      const match = typeof from === 'string' ? text.indexOf(from) : text.search(from);
      const found = typeof from === 'string' ? from : (text.match(from) ?? [''])[0];
      expect(match).toBeGreaterThanOrEqual(0);
      const replacement = Buffer.from(to(found), 'latin1');
      expect(replacement.length).toBe(found.length);
      replacement.copy(bytes, match);
      const file = path.join(dir, `patched-${name}`);
      await writeFile(file, bytes);
      return file;
    }

    it('reads one channel of an OME-TIFF by name or index, in µm and s', async () => {
      const file = fixture('t4-c2-uint16.ome.tif');
      const info = await probeVideo(file);
      expect(info).toEqual({
        frameCount: 4,
        width: 24,
        height: 20,
        bitDepth: 16,
        kind: 'tiff-stack',
        source: file,
        channels: ['phase', 'GFP'],
        channel: 0,
        physical: { pixelSizeUm: { y: 0.65, x: 0.65 }, frameIntervalS: 300 },
      });
      const phase = await readVideo(file);
      expect(phase).toMatchObject({ bitDepth: 16, channels: ['phase', 'GFP'], channel: 0, totalFrames: 4, firstFrame: 1 });
      // DimensionOrder XYZCT: channel fastest, so phase is on the odd pages.
      expect(phase.frameNames).toEqual(['page 1', 'page 3', 'page 5', 'page 7']);
      expect(Array.from(phase.volume.data)).toEqual(frames([0, 1, 2, 3], 0, 0));
      const gfp = await readVideo(file, { channel: 'GFP', frames: { first: 2, last: 3 } });
      expect(gfp).toMatchObject({ channel: 1, firstFrame: 2, totalFrames: 4, frameNames: ['page 4', 'page 6'], physical: info.physical });
      expect(gfp.volume).toMatchObject({ frames: 2, width: 24, height: 20 });
      expect(Array.from(gfp.volume.data)).toEqual(frames([1, 2], 1, 0));
      expect(Array.from((await readVideo(file, { channel: 1, frames: { first: 2, last: 3 } })).volume.data)).toEqual(Array.from(gfp.volume.data));
      expect(Array.from((await readVideo(file, { channel: '1' })).volume.data)).toEqual(frames([0, 1, 2, 3], 1, 0));
      await expect(readVideo(file, { channel: 'DAPI' })).rejects.toThrow(InvalidInputError);
      await expect(probeVideo(file, { channel: 'DAPI' })).rejects.toThrow(/t4-c2-uint16\.ome\.tif: no channel named "DAPI"; channels are 0: phase, 1: GFP/);
      await expect(readVideo(file, { channel: 2 })).rejects.toThrow(/no channel 2; channels are 0: phase, 1: GFP/);
      await expect(readVideo(file, { frames: { first: 4, last: 5 } })).rejects.toThrow(/ends after the last frame \(4\)/);
    });

    it('reads the middle z slice of a Z=3 OME-TIFF and decodes only the pages of its channel', async () => {
      const file = fixture('t2-c2-z3-uint16.ome.tif');
      const info = await probeVideo(file, { channel: 'phase' });
      expect(info).toMatchObject({ frameCount: 2, channels: ['DAPI', 'phase'], channel: 1, physical: { pixelSizeUm: { y: 0.7, x: 0.65 }, frameIntervalS: 1.5 } });
      // DimensionOrder XYZTC: z fastest, then t, then channel.
      const phase = await readVideo(file, { channel: 'phase' });
      expect(phase.frameNames).toEqual(['page 8', 'page 11']);
      expect(Array.from(phase.volume.data)).toEqual(frames([0, 1], 1, 1));
      expect(Array.from((await readVideo(file)).volume.data)).toEqual(frames([0, 1], 0, 1));

      // Garbage in the Deflate strip of page 8 (phase, first time point, middle slice): DAPI still reads, phase is refused.
      const tiff = await readTiffStructure(bufferSource(new Uint8Array(await readFile(file)), file));
      const offset = tagValues(tiff.ifds[7], Tag.StripOffsets) ?? [];
      const bytes = new Uint8Array(await readFile(file));
      bytes.fill(0xff, offset[0], offset[0] + 16);
      const broken = path.join(dir, 'broken-strip.ome.tif');
      await writeFile(broken, bytes);
      expect(Array.from((await readVideo(broken, { channel: 'DAPI' })).volume.data)).toEqual(frames([0, 1], 0, 1));
      await expect(readVideo(broken, { channel: 'phase' })).rejects.toThrow(/broken-strip\.ome\.tif: page 8: strip 1/);
    });

    it('reads an ImageJ hyperstack (CZT order) and a plain ImageJ stack', async () => {
      const file = fixture('imagej-t3-c2-uint8.tif');
      const second = await readVideo(file, { channel: 1 });
      expect(second).toMatchObject({ bitDepth: 8, channels: ['0', '1'], channel: 1, totalFrames: 3, frameNames: ['page 2', 'page 4', 'page 6'] });
      expect(second.physical).toEqual({ pixelSizeUm: { y: 0.5, x: 0.5 }, frameIntervalS: 2.5 });
      expect(Array.from(second.volume.data)).toEqual(frames([0, 1, 2], 1, 0, 8));
      const first = await readVideo(file, { frames: { first: 3, last: 3 } });
      expect(first.frameNames).toEqual(['page 5']);
      expect(Array.from(first.volume.data)).toEqual(frames([2], 0, 0, 8));
      await expect(readVideo(file, { channel: 'GFP' })).rejects.toThrow(/no channel named "GFP"; channels are 0: 0, 1: 1/);

      const plain = fixture('imagej-plain-uint16.tif');
      const info = await probeVideo(plain);
      expect(info).toEqual({ frameCount: 3, width: 24, height: 20, bitDepth: 16, kind: 'tiff-stack', source: plain, physical: { pixelSizeUm: { y: 0.25, x: 0.25 } } });
      expect(Array.from((await readVideo(plain)).volume.data)).toEqual(frames([0, 1, 2], 0, 0));
    });

    it('refuses truncated OME-XML and sizes that disagree with the pages, naming the file', async () => {
      const truncated = await patched('t4-c2-uint16.ome.tif', /<\/Channel><TiffData[^>]*><\/Pixels><\/Image><\/OME>/, (found) => '\0'.repeat(found.length));
      await expect(probeVideo(truncated)).rejects.toThrow(InvalidInputError);
      await expect(readVideo(truncated)).rejects.toThrow(/patched-t4-c2-uint16\.ome\.tif: OME-XML is not well-formed .*truncated or corrupt OME-TIFF/);
      const sizeT = await patched('t4-c2-uint16.ome.tif', 'SizeT="4"', () => 'SizeT="5"');
      await expect(readVideo(sizeT)).rejects.toThrow(InvalidInputError);
      await expect(probeVideo(sizeT)).rejects.toThrow(/patched-t4-c2-uint16\.ome\.tif: OME-XML describes SizeT 5 x SizeC 2 x SizeZ 1 = 10 planes but the file has 8 pages/);
      const frames3 = await patched('imagej-t3-c2-uint8.tif', 'frames=3', () => 'frames=4');
      await expect(readVideo(frames3)).rejects.toThrow(/patched-imagej-t3-c2-uint8\.tif: ImageJ description says channels 2 x slices 1 x frames 4 but images=6/);
    });
  });

  it('probes the shipped cut of the real CeTReS.B frames from their headers', async () => {
    const info = await probeVideo(FIXTURE_FRAMES);
    expect(info).toEqual({ frameCount: 4, width: 512, height: 384, bitDepth: 8, kind: 'frame-folder', source: FIXTURE_FRAMES });
  });

  it('reads two real CeTReS.B frames', async () => {
    const video = await readVideo(FIXTURE_FRAMES, { frames: { first: 3, last: 4 } });
    expect(video.frameNames).toEqual(['t100.png', 't101.png']);
    expect(video.volume).toMatchObject({ frames: 2, width: 512, height: 384 });
    const { data } = video.volume;
    let min = 255;
    let max = 0;
    for (let i = 0; i < data.length; i++) {
      if (data[i]! < min) min = data[i]!;
      if (data[i]! > max) max = data[i]!;
    }
    expect(max - min).toBeGreaterThan(50); // a real phase-contrast frame, not a blank one
  });
});

describeWithSharedData('probeVideo on the full CeTReS.B frames', cetres.framesParts, (frames) => {
  it('probes all 200 frames from their headers alone, quickly', async () => {
    const started = Date.now();
    const info = await probeVideo(frames);
    expect(info).toEqual({ frameCount: 200, width: 1376, height: 1038, bitDepth: 8, kind: 'frame-folder', source: frames });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
