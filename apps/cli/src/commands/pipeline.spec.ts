import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exitCodes } from '@mitosis/core';
import { parseNapariPointsCsv, parsePointsCsv } from '@mitosis/scoring';
import { probeOmeZarr } from '@mitosis/video';
import type { CliResult } from '../testing';
import { runCliCaptured } from '../testing';

/** The CLI in-process; compute commands run quietly. */
const cli = (args: readonly string[]): Promise<CliResult> => runCliCaptured([...args, ...(['synth', 'score'].includes(args[0] ?? '') ? [] : ['--quiet'])]);

/**
 * The method end to end through the command line on a tiny synthetic video: synth, analyze (M1,
 * M2), train (M3), detect, score. Iterations are far too few to learn well; this checks that every
 * stage runs, hands the next one what it needs and writes the files a user reads.
 */
describe('mitosis pipeline on a tiny synthetic video', () => {
  let dir: string;
  let video: string;
  let truth: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cli-pipeline-'));
    const synth = await cli(['synth', '--frames', '24', '--size', '128x96', '--seed', '3', '--mitosis-rate', '0.03', '--out', path.join(dir, 'synth')]);
    expect(synth.errors).toEqual([]);
    video = path.join(dir, 'synth', 'video.tif');
    truth = path.join(dir, 'synth', 'mitoses.csv');
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('analyzes: normal-cell map PNGs and the feature maps figure, then stats.json or a clear no-events error', async () => {
    const out = path.join(dir, 'analysis');
    const result = await cli([
      'analyze',
      video,
      '--out',
      out,
      '--frames',
      '1:20',
      '--factor',
      '2',
      '--m1-iterations',
      '400',
      '--m2-iterations',
      '20',
      '--crop',
      '32',
      '--sequence-length',
      '8',
    ]);
    expect(result.errors.filter((e) => !/no cell events/.test(e))).toEqual([]);
    expect(readdirSync(path.join(out, 'normal-cell-map'))).toHaveLength(20);
    expect(existsSync(path.join(out, 'feature-maps.png'))).toBe(true);
    if (result.code === exitCodes.OK) {
      const stats = JSON.parse(readFileSync(path.join(out, 'stats.json'), 'utf8')) as Record<string, unknown>;
      for (const key of ['count', 'mean', 'std', 'p50', 'p75', 'histogram', 'recommendedK', 'recommendedAnnotationFrames']) expect(stats).toHaveProperty(key);
      expect(result.stdout).toMatch(/recommended ConvLSTM sequence length k = \d+/);
    } else {
      expect(result.code).toBe(exitCodes.INVALID_ARGUMENT);
      expect(result.errors.join('\n')).toMatch(/no cell events were predicted/);
    }
  }, 240_000);

  it('trains M3, detects in later frames, writes detections.csv and overlays, and scores them', async () => {
    const model = path.join(dir, 'model');
    const train = await cli(['train', video, '--annotations', truth, '--frames', '9:20', '--k', '4', '--factor', '2', '--iterations', '20', '--crop', '32', '--out', model]);
    expect(train.errors).toEqual([]);
    expect(train.code).toBe(exitCodes.OK);
    for (const file of ['model.json', 'weights.bin', 'training.json']) expect(existsSync(path.join(model, file))).toBe(true);
    const csv = path.join(dir, 'detections.csv');
    const detect = await cli(['detect', video, '--model', model, '--frames', '13:24', '--out', csv, '--truth', truth]);
    expect(detect.errors).toEqual([]);
    expect(detect.code).toBe(exitCodes.OK);
    const detections = parsePointsCsv(readFileSync(csv, 'utf8'), csv);
    for (const d of detections) {
      expect(d.frame).toBeGreaterThanOrEqual(13);
      expect(d.frame).toBeLessThanOrEqual(24);
      expect(d.x).toBeGreaterThanOrEqual(0);
      expect(d.x).toBeLessThan(128);
    }
    expect(existsSync(path.join(dir, 'overlays'))).toBe(true);
    // A plain TIFF states no physical sizes: the napari CSV is written, the micrometre one is not.
    const napari = path.join(dir, 'detections.napari.csv');
    expect(parseNapariPointsCsv(readFileSync(napari, 'utf8'), napari)).toEqual(detections.map((d) => ({ ...d, score: Number(d.score?.toFixed(4)) })));
    expect(existsSync(path.join(dir, 'detections.um.csv'))).toBe(false);
    expect(detect.stdout).toContain(`exports: ${napari}`);
    // An OME-Zarr states its pixel size and interval: the micrometre CSV is written too.
    const zarr = path.join(__dirname, '..', '..', '..', '..', 'libs', 'video', 'src', '__fixtures__', 'ome-zarr', 'v04-tczyx-uint16.zarr');
    const zarrCsv = path.join(dir, 'zarr', 'detections.csv');
    const zarrDetect = await cli(['detect', zarr, '--model', model, '--out', zarrCsv, '--no-overlays']);
    expect(zarrDetect.errors).toEqual([]);
    expect(readFileSync(path.join(dir, 'zarr', 'detections.um.csv'), 'utf8')).toMatch(/^frame,time_min,x_um,y_um(,score)?\n/);
    // M3's probability map as OME-Zarr on the downscaled grid (factor 2), in the video's units where known.
    const probability = await probeOmeZarr(path.join(dir, 'detections.ome.zarr'));
    expect(probability).toMatchObject({ frameCount: 12, dataType: 'float32' });
    expect(existsSync(path.join(dir, 'detections.ome.zarr', 'labels', 'detections', '0', '.zarray'))).toBe(true);
    expect((await probeOmeZarr(path.join(dir, 'zarr', 'detections.ome.zarr'))).physical).toEqual({ pixelSizeUm: { y: 1.3, x: 1.3 }, frameIntervalS: 30 });
    const score = await cli(['score', '--truth', truth, '--detections', csv, '--frames', '13:24', '--json']);
    expect(score.code).toBe(exitCodes.OK);
    expect(JSON.parse(score.stdout)).toEqual(expect.objectContaining({ precision: expect.any(Number), recall: expect.any(Number), f1: expect.any(Number) }));
  }, 240_000);

  it('refuses bad input with one clear line and the exit code of its kind', async () => {
    const empty = path.join(dir, 'empty');
    rmSync(empty, { recursive: true, force: true });
    mkdirSync(empty);
    const noFrames = await cli(['analyze', empty, '--out', path.join(dir, 'a2')]);
    expect(noFrames.code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(noFrames.errors).toHaveLength(1);

    const outside = path.join(dir, 'outside.csv');
    writeFileSync(outside, 'frame,x,y\n10,500,20\n');
    const badAnnotations = await cli(['train', video, '--annotations', outside, '--frames', '9:20', '--k', '4', '--factor', '2', '--out', path.join(dir, 'm2')]);
    expect(badAnnotations.code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(badAnnotations.errors[0]).toMatch(/outside/);

    const tooLongK = await cli(['train', video, '--annotations', truth, '--frames', '9:12', '--k', '8', '--factor', '2', '--out', path.join(dir, 'm3')]);
    expect(tooLongK.code).toBe(exitCodes.FAILED_PRECONDITION);
    expect(tooLongK.errors[0]).toMatch(/k = 8 is larger than the 4 training frames/);
    expect(existsSync(path.join(dir, 'm3', 'model.json'))).toBe(false);

    const unreadable = path.join(dir, 'broken-model');
    mkdirSync(unreadable);
    writeFileSync(path.join(unreadable, 'training.json'), '{"k": 4, "factor": 2}');
    writeFileSync(path.join(unreadable, 'model.json'), 'not json');
    const badModel = await cli(['detect', video, '--model', unreadable, '--out', path.join(dir, 'x.csv')]);
    expect(badModel.code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(badModel.errors[0]).toMatch(/model/);

    const missingModel = await cli(['detect', video, '--model', path.join(dir, 'nope'), '--out', path.join(dir, 'x.csv')]);
    expect(missingModel.code).toBe(exitCodes.NOT_FOUND);
  }, 120_000);
});
