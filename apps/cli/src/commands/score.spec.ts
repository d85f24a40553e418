import { cetresFixture } from '@mitosis/testing';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exitCodes } from '@mitosis/core';
import type { CliResult } from '../testing';
import { runCliCaptured } from '../testing';

const bin = path.join(__dirname, '..', '..', '..', '..', 'bin', 'mitosis.js');
const truthFile = cetresFixture.mitoses();

const score = (args: readonly string[]): Promise<CliResult> => runCliCaptured(['score', ...args]);

describe('mitosis score', () => {
  let dir: string;
  let shiftedFile: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cli-score-'));
    // The real annotations moved 2 frames later, written the way a user would: CRLF, spaces.
    const rows = readFileSync(truthFile, 'utf8').trim().split('\n').slice(1);
    const shifted = rows.map((row) => {
      const [frame, x, y] = row.split(',').map(Number);
      return `${frame + 2}, ${x}, ${y}`;
    });
    shiftedFile = path.join(dir, 'shifted.csv');
    writeFileSync(shiftedFile, ['frame, x, y', ...shifted].join('\r\n'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const writeCsv = (name: string, text: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('scores the real annotations against themselves as perfect, in text', async () => {
    const { code, stdout } = await score(['--truth', truthFile, '--detections', truthFile]);
    expect(code).toBe(exitCodes.OK);
    expect(stdout).toBe('precision 1.0000  recall 1.0000  F1 1.0000\ntp 90  fp 0  fn 0  (radius 10 px, th 3 frames)\n');
  });

  it('finds a +2 frame shift at th 3 but not at th 1, as one JSON object', async () => {
    const th3 = await score(['--truth', truthFile, '--detections', shiftedFile, '--th', '3', '--json']);
    expect(th3.code).toBe(exitCodes.OK);
    expect(JSON.parse(th3.stdout)).toEqual({ precision: 1, recall: 1, f1: 1, tp: 90, fp: 0, fn: 0, radius: 10, th: 3 });
    const th1 = await score(['--truth', truthFile, '--detections', shiftedFile, '--th', '1', '--json']);
    expect(JSON.parse(th1.stdout)).toEqual({ precision: 0, recall: 0, f1: 0, tp: 0, fp: 90, fn: 90, radius: 10, th: 1 });
  });

  it('scores a frame window and lists misses and false detections with --details', async () => {
    const truth = writeCsv('t.csv', 'frame,x,y\n110,0,0\n111,100,100\n150,300,300\n');
    const detections = writeCsv('d.csv', 'frame,x,y,score\n112,0,0,0.9\n111,104,103,0.8\n201,300,300,0.7\n');
    const json = await score(['--truth', truth, '--detections', detections, '--frames', '111:200', '--radius', '5', '--json', '--details']);
    expect(JSON.parse(json.stdout)).toEqual({
      precision: 0.5,
      recall: 0.5,
      f1: 0.5,
      tp: 1,
      fp: 1,
      fn: 1,
      radius: 5,
      th: 3,
      frames: { first: 111, last: 200 },
      matches: [{ truth: { frame: 111, x: 100, y: 100 }, detection: { frame: 111, x: 104, y: 103, score: 0.8 }, distance: 5, dt: 0 }],
      misses: [{ frame: 150, x: 300, y: 300 }],
      falseDetections: [{ frame: 112, x: 0, y: 0, score: 0.9 }],
    });
    const text = await score(['--truth', truth, '--detections', detections, '--frames', '111:200', '--radius', '5', '--details']);
    expect(text.stdout).toBe(
      [
        'precision 0.5000  recall 0.5000  F1 0.5000',
        'tp 1  fp 1  fn 1  (radius 5 px, th 3 frames, frames 111..200)',
        'misses (1):',
        '  frame,x,y',
        '  150,300,300',
        'false detections (1):',
        '  frame,x,y,score',
        '  112,0,0,0.9',
        '',
      ].join('\n'),
    );
  });

  it('answers bad input with one line and the exit code of its kind', async () => {
    const bad = writeCsv('bad.csv', 'frame,x,y\n1,2,3\n\n4,five,6\n');
    const malformed = await score(['--truth', bad, '--detections', truthFile]);
    expect(malformed).toEqual({ code: exitCodes.INVALID_ARGUMENT, stdout: '', errors: [`mitosis: ${bad} line 4: x "five" is not a number`] });

    const missing = path.join(dir, 'missing.csv');
    const notFound = await score(['--truth', truthFile, '--detections', missing]);
    expect(notFound.code).toBe(exitCodes.NOT_FOUND);
    expect(notFound.errors).toEqual([`mitosis: ${missing}: no such points file`]);

    const empty = await score(['--truth', writeCsv('empty.csv', ''), '--detections', truthFile]);
    expect(empty.code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(empty.errors[0]).toMatch(/empty\.csv: empty file/);

    for (const [flag, value, message] of [
      ['--radius', '-2', '--radius "-2" must be a number'],
      ['--radius', 'ten', '--radius "ten"'],
      ['--th', '1.5', '--th "1.5" must be a whole number'],
      ['--frames', '200:111', 'frame range "200:111" is empty'],
    ]) {
      const result = await score(['--truth', truthFile, '--detections', truthFile, flag, value]);
      expect(result.code).toBe(exitCodes.INVALID_ARGUMENT);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toContain(message);
    }
  });

  it('requires both files (a usage error)', async () => {
    expect((await score(['--truth', truthFile])).code).toBe(exitCodes.USAGE);
  });

  it('runs as a real process and prints exactly one JSON object', () => {
    const result = spawnSync(process.execPath, [bin, 'score', '--truth', truthFile, '--detections', shiftedFile, '--th', '3', '--json'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ f1: 1, tp: 90, th: 3 });
  });
});
