// Written here, not through zarrita: zarrita writes Zarr v3 only, and the NGFF 0.4 that napari-ome-zarr
// and zarr-python 2 read is Zarr v2 (.zgroup/.zattrs/.zarray, one zlib chunk per frame).
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { InvalidInputError } from '@mitosis/core';
import type { Volume } from '@mitosis/volume';

type Samples = Uint8Array | Uint16Array | Int32Array | Float32Array;

/** Where the stored grid sits on the video: its scale and offset per axis, in the video's units. */
export interface OmeZarrPlacement {
  /** Frames, rows and columns per stored step (a downscaled grid has y = x = factor). */
  readonly scale: { readonly t: number; readonly y: number; readonly x: number };
  /** Position of stored voxel 0 (0-based frame of the video; centre of the first downscaled pixel). */
  readonly translation: { readonly t: number; readonly y: number; readonly x: number };
  /** NGFF units, e.g. 'second' / 'micrometer'; absent: frames and pixels. */
  readonly units?: { readonly time?: string; readonly space?: string };
}

export interface OmeZarrImage {
  /** Shown by viewers as the layer's name. */
  readonly name: string;
  readonly volume: Volume<Samples>;
  readonly placement: OmeZarrPlacement;
  /** Integer label images drawn over the image (NGFF `labels/<name>`), on the same grid. */
  readonly labels?: Readonly<Record<string, Volume<Uint8Array | Uint16Array | Int32Array>>>;
}

const DTYPES: ReadonlyArray<[new (n: number) => Samples, string]> = [
  [Uint8Array, '|u1'],
  [Uint16Array, '<u2'],
  [Int32Array, '<i4'],
  [Float32Array, '<f4'],
];

function dtypeOf(data: Samples): string {
  const found = DTYPES.find(([type]) => data instanceof type);
  if (found === undefined) throw new InvalidInputError('OME-Zarr export: samples must be uint8, uint16, int32 or float32');
  return found[1];
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function multiscales(name: string, placement: OmeZarrPlacement): unknown[] {
  const { scale, translation, units } = placement;
  const axis = (n: string, type: string, unit: string | undefined): Record<string, string> => ({ name: n, type, ...(unit === undefined ? {} : { unit }) });
  return [
    {
      version: '0.4',
      name,
      axes: [axis('t', 'time', units?.time), axis('y', 'space', units?.space), axis('x', 'space', units?.space)],
      datasets: [
        {
          path: '0',
          coordinateTransformations: [
            { type: 'scale', scale: [scale.t, scale.y, scale.x] },
            { type: 'translation', translation: [translation.t, translation.y, translation.x] },
          ],
        },
      ],
    },
  ];
}

/** One array `<dir>/0`: a chunk per frame, little endian, zlib-compressed, C order. */
async function writeLevel(dir: string, volume: Volume<Samples>): Promise<void> {
  const { data, frames, height, width } = volume;
  if (data.length !== frames * height * width) {
    throw new InvalidInputError(`OME-Zarr export: ${data.length} samples are not ${frames} frames of ${width}x${height}`);
  }
  const level = path.join(dir, '0');
  await mkdir(level, { recursive: true });
  await writeFile(
    path.join(level, '.zarray'),
    json({
      zarr_format: 2,
      shape: [frames, height, width],
      chunks: [1, height, width],
      dtype: dtypeOf(data),
      compressor: { id: 'zlib', level: 6 },
      fill_value: 0,
      order: 'C',
      filters: null,
      dimension_separator: '/',
    }),
  );
  const plane = height * width;
  for (let t = 0; t < frames; t++) {
    const frame = data.subarray(t * plane, (t + 1) * plane);
    // Typed arrays are little endian on every platform Node supports.
    const bytes = new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
    await mkdir(path.join(level, String(t), '0'), { recursive: true });
    await writeFile(path.join(level, String(t), '0', '0'), deflateSync(bytes, { level: 6 }));
  }
}

/**
 * Writes `image` (and its label images) as an OME-Zarr (NGFF 0.4) folder at `target`: written
 * under a temporary name and renamed, so a failed export leaves nothing half-written.
 */
export async function writeOmeZarr(target: string, image: OmeZarrImage): Promise<void> {
  const { volume, labels = {} } = image;
  for (const [name, label] of Object.entries(labels)) {
    if (label.frames !== volume.frames || label.height !== volume.height || label.width !== volume.width) {
      throw new InvalidInputError(`OME-Zarr export: label image "${name}" is not on the image's ${volume.frames}x${volume.height}x${volume.width} grid`);
    }
  }
  const partial = `${target}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  try {
    await mkdir(partial, { recursive: true });
    await writeFile(path.join(partial, '.zgroup'), json({ zarr_format: 2 }));
    const names = Object.keys(labels);
    await writeFile(path.join(partial, '.zattrs'), json({ multiscales: multiscales(image.name, image.placement) }));
    await writeLevel(partial, volume);
    if (names.length > 0) {
      const labelRoot = path.join(partial, 'labels');
      await mkdir(labelRoot, { recursive: true });
      await writeFile(path.join(labelRoot, '.zgroup'), json({ zarr_format: 2 }));
      await writeFile(path.join(labelRoot, '.zattrs'), json({ labels: names }));
      for (const name of names) {
        const dir = path.join(labelRoot, name);
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, '.zgroup'), json({ zarr_format: 2 }));
        await writeFile(path.join(dir, '.zattrs'), json({ multiscales: multiscales(name, image.placement), 'image-label': { version: '0.4', source: { image: '../../' } } }));
        await writeLevel(dir, labels[name] as Volume<Samples>);
      }
    }
    await rm(target, { recursive: true, force: true });
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}
