import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidInputError, NotFoundError } from '@mitosis/core';
import { generateSyntheticVideo } from '@mitosis/synth';
import { writeTiffStack } from '@mitosis/video';
import { loadPlate, parseManifestCsv, scanPlateFolder } from './manifest';
import { parseWell, plateFormatFor, wellLabel } from './wells';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'plate-manifest-'));
  const video = generateSyntheticVideo({ frames: 3, width: 24, height: 20, seed: 1, initialCells: 2 }).volume;
  for (const name of ['a.tif', 'b.tif', 'c.tif']) await writeTiffStack(path.join(dir, name), video);
  await writeTiffStack(path.join(dir, 'one-frame.tif'), { ...video, frames: 1, data: video.data.subarray(0, 24 * 20) });
  writeFileSync(path.join(dir, 'junk.tif'), 'not a tiff at all');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe('wells', () => {
  it('reads B07, B7 and b07 alike and writes the two-digit form', () => {
    expect(parseWell('B07')).toEqual({ row: 1, column: 7 });
    expect(parseWell(' b7 ')).toEqual({ row: 1, column: 7 });
    expect(wellLabel({ row: 15, column: 24 })).toBe('P24');
    for (const bad of ['', 'B', '7', 'B0', 'B25', 'Q01', 'B07x', 'AB1']) expect(parseWell(bad)).toBeUndefined();
  });

  it('takes the smallest plate that holds the wells, or refuses those outside the one given', () => {
    expect(plateFormatFor([{ row: 7, column: 12 }]).wells).toBe(96);
    expect(plateFormatFor([{ row: 8, column: 1 }]).wells).toBe(384);
    expect(plateFormatFor([{ row: 0, column: 1 }], 384)).toMatchObject({ rows: 16, columns: 24 });
    expect(() => plateFormatFor([{ row: 0, column: 13 }], 96)).toThrow(/wells A13 lie outside a 96-well plate/);
  });
});

describe('manifest CSV', () => {
  it('reads rows with quoted conditions, relative paths and optional sizes', () => {
    const { entries, problems } = parseManifestCsv(
      'well,field,condition,path,frame_interval_min,pixel_size_um\nB7,1,"DMSO, 0.1%",a.tif,10,0.65\nC03,2,"taxol 5 ""nM""",b.tif,,\n',
      path.join(dir, 'plate.csv'),
      dir,
    );
    expect(problems).toEqual([]);
    expect(entries).toEqual([
      {
        well: 'B07',
        position: { row: 1, column: 7 },
        field: 1,
        condition: 'DMSO, 0.1%',
        path: path.join(dir, 'a.tif'),
        frameIntervalMin: 10,
        pixelSizeUm: 0.65,
        origin: 'plate.csv line 2',
      },
      { well: 'C03', position: { row: 2, column: 3 }, field: 2, condition: 'taxol 5 "nM"', path: path.join(dir, 'b.tif'), origin: 'plate.csv line 3' },
    ]);
  });

  it('names every bad row by its line, and a bad header at once', () => {
    const { entries, problems } = parseManifestCsv(
      'well,field,condition,path,frame_interval_min\nZ9,1,x,a.tif,\nB02,0,x,a.tif,\nB03,1,,a.tif,\nB04,1,x,missing.tif,\nB05,1,x,a.tif,-3\nB06,1,x,a.tif,5\n',
      'plate.csv',
      dir,
    );
    expect(entries.map((e) => e.well)).toEqual(['B06']);
    expect(problems).toEqual([
      'plate.csv line 2: well "Z9" is not a well name such as B07',
      'plate.csv line 3: field "0" is not a whole number >= 1',
      'plate.csv line 4: condition is empty',
      expect.stringMatching(/^plate\.csv line 5: missing\.tif does not exist/),
      'plate.csv line 6: frame_interval_min "-3" is not a number > 0',
    ]);
    expect(() => parseManifestCsv('well,field,cond,path\n', 'p.csv', dir)).toThrow('p.csv line 1: the header lacks condition and has unknown columns cond');
    expect(() => parseManifestCsv('', 'p.csv', dir)).toThrow(/empty file/);
    expect(() => parseManifestCsv('well,field,condition,path\nB1,1,"x,a.tif\n', 'p.csv', dir)).toThrow(InvalidInputError);
    expect(() => parseManifestCsv('well,field,condition,path\nB1,1,x\n', 'p.csv', dir)).toThrow(/not a readable CSV/);
  });
});

describe('loadPlate', () => {
  it('checks a manifest up front: sizes from the files, the plate format, conditions in order', async () => {
    const file = write('ok.csv', 'well,field,condition,path\nC01,1,taxol,b.tif\nA01,2,DMSO,a.tif\nA01,1,DMSO,c.tif\n');
    const plate = await loadPlate(file);
    expect(plate).toMatchObject({ layout: 'manifest', format: { wells: 96 }, conditions: ['taxol', 'DMSO'], ignored: [] });
    expect(plate.entries.map((e) => [e.well, e.field, e.frames, e.width, e.height])).toEqual([
      ['A01', 1, 3, 24, 20],
      ['A01', 2, 3, 24, 20],
      ['C01', 1, 3, 24, 20],
    ]);
  });

  it('refuses the plate with every problem named: duplicates, unreadable and too short videos, missing files', async () => {
    const file = write('bad.csv', 'well,field,condition,path\nA01,1,x,a.tif\nA1,1,x,b.tif\nA02,1,x,junk.tif\nA03,1,x,one-frame.tif\nA04,1,x,gone.tif\n');
    const error = await loadPlate(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    const message = (error as Error).message;
    expect(message).toMatch(/^.*bad\.csv: 4 problems, nothing was run:\n/);
    expect(message).toContain('bad.csv line 6: gone.tif does not exist');
    expect(message).toContain('bad.csv line 3: well A01 field 1 is already on line 2');
    expect(message).toMatch(/bad\.csv line 4: junk\.tif is not a readable video: /);
    expect(message).toContain('bad.csv line 5: one-frame.tif has 1 frame(s); a time-lapse needs at least 2');
    await expect(loadPlate(path.join(dir, 'nowhere.csv'))).rejects.toBeInstanceOf(NotFoundError);
    // The fields of one well: one condition, one acquisition (readouts sum them frame by frame).
    const mixed = write('mixed.csv', 'well,field,condition,path,frame_interval_min\nA01,1,x,a.tif,10\nA01,2,y,b.tif,10\nA01,3,x,c.tif,5\n');
    const message2 = ((await loadPlate(mixed).catch((e: unknown) => e)) as Error).message;
    expect(message2).toContain('mixed.csv line 3: well A01 field 2 is "y", field 1 "x"');
    expect(message2).toContain('mixed.csv line 4: well A01 field 3 has 3 frames every 5 min, field 1 3 every 10 min');
  });

  it('reads a plate folder of well folders or of well-named videos, listing what it left out', async () => {
    const folders = path.join(dir, 'folders');
    mkdirSync(path.join(folders, 'B07'), { recursive: true });
    mkdirSync(path.join(folders, 'H12'), { recursive: true });
    for (const n of ['site10.tif', 'site2.tif']) writeFileSync(path.join(folders, 'B07', n), '');
    writeFileSync(path.join(folders, 'H12', 'notes.txt'), '');
    writeFileSync(path.join(folders, 'README.md'), '');
    const scanned = await scanPlateFolder(folders);
    expect(scanned.entries.map((e) => [e.well, e.field, path.basename(e.path)])).toEqual([
      ['B07', 1, 'site2.tif'],
      ['B07', 2, 'site10.tif'],
    ]);
    expect(scanned.problems).toEqual([expect.stringMatching(/H12: a well folder with no video/)]);
    expect(scanned.ignored).toEqual(['README.md']);

    const named = path.join(dir, 'named');
    mkdirSync(named);
    const video = generateSyntheticVideo({ frames: 3, width: 16, height: 16, seed: 2, initialCells: 1 }).volume;
    for (const n of ['B07_f2.tif', 'b07-f1.tif', 'P24.ome.tif', 'C3_s1_phase.tif']) await writeTiffStack(path.join(named, n), video);
    writeFileSync(path.join(named, 'B07_f2.csv'), '');
    const plate = await loadPlate(named);
    expect(plate.layout).toBe('folder');
    expect(plate.format.wells).toBe(384);
    expect(plate.entries.map((e) => [e.well, e.field, e.condition])).toEqual([
      ['B07', 1, ''],
      ['B07', 2, ''],
      ['C03', 1, ''],
      ['P24', 1, ''],
    ]);
    expect(plate.ignored).toEqual(['B07_f2.csv']);
    writeFileSync(path.join(named, 'B7_f2.tiff'), '');
    await expect(loadPlate(named)).rejects.toThrow(/B7_f2\.tiff: well B07 field 2 is also .*B07_f2\.tif/);
  });
});
