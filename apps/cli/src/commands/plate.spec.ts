import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exitCodes } from '@mitosis/core';
import { generateSyntheticVideo } from '@mitosis/synth';
import { writeTiffStack } from '@mitosis/video';
import { runCliCaptured } from '../testing';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cli-plate-'));
  const video = generateSyntheticVideo({ frames: 4, width: 32, height: 24, seed: 5, initialCells: 2 }).volume;
  mkdirSync(path.join(dir, 'videos'));
  for (const name of ['a1.tif', 'a2.tif', 'b1.tif']) await writeTiffStack(path.join(dir, 'videos', name), video);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mitosis plate check', () => {
  it('shows the plate: wells, fields, conditions, sizes and a map of the wells', async () => {
    const manifest = path.join(dir, 'plate.csv');
    writeFileSync(manifest, 'well,field,condition,path,frame_interval_min\nA01,1,DMSO,videos/a1.tif,10\nA01,2,DMSO,videos/a2.tif,10\nH12,1,"nocodazole, 100 nM",videos/b1.tif,\n');
    const result = await runCliCaptured(['plate', 'check', manifest]);
    expect(result.errors).toEqual([]);
    expect(result.code).toBe(exitCodes.OK);
    expect(result.stdout).toContain('96-well plate (8 x 12)');
    expect(result.stdout).toContain('2 wells, 3 videos (fields)');
    expect(result.stdout).toContain('DMSO (1 well), nocodazole, 100 nM (1 well)');
    expect(result.stdout).toContain('4 per video, 32x24 px');
    expect(result.stdout).toContain('10 min (2 of 3 videos)');
    const map = result.stdout.split('\n');
    expect(map.find((l) => l.startsWith('  A'))).toMatch(/^ {2}A {2}2( {2}\.){11}$/);
    expect(map.find((l) => l.startsWith('  H'))).toMatch(/^ {2}H( {2}\.){11} {2}1$/);

    const json = await runCliCaptured(['plate', 'check', manifest, '--json', '--wells', '384']);
    const plate = JSON.parse(json.stdout) as { format: { wells: number }; entries: { well: string; frames: number }[] };
    expect(plate.format.wells).toBe(384);
    expect(plate.entries.map((e) => [e.well, e.frames])).toEqual([
      ['A01', 4],
      ['A01', 4],
      ['H12', 4],
    ]);
  });

  it('refuses a plate with every bad row named, exit 3, and bad options with their name', async () => {
    const manifest = path.join(dir, 'bad.csv');
    writeFileSync(manifest, 'well,field,condition,path\nA01,1,DMSO,videos/a1.tif\nA1,1,DMSO,videos/a2.tif\nZ01,1,DMSO,videos/a1.tif\nB01,1,DMSO,videos/none.tif\n');
    const result = await runCliCaptured(['plate', 'check', manifest]);
    expect(result.code).toBe(exitCodes.INVALID_ARGUMENT);
    const message = result.errors.join('\n');
    expect(message).toContain('bad.csv: 3 problems, nothing was run:');
    expect(message).toContain('bad.csv line 3: well A01 field 1 is already on line 2');
    expect(message).toContain('bad.csv line 4: well "Z01" is not a well name such as B07');
    expect(message).toContain('bad.csv line 5: videos/none.tif does not exist');
    expect((await runCliCaptured(['plate', 'check', path.join(dir, 'missing.csv')])).code).toBe(exitCodes.NOT_FOUND);
    const wells = await runCliCaptured(['plate', 'check', manifest, '--wells', '48']);
    expect(wells.code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(wells.errors.join('\n')).toContain('--wells "48" must be 96 or 384');
  });
});

describe('mitosis plate run', () => {
  it('takes a small plate from videos to readouts.csv, plate.json and the two figures', async () => {
    const plate = path.join(dir, 'run');
    mkdirSync(plate);
    const rows = ['well,field,condition,path,frame_interval_min'];
    const annotations = ['well,field,frame,x,y'];
    for (const [i, [well, condition]] of [
      ['A01', 'high'],
      ['A02', 'high'],
      ['B01', 'low'],
    ].entries()) {
      const video = generateSyntheticVideo({ frames: 14, width: 64, height: 48, seed: 20 + i, initialCells: 8, minCycleFrames: 3, mitosisRate: 0.1 });
      await writeTiffStack(path.join(plate, `${well}.tif`), video.volume);
      rows.push(`${well},1,${condition},${well}.tif,15`);
      if (i !== 1) for (const m of video.mitoses.filter((m) => m.frame <= 8)) annotations.push(`${well},1,${m.frame},${m.x},${m.y}`);
    }
    writeFileSync(path.join(plate, 'plate.csv'), `${rows.join('\n')}\n`);
    // A point in each annotated field, should the simulation have had no early mitosis there.
    annotations.push('A01,1,2,32,24', 'B01,1,3,30,20');
    writeFileSync(path.join(plate, 'annotations.csv'), `${annotations.join('\n')}\n`);
    const out = path.join(plate, 'out');
    const args = ['plate', 'run', path.join(plate, 'plate.csv'), '--annotations', path.join(plate, 'annotations.csv'), '--out', out, '--k', '3', '--bin-frames', '7'];
    const result = await runCliCaptured([...args, '--m1-iterations', '2', '--m2-iterations', '2', '--m3-iterations', '2', '--quiet']);
    expect(result.errors).toEqual([]);
    expect(result.code).toBe(exitCodes.OK);
    // The sample: the annotated field and the first field of the other condition, end to end.
    expect(result.stdout).toContain('1/4 M1 and M2 trained on A01 field 1, B01 field 1 (their frames end to end)');
    expect(result.stdout).toMatch(/3 of 3 fields done, 0 failed/);

    const csv = readFileSync(path.join(out, 'readouts.csv'), 'utf8').trim().split('\n');
    expect(csv[0]?.split(',').slice(0, 5)).toEqual(['well', 'row', 'column', 'condition', 'status']);
    // 3 wells x 2 bins of 7 frames; bins in minutes from the manifest's 15 min interval.
    expect(csv).toHaveLength(1 + 3 * 2);
    expect(csv[1]).toMatch(/^A01,A,1,high,ok,1,1,1,7,0\.00,105\.00,/);
    const report = JSON.parse(readFileSync(path.join(out, 'plate.json'), 'utf8')) as { k: { plate: number; perField: unknown[] }; sample: { fields: { well: string }[] } };
    expect(report.k.plate).toBe(3);
    expect(report.k.perField).toHaveLength(3);
    expect(report.sample.fields.map((f) => f.well)).toEqual(['A01', 'B01']);
    // M3 learnt from both annotated fields.
    expect(JSON.parse(readFileSync(path.join(out, 'model', 'training.json'), 'utf8'))).toMatchObject({ k: 3, videos: 2 });
    const heatmap = readFileSync(path.join(out, 'heatmap.svg'), 'utf8');
    expect(heatmap).toContain('mitoses per 100 cells per h');
    expect(heatmap.match(/<circle/g)?.length).toBeGreaterThanOrEqual(96);
    expect(readFileSync(path.join(out, 'time-course.svg'), 'utf8')).toMatch(/high[\s\S]*low/);

    // Annotations naming a field the plate lacks are refused before any work.
    writeFileSync(path.join(plate, 'bad.csv'), 'well,field,frame,x,y\nC01,1,2,3,4\n');
    const bad = await runCliCaptured(['plate', 'run', path.join(plate, 'plate.csv'), '--annotations', path.join(plate, 'bad.csv'), '--out', path.join(plate, 'bad')]);
    expect(bad.code).toBe(exitCodes.INVALID_ARGUMENT);
    expect(bad.errors.join('\n')).toContain('bad.csv line 2: well C01 field 1 is not in the plate');
  }, 300_000);
});
