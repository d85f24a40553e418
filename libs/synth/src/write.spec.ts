import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readPngHeader, readVideo } from '@mitosis/video';
import { generateSyntheticVideo } from './generate';
import { eventsCsv, mitosesCsv, summarizeTruth } from './truth';
import { writeSyntheticVideo } from './write';

describe('ground-truth tables', () => {
  it('writes mitoses as frame,x,y and events with their lengths', () => {
    expect(
      mitosesCsv([
        { frame: 3, x: 10.5, y: 7 },
        { frame: 9, x: 1.234, y: 2 },
      ]),
    ).toBe('frame,x,y\n3,10.5,7\n9,1.23,2\n');
    expect(mitosesCsv([])).toBe('frame,x,y\n');
    expect(eventsCsv([{ kind: 'transient-rounding', cellId: 4, start: 5, end: 8, duration: 4, x: 20, y: 30.25 }])).toBe(
      'kind,cell,start,end,duration,x,y\ntransient-rounding,4,5,8,4,20,30.25\n',
    );
  });

  it('summarises counts and duration statistics per kind and overall', () => {
    const video = generateSyntheticVideo({ seed: 4, frames: 60, width: 128, height: 96, mitosisRate: 0.03, deathRate: 0.01, transientRate: 0.01 });
    const truth = summarizeTruth(video);
    const byKind = (k: string) => video.events.filter((e) => e.kind === k).map((e) => e.duration);
    expect(truth.counts.mitoses).toBe(video.mitoses.length);
    expect(truth.counts.events).toBe(video.events.length);
    expect(truth.counts.mitoses + truth.counts.deaths + truth.counts.transientRoundings).toBe(truth.counts.events);
    expect(truth.durations.mitosis.count).toBe(byKind('mitosis').length);
    expect(truth.durations.death.count).toBe(byKind('death').length);
    expect(truth.durations.all.count).toBe(video.events.length);
    const all = video.events.map((e) => e.duration).sort((a, b) => a - b);
    expect(truth.durations.all.mean).toBeCloseTo(all.reduce((s, d) => s + d, 0) / all.length, 10);
    expect(truth.durations.all.min).toBe(all[0]);
    expect(truth.durations.all.max).toBe(all[all.length - 1]);
    expect(truth.seed).toBe(4);
    expect(truth.counts.cellsFirstFrame).toBe(video.options.initialCells);
  });
});

describe('writeSyntheticVideo', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'synth-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the video, the ground truth, a preview and the truth summary', async () => {
    const video = generateSyntheticVideo({ seed: 2, frames: 24, width: 96, height: 64, initialCells: 6, mitosisRate: 0.05 });
    const out = path.join(dir, 'nested', 'run');
    const { files, truth } = await writeSyntheticVideo(out, video);

    const back = await readVideo(files.video);
    expect(back.bitDepth).toBe(8);
    expect(back.volume).toMatchObject({ frames: 24, height: 64, width: 96 });
    expect(Buffer.from(back.volume.data).equals(Buffer.from(video.volume.data))).toBe(true);

    const rows = readFileSync(files.mitoses, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('frame,x,y');
    expect(rows).toHaveLength(video.mitoses.length + 1);
    expect(video.mitoses.length).toBeGreaterThan(0);
    const events = readFileSync(files.events, 'utf8').trim().split('\n');
    expect(events[0]).toBe('kind,cell,start,end,duration,x,y');
    expect(events).toHaveLength(video.events.length + 1);

    const preview = readPngHeader(readFileSync(files.preview), files.preview);
    // 8-bit RGB (colour type 2), six panels 4 px apart.
    expect(preview).toMatchObject({ width: 6 * 96 + 5 * 4, height: 64, bitDepth: 8, colorType: 2 });

    const json = JSON.parse(readFileSync(files.truth, 'utf8')) as typeof truth;
    expect(json).toEqual(JSON.parse(JSON.stringify(truth)));
    expect(json.options.seed).toBe(2);
    expect(json.counts.mitoses).toBe(video.mitoses.length);
  });

  it('keeps 16-bit videos 16-bit', async () => {
    const video = generateSyntheticVideo({ seed: 2, frames: 4, width: 32, height: 24, bitDepth: 16 });
    const { files } = await writeSyntheticVideo(dir, video);
    const back = await readVideo(files.video);
    expect(back.bitDepth).toBe(16);
    expect(Array.from(back.volume.data.subarray(0, 50))).toEqual(Array.from(video.volume.data.subarray(0, 50)));
  });
});
