import { createVolume } from '@mitosis/volume';
import { previewFrames, renderPreview } from './preview';

describe('previewFrames', () => {
  it('spreads the panels evenly from the first frame to the last', () => {
    expect(previewFrames(120, 6)).toEqual([1, 25, 49, 72, 96, 120]);
    expect(previewFrames(4, 6)).toEqual([1, 2, 3, 4]);
    expect(previewFrames(9, 1)).toEqual([1]);
  });
});

describe('renderPreview', () => {
  // Frame t (0-based) is filled with grey 10 * (t + 1).
  const volume = createVolume(Uint8Array, 5, 40, 50);
  for (let t = 0; t < 5; t++) volume.data.fill(10 * (t + 1), t * 2000, (t + 1) * 2000);
  const at = (img: { rgb: Uint8Array; width: number }, x: number, y: number) => Array.from(img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

  it('lays the frames side by side, 4 px apart, in grey', () => {
    const img = renderPreview(volume, 8, [], { panels: 3 });
    expect(img.frames).toEqual([1, 3, 5]);
    expect(img).toMatchObject({ width: 3 * 50 + 2 * 4, height: 40 });
    expect(at(img, 0, 0)).toEqual([10, 10, 10]);
    expect(at(img, 54, 20)).toEqual([30, 30, 30]);
    expect(at(img, 108, 39)).toEqual([50, 50, 50]);
    expect(at(img, 51, 5)).toEqual([16, 16, 16]);
  });

  it('rings a mitosis in green on its frame, in orange on nearby frames, not elsewhere', () => {
    const img = renderPreview(volume, 8, [{ frame: 3, x: 25, y: 20 }], { panels: 5, window: 1, ringRadius: 10 });
    const panel = (i: number) => i * 54;
    expect(at(img, panel(2) + 35, 20)).toEqual([40, 230, 60]);
    expect(at(img, panel(2) + 25, 20)).toEqual([30, 30, 30]);
    expect(at(img, panel(1) + 25, 10)).toEqual([250, 170, 20]);
    expect(at(img, panel(3) + 15, 20)).toEqual([250, 170, 20]);
    expect(at(img, panel(0) + 35, 20)).toEqual([10, 10, 10]);
    expect(at(img, panel(4) + 35, 20)).toEqual([50, 50, 50]);
  });

  it('shows 16-bit videos on the 8-bit scale', () => {
    const deep = createVolume(Uint16Array, 1, 4, 4);
    deep.data.fill(257 * 200);
    expect(at(renderPreview(deep, 16, []), 1, 1)).toEqual([200, 200, 200]);
  });

  it('rejects a panel count that is not a positive integer', () => {
    expect(() => renderPreview(volume, 8, [], { panels: 0 })).toThrow(/panels must be a positive integer/);
  });
});
