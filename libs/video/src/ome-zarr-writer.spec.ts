import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { probeOmeZarr, readOmeZarr } from './ome-zarr';
import { writeOmeZarr } from './ome-zarr-writer';

const [T, H, W] = [3, 5, 7];
const probability = Float32Array.from({ length: T * H * W }, (_, i) => (i % 11) / 10);
const labels = Int32Array.from({ length: T * H * W }, (_, i) => (i % 13 === 0 ? 1 + (i % 3) : 0));
const placement = { scale: { t: 300, y: 2.6, x: 2.6 }, translation: { t: 3000, y: 1.95, x: 1.95 }, units: { time: 'second', space: 'micrometer' } } as const;

/** Debian's python3-zarr (zarr-python 2), the independent reader; absent: that check is skipped. */
const python = '/usr/bin/python3';
const hasZarrPython = existsSync(python) && spawnSync(python, ['-c', 'import zarr, numpy'], { encoding: 'utf8' }).status === 0;

describe('writeOmeZarr', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ome-zarr-writer-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes an NGFF 0.4 image with a label image that the project reader reads back', async () => {
    const target = path.join(dir, 'detections.ome.zarr');
    await writeOmeZarr(target, {
      name: 'M3 probability',
      volume: { data: probability, frames: T, height: H, width: W },
      placement,
      labels: { detections: { data: labels, frames: T, height: H, width: W } },
    });
    expect((await readdir(dir)).sort()).toEqual(['detections.ome.zarr']);
    const info = await probeOmeZarr(target);
    expect(info).toMatchObject({ kind: 'ome-zarr', ngffVersion: '0.4', frameCount: T, width: W, height: H, dataType: 'float32' });
    expect(info.physical).toEqual({ pixelSizeUm: { y: 2.6, x: 2.6 }, frameIntervalS: 300 });
    const label = await readOmeZarr(path.join(target, 'labels', 'detections'));
    expect(label.volume).toMatchObject({ frames: T, height: H, width: W });
    // int32 is rescaled by the reader: zero stays zero, the largest label becomes 65535.
    for (let i = 0; i < labels.length; i++) expect(label.volume.data[i] === 0).toBe(labels[i] === 0);
  });

  it('refuses a label image off the grid and leaves nothing behind', async () => {
    const target = path.join(dir, 'bad.ome.zarr');
    await expect(
      writeOmeZarr(target, {
        name: 'p',
        volume: { data: probability, frames: T, height: H, width: W },
        placement,
        labels: { detections: { data: new Int32Array(4), frames: 1, height: 2, width: 2 } },
      }),
    ).rejects.toThrow(/label image "detections" is not on the image's 3x5x7 grid/);
    expect(await readdir(dir)).toEqual([]);
  });

  (hasZarrPython ? it : it.skip)('is read back to the same samples by zarr-python 2 (python3-zarr)', async () => {
    const target = path.join(dir, 'p.ome.zarr');
    await writeOmeZarr(target, {
      name: 'p',
      volume: { data: probability, frames: T, height: H, width: W },
      placement,
      labels: { detections: { data: labels, frames: T, height: H, width: W } },
    });
    const script = [
      'import json, sys, zarr',
      'root = zarr.open_group(sys.argv[1], mode="r")',
      'image = root["0"][:]',
      'label = root["labels/detections/0"][:]',
      'print(json.dumps({"shape": list(image.shape), "dtype": str(image.dtype), "image": [float(v) for v in image.ravel()],',
      '  "label": [int(v) for v in label.ravel()], "labels": root["labels"].attrs["labels"], "axes": [a["name"] for a in root.attrs["multiscales"][0]["axes"]]}))',
    ].join('\n');
    const run = spawnSync(python, ['-c', script, target], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const read = JSON.parse(run.stdout) as { shape: number[]; dtype: string; image: number[]; label: number[]; labels: string[]; axes: string[] };
    expect(read).toMatchObject({ shape: [T, H, W], dtype: 'float32', labels: ['detections'], axes: ['t', 'y', 'x'] });
    expect(read.image).toEqual(Array.from(probability));
    expect(read.label).toEqual(Array.from(labels));
  });
  if (!hasZarrPython) console.log(`writeOmeZarr: the zarr-python check is skipped: ${python} with zarr and numpy is not installed (apt-get install python3-zarr)`);
});
