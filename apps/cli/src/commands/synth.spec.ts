import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exitCodes } from '@mitosis/core';
import { readVideo } from '@mitosis/video';
import type { CliResult } from '../testing';
import { runCliCaptured } from '../testing';
import { parseSize, synthOptionsFromFlags } from './synth';

const bin = path.join(__dirname, '..', '..', '..', '..', 'bin', 'mitosis.js');

const synth = (args: readonly string[]): Promise<CliResult> => runCliCaptured(['synth', ...args]);

describe('mitosis synth', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cli-synth-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the video and its ground truth and summarises them', async () => {
    const out = path.join(dir, 'a');
    const args = ['--frames', '30', '--size', '128x96', '--seed', '3', '--cells', '8', '--radius', '8'];
    args.push('--mitosis-rate', '0.04', '--mitosis-duration-mean', '6', '--out', out);
    const { code, stdout, errors } = await synth(args);
    expect(errors).toEqual([]);
    expect(code).toBe(exitCodes.OK);

    const video = await readVideo(path.join(out, 'video.tif'));
    expect(video.bitDepth).toBe(8);
    // --size is WIDTHxHEIGHT.
    expect(video.volume).toMatchObject({ frames: 30, width: 128, height: 96 });

    const truth = JSON.parse(readFileSync(path.join(out, 'truth.json'), 'utf8')) as {
      options: { seed: number; mitosisRate: number; mitosisDuration: { mean: number } };
      counts: { mitoses: number; deaths: number; transientRoundings: number; events: number };
      durations: { all: { count: number; p75: number } };
    };
    expect(truth.options).toMatchObject({ seed: 3, mitosisRate: 0.04, mitosisDuration: { mean: 6, sd: 2, min: 3, max: 16 } });
    const mitoses = readFileSync(path.join(out, 'mitoses.csv'), 'utf8').trim().split('\n');
    expect(mitoses[0]).toBe('frame,x,y');
    expect(mitoses.length - 1).toBe(truth.counts.mitoses);
    expect(truth.counts.mitoses).toBeGreaterThan(0);
    const events = readFileSync(path.join(out, 'events.csv'), 'utf8').trim().split('\n');
    expect(events.length - 1).toBe(truth.counts.events);
    expect(readFileSync(path.join(out, 'preview.png')).subarray(1, 4).toString()).toBe('PNG');

    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stdout).toContain(`Synthesised 30 frames of 128x96 (8-bit, seed 3) into ${out}: ${truth.counts.mitoses} mitoses`);
    expect(stdout).toContain(`all n=${truth.durations.all.count}`);
  });

  it('gives the same files for the same seed', async () => {
    const args = ['--frames', '12', '--size', '64x48', '--seed', '9', '--bit-depth', '16'];
    await synth([...args, '--out', path.join(dir, 'b1')]);
    await synth([...args, '--out', path.join(dir, 'b2')]);
    for (const file of ['video.tif', 'mitoses.csv', 'events.csv', 'truth.json', 'preview.png']) {
      expect(readFileSync(path.join(dir, 'b2', file)).equals(readFileSync(path.join(dir, 'b1', file)))).toBe(true);
    }
    expect((await readVideo(path.join(dir, 'b1', 'video.tif'))).bitDepth).toBe(16);
  });

  it.each([
    [['--size', '320by256'], '--size "320by256" must be WIDTHxHEIGHT in pixels, e.g. 320x256'],
    [['--frames', 'ten'], '--frames "ten" is not a number'],
    [['--frames', '2'], 'synthetic video: --frames must be an integer in [3, 100000], got 2'],
    [['--size', '8x64'], 'synthetic video: --size width must be an integer in [16, 16384], got 8'],
    [['--mitosis-rate', '1.5'], 'synthetic video: --mitosis-rate must be a number in [0, 1], got 1.5'],
    [['--mitosis-duration-min', '9', '--mitosis-duration-max', '4'], 'synthetic video: --mitosis-duration-max must be an integer in [9, 118], got 4'],
    [['--bit-depth', '12'], 'synthetic video: --bit-depth must be 8 or 16, got 12'],
  ])('rejects %j with one line and the invalid-input exit code', async (extra, message) => {
    const out = path.join(dir, 'bad');
    const { code, errors } = await synth([...extra, '--out', out]);
    expect(code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(errors).toEqual([`mitosis: ${message}`]);
  });

  it('runs as a real process and fails with one line on stderr', () => {
    const ok = spawnSync(process.execPath, [bin, 'synth', '--frames', '6', '--size', '48x40', '--out', path.join(dir, 'c')], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^Synthesised 6 frames of 48x40/);
    const bad = spawnSync(process.execPath, [bin, 'synth', '--noise', 'loud', '--out', path.join(dir, 'd')], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim()).toBe('mitosis: --noise "loud" is not a number');
  });
});

describe('synth flags', () => {
  it('reads --size as WIDTHxHEIGHT', () => {
    expect(parseSize('256x320')).toEqual({ width: 256, height: 320 });
    expect(parseSize(' 40 X 30 ')).toEqual({ width: 40, height: 30 });
  });

  it('passes only the given options, so the library defaults hold', () => {
    expect(synthOptionsFromFlags({ out: 'x' })).toEqual({});
    expect(synthOptionsFromFlags({ out: 'x', cells: '5', deathDurationMax: '9', bitDepth: '16', minCycle: '4' })).toEqual({
      initialCells: 5,
      deathDuration: { max: 9 },
      bitDepth: 16,
      minCycleFrames: 4,
    });
  });
});
