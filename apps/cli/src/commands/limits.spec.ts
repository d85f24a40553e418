import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exitCodes } from '@mitosis/core';
import { WORK_LIMITS } from '@mitosis/stages';
import { encodeTiff } from '@mitosis/video';
import { runCliCaptured } from '../testing';

// What a wrapped -1 in a uint32 reads as, the value issue 16 saw accepted.
const WRAPPED = '4294967295';
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cli-limits-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('work limits in the CLI', () => {
  it.each([
    ['--m1-iterations', WORK_LIMITS.m1Iterations],
    ['--m2-iterations', WORK_LIMITS.m2Iterations],
    ['--m2-runs', WORK_LIMITS.m2Runs],
    ['--crop', WORK_LIMITS.crop],
    ['--m2-crop', WORK_LIMITS.crop],
    ['--m2-batch', WORK_LIMITS.batch],
    ['--sequence-length', WORK_LIMITS.sequenceLength],
  ])('analyze refuses %s above its limit with the invalid-argument exit code', async (option, limit) => {
    const result = await runCliCaptured(['analyze', path.join(dir, 'none.tif'), '--out', path.join(dir, 'a'), option, WRAPPED, '--quiet']);
    expect(result.code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(result.errors.join('\n')).toContain(`${option} ${WRAPPED} is above the limit of ${limit}`);
  });

  it.each([
    ['--iterations', WORK_LIMITS.m3Iterations],
    ['--k', WORK_LIMITS.k],
    ['--crop', WORK_LIMITS.crop],
    ['--batch', WORK_LIMITS.batch],
  ])('train refuses %s above its limit with the invalid-argument exit code', async (option, limit) => {
    const args = ['train', path.join(dir, 'none.tif'), '--annotations', path.join(dir, 'none.csv'), '--frames', '1:5', '--k', '2', '--out', path.join(dir, 't')];
    const result = await runCliCaptured([...args, option, String(limit + 1), '--quiet']);
    expect(result.code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(result.errors.join('\n')).toContain(`${option} ${limit + 1} is above the limit of ${limit}`);
  });
});

describe('frames an analysis needs, in the CLI', () => {
  it('refuses a 1-frame video before M1 trains, with the failed-precondition exit code', async () => {
    const video = path.join(dir, 'one.tif');
    await writeFile(video, encodeTiff([{ data: Uint8Array.from({ length: 48 * 40 }, (_, i) => i % 251), width: 48, height: 40 }]));
    const result = await runCliCaptured(['analyze', video, '--out', path.join(dir, 'one'), '--factor', '1', '--quiet']);
    expect(result.code).toBe(exitCodes.FAILED_PRECONDITION);
    expect(result.errors.join('\n')).toContain(`${video} (frames 1:1) has 1 frame; an analysis needs at least 2`);
    expect(existsSync(path.join(dir, 'one', 'store', 'video', 'zarr.json'))).toBe(true);
    expect(existsSync(path.join(dir, 'one', 'store', 'analysis', 'm1'))).toBe(false);
  });
});
