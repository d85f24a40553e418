import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exitCodes } from '@mitosis/core';
import { readVideo } from '@mitosis/video';
import type { CliResult } from '../testing';
import { runCliCaptured } from '../testing';
import { parseDensity, parseDrift, parseSize, synthOptionsFromFlags } from './synth';

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

  it('makes a dense, drifting, unevenly lit video of a chosen event-length p75 and records it in truth.json', async () => {
    const out = path.join(dir, 'e');
    const args = ['--frames', '24', '--size', '160x128', '--radius', '8', '--density', 'dense', '--event-p75', '6'];
    args.push('--contrast', '1.2', '--drift', '0.5,-0.25', '--flicker', '0.01', '--illumination-ramp', '-0.2');
    args.push('--illumination-gradient', '0.1', '--contact-inhibition', '0.8', '--out', out);
    const { code, stdout, errors } = await synth(args);
    expect(errors).toEqual([]);
    expect(code).toBe(exitCodes.OK);
    const truth = JSON.parse(readFileSync(path.join(out, 'truth.json'), 'utf8')) as {
      options: Record<string, unknown>;
      counts: { cellsFirstFrame: number };
      durationLaws: { mitosis: { mean: number } };
    };
    expect(truth.options).toMatchObject({
      coverage: 0.5,
      initialCells: Math.round((0.5 * 160 * 128) / (Math.PI * 64)),
      contactInhibition: 0.8,
      eventLengthP75: 6,
      contrast: 1.2,
      drift: { x: 0.5, y: -0.25 },
      flicker: 0.01,
      illuminationRamp: -0.2,
      illuminationGradient: 0.1,
    });
    expect(truth.options['eventLengthScale']).not.toBe(1);
    expect(truth.durationLaws.mitosis.mean).toBeCloseTo(7 * (truth.options['eventLengthScale'] as number), 10);
    expect(truth.counts.cellsFirstFrame).toBeGreaterThan(40);
    expect(stdout).toContain('Frames out of normal appearance per event (target p75 6): all n=');
  });

  it.each([
    [['--density', 'crowded'], '--density "crowded" must be sparse, dense or the covered fraction of the frame, e.g. 0.4'],
    [['--density', '0.95'], 'synthetic video: --density must be a number in [0.01, 0.8], got 0.95'],
    [['--density', 'dense', '--cells', '5'], 'synthetic video: give --cells or --density, not both (--density 0.5 means 91 cells, --cells says 5)'],
    [['--contact-inhibition', '2'], 'synthetic video: --contact-inhibition must be a number in [0, 1], got 2'],
    [['--event-p75', '1'], 'synthetic video: --event-p75 must be a number in [2, 40], got 1'],
    [['--event-p75', '30', '--frames', '20'], 'synthetic video: --event-p75 30 cannot be reached by scaling the event durations within 20 frames'],
    [['--contrast', '5'], 'synthetic video: --contrast must be a number in [0.1, 3], got 5'],
    [['--drift', '1'], '--drift "1" must be DX,DY in px per frame, e.g. 0.5,-0.25'],
    [['--drift', '0,9'], 'synthetic video: --drift y must be a number in [-4, 4], got 9'],
    [['--flicker', '0.2'], 'synthetic video: --flicker must be a number in [0, 0.05], got 0.2'],
    [['--illumination-ramp', '-1'], 'synthetic video: --illumination-ramp must be a number in [-0.9, 2], got -1'],
    [['--illumination-gradient', 'strong'], '--illumination-gradient "strong" is not a number'],
  ])('rejects the new option %j naming its flag', async (extra, message) => {
    const { code, errors } = await synth([...extra, '--out', path.join(dir, 'bad2')]);
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
    const help = spawnSync(process.execPath, [bin, 'synth', '--help'], { encoding: 'utf8' });
    for (const flag of ['--density', '--contact-inhibition', '--event-p75', '--contrast', '--drift', '--flicker', '--illumination-ramp', '--illumination-gradient']) {
      expect(help.stdout).toContain(flag);
    }
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
    expect(synthOptionsFromFlags({ out: 'x', density: 'sparse' })).toEqual({});
    expect(synthOptionsFromFlags({ out: 'x', density: 'Dense', drift: ' 1, -0.5', eventP75: '12' })).toEqual({
      coverage: 0.5,
      drift: { x: 1, y: -0.5 },
      eventLengthP75: 12,
    });
    expect(parseDensity('0.3')).toBe(0.3);
    expect(parseDrift('-2,0')).toEqual({ x: -2, y: 0 });
  });
});
