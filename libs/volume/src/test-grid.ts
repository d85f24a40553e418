import type { Volume, VoxelArray } from './volume';

/**
 * Test helper (not exported from the lib): writes small binary volumes as pictures, one string
 * per row, '#' = 1 and '.' = 0, so hand-worked cases in the specs read as what they are.
 */
export function grid(frames: readonly (readonly string[])[]): Volume<Uint8Array> {
  const height = frames[0]?.length ?? 0;
  const width = frames[0]?.[0]?.length ?? 0;
  const data = new Uint8Array(frames.length * height * width);
  frames.forEach((rows, t) => {
    if (rows.length !== height) throw new Error(`grid: frame ${t} has ${rows.length} rows, expected ${height}`);
    rows.forEach((row, y) => {
      if (row.length !== width) throw new Error(`grid: frame ${t} row ${y} has ${row.length} columns`);
      for (let x = 0; x < width; x++) data[(t * height + y) * width + x] = row[x] === '#' ? 1 : 0;
    });
  });
  return { data, frames: frames.length, height, width };
}

/** The inverse of {@link grid}: non-zero voxels as '#', or as their value when `digits`. */
export function picture(volume: Volume<VoxelArray>, digits = false): string[][] {
  const out: string[][] = [];
  for (let t = 0; t < volume.frames; t++) {
    const rows: string[] = [];
    for (let y = 0; y < volume.height; y++) {
      let row = '';
      for (let x = 0; x < volume.width; x++) {
        const v = volume.data[(t * volume.height + y) * volume.width + x];
        row += v === 0 ? '.' : digits ? String(v) : '#';
      }
      rows.push(row);
    }
    out.push(rows);
  }
  return out;
}
