import { InvalidInputError } from '@mitosis/core';
import { parsePlateAnnotations } from './annotations';
import type { CheckedEntry, PlateManifest } from './manifest';

const entry = (well: string, row: number, column: number, field: number): CheckedEntry => ({
  well,
  position: { row, column },
  field,
  condition: 'x',
  path: `/videos/${well}_${field}.tif`,
  origin: `plate.csv line ${row + 2}`,
  frames: 20,
  width: 64,
  height: 48,
});
const plate: PlateManifest = {
  source: 'plate.csv',
  layout: 'manifest',
  format: { wells: 96, rows: 8, columns: 12 },
  entries: [entry('A01', 0, 1, 1), entry('A01', 0, 1, 2), entry('B03', 1, 3, 1)],
  conditions: ['x'],
  ignored: [],
};

describe('plate annotations', () => {
  it('groups the mitoses by field; field may be left out for 1', () => {
    expect(parsePlateAnnotations('well,field,frame,x,y\nA1,2,3,10,5.5\nA01,2,4,11,6\nB03,1,1,0,0\n', 'a.csv', plate)).toEqual([
      {
        well: 'A01',
        field: 2,
        points: [
          { frame: 3, x: 10, y: 5.5 },
          { frame: 4, x: 11, y: 6 },
        ],
      },
      { well: 'B03', field: 1, points: [{ frame: 1, x: 0, y: 0 }] },
    ]);
    expect(parsePlateAnnotations('well,frame,x,y\nB03,5,1,2\n', 'a.csv', plate)).toEqual([{ well: 'B03', field: 1, points: [{ frame: 5, x: 1, y: 2 }] }]);
  });

  it('names every bad row: wells and fields not in the plate, frames and points outside the video, bad numbers', () => {
    const text = 'well,field,frame,x,y\nZ1,1,1,1,1\nC01,1,1,1,1\nA01,3,1,1,1\nA01,1,21,1,1\nA01,1,2,64,1\nA01,1,2.5,1,1\nA01,1,2,1,1\n';
    let message = '';
    try {
      parsePlateAnnotations(text, 'a.csv', plate);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      message = (error as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'a.csv: 6 problems:',
      '  a.csv line 2: well "Z1" is not a well name such as B07',
      '  a.csv line 3: well C01 field 1 is not in the plate',
      '  a.csv line 4: well A01 field 3 is not in the plate',
      "  a.csv line 5: frame 21 is outside A01 field 1's frames 1-20",
      '  a.csv line 6: (64, 1) is outside the 64x48 frame',
      '  a.csv line 7: frame, x and y must be numbers (frame a whole one)',
    ]);
    expect(() => parsePlateAnnotations('well,field,x,y\n', 'a.csv', plate)).toThrow(
      'a.csv line 1: the header must have well,field,frame,x,y (field may be left out); it lacks frame',
    );
    expect(() => parsePlateAnnotations('well,field,frame,x,y\n', 'a.csv', plate)).toThrow('no annotated mitosis');
  });
});
