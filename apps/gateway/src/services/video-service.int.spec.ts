import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { VideoFormat } from '@mitosis/proto';
import { writeFrameArchive } from '@mitosis/service-kit';
import { encodePng } from '@mitosis/video';
import { call, gatewayForSpec, sha256, syntheticTiff, upload } from '../testing/harness';

/** A tar of `count` grey 8-bit PNG frames of 20x16 (frame i filled with the value 10 i). */
function pngArchive(count: number, corrupt?: number): Promise<Uint8Array> {
  const frames = [];
  for (let i = 1; i <= count; i++) {
    let data = encodePng(new Uint8Array(20 * 16).fill(10 * i), 20, 16, 8);
    if (i === corrupt) data = data.subarray(0, data.length - 30);
    frames.push({ name: `t${i}.png`, data });
  }
  return writeFrameArchive(frames);
}

const LIMIT = 256 * 1024;

/** A TIFF written by libtiff's tiffcp, from the reader's committed fixtures (base64 by name). */
function libtiffFixture(name: string): Uint8Array {
  const file = path.join(__dirname, '..', '..', '..', '..', 'libs', 'video', 'src', '__fixtures__', 'libtiff-fixtures.json');
  const fixtures = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  return new Uint8Array(Buffer.from(fixtures[name] ?? '', 'base64'));
}

const gateway = gatewayForSpec({ maxUploadBytes: LIMIT });

/** Runs `act`, expects it to fail with `code`, and checks that neither the bucket nor the staging folder changed. */
async function expectRefused(act: () => Promise<unknown>, code: status, message: RegExp): Promise<void> {
  const before = await gateway.keys();
  await expect(act()).rejects.toMatchObject({ code, details: expect.stringMatching(message) });
  expect(await gateway.keys()).toEqual(before);
  expect(await gateway.staged()).toEqual([]);
}

describe('VideoService.UploadVideo', () => {
  it('stores a synthetic TIFF stack and returns what the probe read', async () => {
    const tiff = syntheticTiff({ frames: 6, width: 48, height: 40 });
    const before = await gateway.keys();
    const response = await upload(gateway.clients.video, tiff, { filename: 'synthetic.tif', chunkSize: 1000 });
    expect(response.info).toEqual({ frameCount: 6, width: 48, height: 40, bitDepth: 8, channels: [] });
    const id = response.videoId;
    expect(id).toMatch(/^vid-/);
    expect(response.alreadyStored).toBe(false);
    // Exactly the content index entry, the source and the record were added (no staging marker
    // is left); the source holds the bytes sent.
    expect((await gateway.keys()).filter((key) => !before.includes(key))).toEqual([`videos-by-sha256/${sha256(tiff)}.json`, `videos/${id}/source`, `videos/${id}/video.json`]);
    expect(Buffer.from(await gateway.store.get(`videos/${id}/source`)).equals(Buffer.from(tiff))).toBe(true);
    expect(await gateway.staged()).toEqual([]);

    const { video } = await call(gateway.clients.video.getVideo.bind(gateway.clients.video), { videoId: id });
    expect(video).toMatchObject({ videoId: id, filename: 'synthetic.tif', sizeBytes: tiff.length, sha256: sha256(tiff), info: response.info });
    expect(video?.createTime).toBeInstanceOf(Date);
  });

  it('gives the same bytes uploaded again the same video, saying it was already stored', async () => {
    const tiff = syntheticTiff({ frames: 5, seed: 31 });
    const first = await upload(gateway.clients.video, tiff, { filename: 'first.tif' });
    expect(first.alreadyStored).toBe(false);
    const before = await gateway.keys();
    const again = await upload(gateway.clients.video, tiff, { filename: 'retried.tif', chunkSize: 777 });
    expect(again).toEqual({ ...first, alreadyStored: true });
    expect(await gateway.keys()).toEqual(before);
    expect(await gateway.staged()).toEqual([]);
    // The record is the first upload's; other bytes are another video.
    const { video } = await call(gateway.clients.video.getVideo.bind(gateway.clients.video), { videoId: again.videoId });
    expect(video?.filename).toBe('first.tif');
    const other = await upload(gateway.clients.video, syntheticTiff({ frames: 5, seed: 32 }));
    expect(other.videoId).not.toBe(first.videoId);
    expect(other.alreadyStored).toBe(false);
  });

  it('gives two uploads of the same bytes at the same moment one video', async () => {
    const tiff = syntheticTiff({ frames: 5, seed: 33 });
    const before = await gateway.keys();
    const both = await Promise.all([upload(gateway.clients.video, tiff, { filename: 'a.tif' }), upload(gateway.clients.video, tiff, { filename: 'b.tif', chunkSize: 999 })]);
    expect(both[0].videoId).toBe(both[1].videoId);
    expect(both.map((r) => r.alreadyStored).sort()).toEqual([false, true]);
    const added = (await gateway.keys()).filter((key) => !before.includes(key));
    expect(added.filter((key) => key.startsWith('videos/')).sort()).toEqual([`videos/${both[0].videoId}/source`, `videos/${both[0].videoId}/video.json`]);
  });

  it('stores BigTIFF, zstd and 32-bit float TIFFs written by libtiff as it stores classic ones', async () => {
    for (const [name, bitDepth] of [
      ['bigtiff-zstd16-be-tiled', 16],
      ['float32-bigtiff-zstd-tiled', 16],
      ['zstd8', 8],
    ] as const) {
      const response = await upload(gateway.clients.video, libtiffFixture(name), { filename: `${name}.tif` });
      expect(response.info).toEqual({ frameCount: 2, width: 24, height: 20, bitDepth, channels: [] });
    }
    const bigtiff = libtiffFixture('bigtiff-zstd16-be-tiled');
    await expectRefused(
      () => upload(gateway.clients.video, bigtiff.subarray(0, bigtiff.length - 40), { filename: 'cut-bigtiff.tif' }),
      status.INVALID_ARGUMENT,
      /^cut-bigtiff\.tif/,
    );
  });

  it('keeps the pixel size, frame interval and channels an OME-TIFF states', async () => {
    const file = path.join(__dirname, '..', '..', '..', '..', 'libs', 'video', 'src', '__fixtures__', 'ome-tiff', 't4-c2-uint16.ome.tif');
    const response = await upload(gateway.clients.video, new Uint8Array(readFileSync(file)), { filename: 'two-channels.ome.tif' });
    const expected = { frameCount: 4, width: 24, height: 20, bitDepth: 16, pixelSizeXUm: 0.65, pixelSizeYUm: 0.65, frameIntervalS: 300, channels: ['phase', 'GFP'] };
    expect(response.info).toEqual(expected);
    const { video } = await call(gateway.clients.video.getVideo.bind(gateway.clients.video), { videoId: response.videoId });
    expect(video?.info).toEqual(expected);
  });

  it('takes the channel that is the video by name or index; the same bytes as another channel are another video', async () => {
    const file = path.join(__dirname, '..', '..', '..', '..', 'libs', 'video', 'src', '__fixtures__', 'ome-tiff', 't4-c2-uint16.ome.tif');
    const bytes = new Uint8Array(readFileSync(file));
    const gfp = await upload(gateway.clients.video, bytes, { filename: 'gfp.ome.tif', channel: 'GFP' });
    expect(gfp.info).toMatchObject({ channels: ['phase', 'GFP'], channel: 1 });
    expect(gfp.alreadyStored).toBe(false);
    const byIndex = await upload(gateway.clients.video, bytes, { filename: 'again.ome.tif', channel: '1' });
    expect(byIndex).toEqual({ ...gfp, alreadyStored: true });
    // The earlier spec stored these bytes as channel 0: that video is found, not the GFP one.
    const phase = await upload(gateway.clients.video, bytes, { filename: 'phase.ome.tif' });
    expect(phase.videoId).not.toBe(gfp.videoId);
    expect(phase.info?.channel).toBeUndefined();
    await expectRefused(
      () => upload(gateway.clients.video, bytes, { filename: 'dapi.ome.tif', channel: 'DAPI' }),
      status.INVALID_ARGUMENT,
      /dapi\.ome\.tif: no channel named "DAPI"; channels are 0: phase, 1: GFP/,
    );
  });

  it('refuses a corrupt TIFF header with INVALID_ARGUMENT naming the file', async () => {
    const corrupt = new Uint8Array(64);
    corrupt.set([0x49, 0x49, 42, 0, 0xff, 0xff, 0xff, 0x0f]); // II*\0, first IFD far past the end
    await expectRefused(() => upload(gateway.clients.video, corrupt, { filename: 'broken.tif' }), status.INVALID_ARGUMENT, /^broken\.tif/);
  });

  it('refuses a TIFF whose last page lost its pixel data, naming the page', async () => {
    const tiff = syntheticTiff({ frames: 4 });
    // The IFDs of encodeTiff sit before each page's strip: cutting the end truncates page 4's pixels only.
    const cut = tiff.subarray(0, tiff.length - 500);
    await expectRefused(() => upload(gateway.clients.video, cut, { filename: 'cut.tif' }), status.INVALID_ARGUMENT, /cut\.tif.*page 4/);
  });

  it('refuses bytes that are no video at all', async () => {
    const text = new TextEncoder().encode('frame,x,y\n1,2,3\n');
    await expectRefused(() => upload(gateway.clients.video, text, { filename: 'points.csv' }), status.INVALID_ARGUMENT, /^points\.csv: not a multi-page TIFF nor a tar archive/);
  });

  it('stores a tar archive of PNG frames, probed as ingest will read it', async () => {
    const tar = await pngArchive(12);
    const response = await upload(gateway.clients.video, tar, { filename: 'frames.tar' });
    expect(response.info).toEqual({ frameCount: 12, width: 20, height: 16, bitDepth: 8, channels: [] });
    const record = JSON.parse(new TextDecoder().decode(await gateway.store.get(`videos/${response.videoId}/video.json`)));
    expect(record).toMatchObject({ format: 'frame-archive', frameCount: 12, filename: 'frames.tar' });
    expect(await gateway.staged()).toEqual([]);
  });

  it('refuses an archive with a corrupt frame, naming the frame file', async () => {
    const archive = await pngArchive(4, 3);
    await expectRefused(() => upload(gateway.clients.video, archive, { filename: 'frames.tar' }), status.INVALID_ARGUMENT, /frames\.tar\/t3\.png/);
  });

  it('checks the format hints against the bytes, naming the field', async () => {
    const tiff = syntheticTiff({ frames: 6 });
    const withHints = (hints: { format: VideoFormat; frameCount?: number; bitDepth?: number }) => [
      { content: { $case: 'header' as const, value: { filename: 'v.tif', sizeBytes: tiff.length, sha256: sha256(tiff), hints } } },
      { content: { $case: 'chunk' as const, value: Buffer.from(tiff) } },
    ];
    const send = (hints: Parameters<typeof withHints>[0]) => upload(gateway.clients.video, tiff, { messages: withHints(hints) });
    await expectRefused(() => send({ format: VideoFormat.VIDEO_FORMAT_FRAME_ARCHIVE }), status.INVALID_ARGUMENT, /header\.hints\.format says frame-archive but v\.tif is a tiff/);
    await expectRefused(
      () => send({ format: VideoFormat.VIDEO_FORMAT_UNSPECIFIED, frameCount: 7 }),
      status.INVALID_ARGUMENT,
      /header\.hints\.frame_count is 7 but v\.tif holds 6 frames/,
    );
    await expectRefused(() => send({ format: VideoFormat.VIDEO_FORMAT_UNSPECIFIED, bitDepth: 16 }), status.INVALID_ARGUMENT, /header\.hints\.bit_depth is 16/);
    const ok = await send({ format: VideoFormat.VIDEO_FORMAT_MULTIPAGE_TIFF, frameCount: 6, bitDepth: 8 });
    expect(ok.info?.frameCount).toBe(6);
  });

  it('refuses a truncated upload (fewer bytes than declared)', async () => {
    const tiff = syntheticTiff();
    const sent = tiff.subarray(0, 1000);
    await expectRefused(
      () => upload(gateway.clients.video, sent, { sizeBytes: tiff.length, sha256: sha256(tiff) }),
      status.INVALID_ARGUMENT,
      new RegExp(`^truncated upload: got 1000 of ${tiff.length} bytes$`),
    );
  });

  it('refuses more bytes than declared as soon as they arrive', async () => {
    const tiff = syntheticTiff();
    await expectRefused(() => upload(gateway.clients.video, tiff, { sizeBytes: 100 }), status.INVALID_ARGUMENT, /more bytes than its header declares/);
  });

  it('refuses a wrong checksum, naming both digests', async () => {
    const tiff = syntheticTiff();
    const claimed = 'ab'.repeat(32);
    await expectRefused(
      () => upload(gateway.clients.video, tiff, { sha256: claimed }),
      status.INVALID_ARGUMENT,
      new RegExp(`checksum mismatch: the header says sha256 ${claimed} but the received bytes hash to ${sha256(tiff)}`),
    );
  });

  it('refuses an oversized upload on its header with RESOURCE_EXHAUSTED', async () => {
    const tiff = syntheticTiff();
    await expectRefused(
      () => upload(gateway.clients.video, tiff, { sizeBytes: LIMIT + 1 }),
      status.RESOURCE_EXHAUSTED,
      new RegExp(`declares ${LIMIT + 1} bytes.*limit of ${LIMIT}`),
    );
  });

  it('stops an upload that streams past the limit without reading the rest', async () => {
    const big = new Uint8Array(LIMIT + 64 * 1024);
    // Declares exactly the limit (accepted), then sends more: refused at the chunk that crosses it.
    await expectRefused(
      () => upload(gateway.clients.video, big, { sizeBytes: LIMIT, sha256: sha256(big), chunkSize: 32 * 1024 }),
      status.RESOURCE_EXHAUSTED,
      new RegExp(`passed this server's limit of ${LIMIT} bytes`),
    );
  });

  it('refuses a stream that does not start with the header, and a second header', async () => {
    const chunk = { content: { $case: 'chunk' as const, value: Buffer.from([1, 2, 3]) } };
    const header = { content: { $case: 'header' as const, value: { filename: 'a.tif', sizeBytes: 3, sha256: 'a'.repeat(64) } } };
    await expectRefused(() => upload(gateway.clients.video, new Uint8Array(), { messages: [chunk] }), status.INVALID_ARGUMENT, /first upload message must be the header/);
    await expectRefused(() => upload(gateway.clients.video, new Uint8Array(), { messages: [header, header] }), status.INVALID_ARGUMENT, /second header/);
    await expectRefused(() => upload(gateway.clients.video, new Uint8Array(), { messages: [] }), status.INVALID_ARGUMENT, /empty upload/);
  });

  it('refuses a file name with a path in it', async () => {
    await expectRefused(() => upload(gateway.clients.video, syntheticTiff(), { filename: '../etc/video.tif' }), status.INVALID_ARGUMENT, /plain file name/);
  });
});

describe('VideoService.RegisterVideo', () => {
  const fixture = path.join(__dirname, '..', '..', '..', '..', 'libs', 'video', 'src', '__fixtures__', 'ome-zarr', 'v04-tczyx-uint16.zarr');
  /** The fixture's files put under `prefix` in the bucket, as a pipeline would have written them. */
  async function putOmeZarr(prefix: string, change?: (key: string, bytes: Uint8Array) => Uint8Array | undefined): Promise<void> {
    for (const entry of readdirSync(fixture, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      const key = path.relative(fixture, full).split(path.sep).join('/');
      const bytes = change ? change(key, new Uint8Array(readFileSync(full))) : new Uint8Array(readFileSync(full));
      if (bytes !== undefined) await gateway.store.put(`${prefix}/${key}`, bytes);
    }
  }
  const register = (request: { omeZarrPrefix: string; channel?: string }) => call(gateway.clients.video.registerVideo.bind(gateway.clients.video), request);

  it('makes an OME-Zarr already in the bucket a video without copying it, once per prefix and channel', async () => {
    await putOmeZarr('plates/p1/A01.ome.zarr');
    const before = await gateway.keys();
    const response = await register({ omeZarrPrefix: 'plates/p1/A01.ome.zarr/', channel: 'GFP' });
    const info = { frameCount: 5, width: 20, height: 24, bitDepth: 16, pixelSizeXUm: 0.65, pixelSizeYUm: 0.65, frameIntervalS: 30, channels: ['phase', 'GFP'], channel: 1 };
    expect(response).toMatchObject({ info, alreadyStored: false });
    // The record, its source (the reference, a few bytes) and the content index entry; no chunk was copied.
    const added = (await gateway.keys()).filter((key) => !before.includes(key));
    expect(added).toHaveLength(3);
    expect(added.filter((key) => key.startsWith(`videos/${response.videoId}/`)).sort()).toEqual([`videos/${response.videoId}/source`, `videos/${response.videoId}/video.json`]);
    expect(new TextDecoder().decode(await gateway.store.get(`videos/${response.videoId}/source`))).toBe('{"omeZarr":{"prefix":"plates/p1/A01.ome.zarr"}}');
    expect(await register({ omeZarrPrefix: 'plates/p1/A01.ome.zarr', channel: '1' })).toEqual({ ...response, alreadyStored: true });
    const phase = await register({ omeZarrPrefix: 'plates/p1/A01.ome.zarr' });
    expect(phase.videoId).not.toBe(response.videoId);
    const { video } = await call(gateway.clients.video.getVideo.bind(gateway.clients.video), { videoId: response.videoId });
    expect(video).toMatchObject({ filename: 'A01.ome.zarr', sizeBytes: 0, info });
  });

  it('refuses prefixes outside what a client may name, and what is no readable OME-Zarr, storing nothing', async () => {
    const refused = (request: { omeZarrPrefix: string; channel?: string }, message: RegExp) => expectRefused(() => register(request), status.INVALID_ARGUMENT, message);
    await refused({ omeZarrPrefix: '' }, /ome_zarr_prefix is required/);
    await refused({ omeZarrPrefix: 'plates/../videos/x' }, /must be a relative key prefix/);
    await refused({ omeZarrPrefix: 'videos/vid-1' }, /lies in the server's own folder videos\//);
    await refused({ omeZarrPrefix: 'plates/none.zarr' }, /plates\/none\.zarr/);
    await putOmeZarr('plates/p1/B01.ome.zarr', (key, bytes) => (key === '0/1/0/0/0/0' ? bytes.subarray(0, 10) : bytes));
    await refused({ omeZarrPrefix: 'plates/p1/B01.ome.zarr' }, /plates\/p1\/B01\.ome\.zarr.*chunk/);
    await putOmeZarr('plates/p1/C01.ome.zarr');
    await refused({ omeZarrPrefix: 'plates/p1/C01.ome.zarr', channel: 'DAPI' }, /no channel named "DAPI"/);
  });
});

describe('VideoService.GetVideo', () => {
  it('answers NOT_FOUND for an unknown id and INVALID_ARGUMENT for a malformed one', async () => {
    const getVideo = gateway.clients.video.getVideo.bind(gateway.clients.video);
    await expect(call(getVideo, { videoId: 'vid-unknown' })).rejects.toMatchObject({ code: status.NOT_FOUND, details: 'video "vid-unknown" not found' });
    await expect(call(getVideo, { videoId: '../x' })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });
});
