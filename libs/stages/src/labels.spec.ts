import { buildMitosisLabels } from './labels';

describe('buildMitosisLabels', () => {
  it('places each annotation in downscaled pixels and dilates it into an octahedron of radius 3', () => {
    const grid = { firstFrame: 11, frames: 9, height: 16, width: 16, factor: 4 };
    // Original (x=33.5, y=21.5) is the centre of downscaled pixel (8, 5); frame 15 is t = 4.
    const labels = buildMitosisLabels([{ frame: 15, x: 33.5, y: 21.5 }], grid);
    const at = (t: number, y: number, x: number): number => labels.data[(t * 16 + y) * 16 + x]!;
    expect(at(4, 5, 8)).toBe(1);
    expect(at(1, 5, 8)).toBe(1);
    expect(at(0, 5, 8)).toBe(0);
    expect(at(4, 5, 11)).toBe(1);
    expect(at(4, 5, 12)).toBe(0);
    expect(at(5, 6, 9)).toBe(1);
    expect(at(6, 6, 9)).toBe(0);
    // An octahedron of radius 3 holds 1 + 6 + 18 + 38 = 63 voxels.
    expect(labels.data.reduce((a, b) => a + b, 0)).toBe(63);
  });

  it('ignores annotations outside the sequence and honours the dilation count', () => {
    const grid = { firstFrame: 1, frames: 3, height: 8, width: 8, factor: 1 };
    const labels = buildMitosisLabels(
      [
        { frame: 2, x: 4, y: 4 },
        { frame: 9, x: 1, y: 1 },
      ],
      grid,
      { dilations: 0 },
    );
    expect(labels.data.reduce((a, b) => a + b, 0)).toBe(1);
    expect(labels.data[(1 * 8 + 4) * 8 + 4]).toBe(1);
  });
});
