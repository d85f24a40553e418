import { windowStarts } from './detector';

describe('windowStarts', () => {
  it('slides windows of k frames with a step of 2 and ends flush with the sequence', () => {
    expect(windowStarts(12, 8, 2)).toEqual([0, 2, 4]);
    expect(windowStarts(13, 8, 2)).toEqual([0, 2, 4, 5]);
    expect(windowStarts(8, 8, 2)).toEqual([0]);
    expect(windowStarts(7, 8, 2)).toEqual([]);
  });
});
