import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
