import { cetresFixture } from '@mitosis/testing';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exitCodes } from '@mitosis/core';
import { encodeTiff } from '@mitosis/video';
import type { CliResult } from '../testing';
import { runCliCaptured } from '../testing';

const bin = path.join(__dirname, '..', '..', '..', '..', 'bin', 'mitosis.js');
const cetresFrames = cetresFixture.frames();

const info = (args: readonly string[]): Promise<CliResult> => runCliCaptured(['info', ...args]);

describe('mitosis info', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cli-info-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('describes the real CeTReS.B frames in text', async () => {
    const { code, stdout, errors } = await info([cetresFrames]);
    expect(errors).toEqual([]);
    expect(code).toBe(exitCodes.OK);
    expect(stdout).toBe(
      [`video       ${cetresFrames} (folder of frames)`, 'frames      4', 'frame size  512x384', 'bit depth   8', 'downscaled  128x96 (factor 4)', ''].join('\n'),
    );
  });

  it('prints one JSON object with --json, honouring --factor', async () => {
    const plain = await info([cetresFrames, '--json']);
    expect(JSON.parse(plain.stdout)).toEqual({
      frameCount: 4,
      width: 512,
      height: 384,
      bitDepth: 8,
      kind: 'frame-folder',
      downscaled: { width: 128, height: 96, factor: 4 },
    });
    const byTwo = await info([cetresFrames, '--json', '--factor', '2']);
    expect(JSON.parse(byTwo.stdout).downscaled).toEqual({ width: 256, height: 192, factor: 2 });
  });

  it('describes a 16-bit TIFF stack', async () => {
    const file = path.join(dir, 'stack.tif');
    writeFileSync(file, encodeTiff([1, 2, 3].map(() => ({ width: 9, height: 8, data: new Uint16Array(72) }))));
    const { code, stdout } = await info([file, '--json']);
    expect(code).toBe(exitCodes.OK);
    expect(JSON.parse(stdout)).toEqual({ frameCount: 3, width: 9, height: 8, bitDepth: 16, kind: 'tiff-stack', downscaled: { width: 2, height: 2, factor: 4 } });
  });

  it('describes an OME-Zarr with its channels and physical sizes, a channel chosen by name', async () => {
    const store = path.join(__dirname, '..', '..', '..', '..', 'libs', 'video', 'src', '__fixtures__', 'ome-zarr', 'v04-tczyx-uint16.zarr');
    const text = await info([store, '--channel', 'GFP']);
    expect(text.code).toBe(exitCodes.OK);
    expect(text.stdout).toContain(`video       ${store} (OME-Zarr)`);
    expect(text.stdout).toContain('channels    phase, GFP (read)');
    expect(text.stdout).toContain('pixel size  0.65 x 0.65 µm (x, y)');
    expect(text.stdout).toContain('interval    30 s (0.5 min) per frame');
    const json = await info([store, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'ome-zarr', frameCount: 5, channels: ['phase', 'GFP'], channel: 0, physical: { frameIntervalS: 30 } });
    const unknown = await info([store, '--channel', 'DAPI']);
    expect(unknown.code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(unknown.errors.join('\n')).toMatch(/no channel named "DAPI"/);
  });

  it('answers a corrupt file with one line and the INVALID_ARGUMENT exit code', async () => {
    const file = path.join(dir, 'corrupt.tif');
    const good = encodeTiff([{ width: 4, height: 4, data: new Uint8Array(16) }]);
    writeFileSync(file, good.subarray(0, 20)); // cut inside the first IFD
    const { code, stdout, errors } = await info([file]);
    expect(code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(stdout).toBe('');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^mitosis: .*corrupt\.tif: .*truncated or corrupt TIFF/);
  });

  it('answers a missing path with NOT_FOUND and a bad --factor with INVALID_ARGUMENT', async () => {
    expect((await info([path.join(dir, 'nothing-here')])).code).toBe(exitCodes.NOT_FOUND);
    const bad = await info([cetresFrames, '--factor', 'x']);
    expect(bad.code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(bad.errors).toEqual(['mitosis: --factor "x" must be a whole number >= 1']);
  });

  it('runs as a real process through the package bin', () => {
    const file = path.join(dir, 'junk.tif');
    writeFileSync(file, 'II*\0 this is not really a TIFF');
    const result = spawnSync(process.execPath, [bin, 'info', file], { encoding: 'utf8' });
    expect(result.status).toBe(exitCodes.INVALID_ARGUMENT);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^mitosis: .*junk\.tif/);
  });
});
