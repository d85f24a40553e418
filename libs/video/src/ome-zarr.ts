import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FrameRange } from '@mitosis/core';
import type { BlobStore } from '@mitosis/core';
import { InvalidInputError, NotFoundError, ResourceExhaustedError } from '@mitosis/core';
import { loadZarrita, runBounded } from '@mitosis/tensor-store';
import type { Volume } from '@mitosis/volume';
import type { AsyncReadable, DataType, Array as ZarrArray } from 'zarrita';
import type { PhysicalSizes } from './container-metadata';
import { chooseChannel, toMicrometres, toSeconds } from './container-metadata';
import type { RawVideo, ReadVideoOptions, VideoInfo } from './read-video';

/**
 * OME-Zarr (NGFF 0.4 on Zarr v2, NGFF 0.5 on Zarr v3) as a video: the metadata documents are
 * read here, the chunks through zarrita. Only the full-resolution level (multiscales[0],
 * datasets[0]) is read, one channel and one z slice of it, and only the frames asked for.
 */

/** Where an OME-Zarr lives: a local folder, or any zarrita store (S3, HTTP) with a name for messages. */
export type OmeZarrLocation = string | { readonly store: AsyncReadable; readonly name: string };

export type { PhysicalSizes } from './container-metadata';

export interface OmeZarrOptions {
  /** A channel by its omero label or its 0-based index; channel 0 when absent. */
  readonly channel?: string | number;
}

/** What an OME-Zarr video is, from its metadata documents alone. */
export interface OmeZarrInfo extends VideoInfo {
  readonly kind: 'ome-zarr';
  readonly ngffVersion: string;
  /** One name per channel: the omero label, or the 0-based index where there is none. */
  readonly channels: string[];
  /** 0-based index of the channel read. */
  readonly channel: number;
  /** The z slice read when the video has several (the middle one, index floor(count / 2)). */
  readonly zSlice?: { readonly index: number; readonly count: number };
  /** Zarr data type of the full-resolution array (`uint16`, `float32`...). */
  readonly dataType: string;
  readonly physical?: PhysicalSizes;
}

export type OmeZarrVideo = RawVideo & Omit<OmeZarrInfo, keyof VideoInfo> & Pick<OmeZarrInfo, 'kind' | 'channels' | 'channel'>;

interface Axis {
  readonly name: string;
  readonly type?: string;
  readonly unit?: string;
}

interface Layout {
  readonly name: string;
  readonly store: AsyncReadable;
  readonly zarrFormat: 2 | 3;
  readonly info: OmeZarrInfo;
  readonly axes: readonly Axis[];
  readonly datasetPath: string;
  readonly shape: readonly number[];
  readonly encodeChunkKey: (coords: readonly number[]) => string;
  readonly blosc: boolean;
}

type Json = Record<string, unknown>;

const METADATA_FILES = new Set(['.zattrs', '.zarray', '.zgroup', '.zmetadata', 'zarr.json']);

/** Zarr v2 dtype codes (without byte order) to zarrita's data type names. */
const V2_DTYPES: Readonly<Record<string, string>> = { u1: 'uint8', u2: 'uint16', u4: 'uint32', i1: 'int8', i2: 'int16', i4: 'int32', f4: 'float32', f8: 'float64' };
const SUPPORTED_DTYPES = new Set(Object.values(V2_DTYPES));

/** V8's largest typed array length on 64-bit hosts, as in read-video. */
const MAX_VOLUME_SAMPLES = 2 ** 32 - 1;

/** Chunks fetched at once: enough to hide an object store's latency, few enough to bound memory. */
const CHUNKS_IN_FLIGHT = 8;

/** zarrita has a folder store in @zarrita/storage, a devDependency only, so a few lines of fs here. */
function folderStore(folder: string): AsyncReadable {
  return {
    async get(key) {
      try {
        return new Uint8Array(await readFile(path.join(folder, ...key.split('/').filter(Boolean))));
      } catch (error: unknown) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
        throw error;
      }
    },
  };
}

/**
 * An OME-Zarr kept in object storage under `prefix` (an S3 bucket through the BlobStore the
 * services use), read where it lies, chunk by chunk; `name` is what errors call it.
 */
export function blobStoreLocation(store: BlobStore, prefix: string, name: string): OmeZarrLocation {
  const root = prefix.replace(/\/+$/, '');
  return {
    name,
    store: {
      async get(key: string): Promise<Uint8Array | undefined> {
        try {
          return await store.get(`${root}/${key.replace(/^\/+/, '')}`);
        } catch (error: unknown) {
          if (error instanceof NotFoundError) return undefined;
          throw error;
        }
      },
    },
  };
}

function resolveLocation(location: OmeZarrLocation): { store: AsyncReadable; name: string } {
  return typeof location === 'string' ? { store: folderStore(location), name: location } : location;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readJson(store: AsyncReadable, name: string, key: string): Promise<Json | undefined> {
  const bytes = await store.get(`/${key}`);
  if (bytes === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error: unknown) {
    throw new InvalidInputError(`${name}: ${key} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (!isObject(parsed)) throw new InvalidInputError(`${name}: ${key} is not a JSON object`);
  return parsed;
}

/** The group's NGFF attributes: `.zattrs` (Zarr v2, NGFF <= 0.4) or zarr.json's `attributes.ome` (Zarr v3, NGFF 0.5). */
async function readGroupAttributes(store: AsyncReadable, name: string): Promise<{ zarrFormat: 2 | 3; attributes: Json; version?: string }> {
  const v3 = await readJson(store, name, 'zarr.json');
  if (v3 !== undefined) {
    const attributes = isObject(v3.attributes) ? v3.attributes : {};
    const ome = isObject(attributes.ome) ? attributes.ome : undefined;
    if (!ome) throw new InvalidInputError(`${name}: zarr.json has no "ome" attributes; not an OME-Zarr (NGFF 0.5) image`);
    return { zarrFormat: 3, attributes: ome, version: typeof ome.version === 'string' ? ome.version : undefined };
  }
  const v2 = await readJson(store, name, '.zattrs');
  if (v2 === undefined) throw new InvalidInputError(`${name}: neither zarr.json nor .zattrs found; not an OME-Zarr image`);
  return { zarrFormat: 2, attributes: v2 };
}

/**
 * Whether a folder (or store) holds an OME-Zarr image: a zarr.json with `ome.multiscales` or a
 * .zattrs with `multiscales`. A document that is there but not valid JSON also counts, so the
 * reader, not a fallback, reports what is wrong with it.
 */
export async function isOmeZarr(location: OmeZarrLocation): Promise<boolean> {
  const { store, name } = resolveLocation(location);
  try {
    const { attributes } = await readGroupAttributes(store, name);
    return Array.isArray(attributes.multiscales);
  } catch (error: unknown) {
    return error instanceof InvalidInputError && /not valid JSON/.test(error.message);
  }
}

function parseAxes(name: string, raw: unknown): Axis[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new InvalidInputError(`${name}: multiscales[0].axes is missing or empty`);
  const axes = raw.map((axis: unknown, i): Axis => {
    // NGFF 0.3 listed axes as bare names; 0.4 and 0.5 as objects.
    if (typeof axis === 'string') return { name: axis };
    if (!isObject(axis) || typeof axis.name !== 'string') throw new InvalidInputError(`${name}: multiscales[0].axes[${i}] has no name`);
    return {
      name: axis.name,
      type: typeof axis.type === 'string' ? axis.type : undefined,
      unit: typeof axis.unit === 'string' ? axis.unit : undefined,
    };
  });
  const names = axes.map((axis) => axis.name);
  if (new Set(names).size !== names.length) throw new InvalidInputError(`${name}: axes ${names.join(',')} repeat a name`);
  if (!names.includes('y') || !names.includes('x')) {
    throw new InvalidInputError(`${name}: axes ${names.join(',')} lack y and x; a video needs both`);
  }
  return axes;
}

/** The product of the `scale` transformations of a list, one factor per axis; undefined when none. */
function scaleOf(name: string, where: string, raw: unknown, rank: number): number[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw new InvalidInputError(`${name}: ${where}.coordinateTransformations is not a list`);
  let scale: number[] | undefined;
  for (const transform of raw) {
    if (!isObject(transform) || transform.type !== 'scale' || !Array.isArray(transform.scale)) continue;
    const factors = transform.scale as unknown[];
    if (factors.length !== rank || !factors.every((f) => typeof f === 'number' && Number.isFinite(f) && f > 0)) {
      throw new InvalidInputError(`${name}: ${where} scale ${JSON.stringify(factors)} is not ${rank} positive numbers, one per axis`);
    }
    scale = (factors as number[]).map((f, i) => f * (scale?.[i] ?? 1));
  }
  return scale;
}

function physicalSizes(axes: readonly Axis[], scale: readonly number[] | undefined): PhysicalSizes | undefined {
  if (!scale) return undefined;
  const factor = (axisName: string, convert: (value: number, unit: string) => number | undefined): number | undefined => {
    const i = axes.findIndex((axis) => axis.name === axisName);
    const unit = axes[i]?.unit;
    return i < 0 || unit === undefined ? undefined : convert(scale[i] ?? 1, unit);
  };
  const y = factor('y', toMicrometres);
  const x = factor('x', toMicrometres);
  const t = factor('t', toSeconds);
  const physical: PhysicalSizes = { ...(y !== undefined && x !== undefined ? { pixelSizeUm: { y, x } } : {}), ...(t !== undefined ? { frameIntervalS: t } : {}) };
  return Object.keys(physical).length > 0 ? physical : undefined;
}

/** A safe relative path inside the store: no absolute path, no `..`. */
function datasetPathOf(name: string, raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') throw new InvalidInputError(`${name}: multiscales[0].datasets[0].path is missing`);
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (raw.startsWith('/') || parts.includes('..') || parts.length === 0) {
    throw new InvalidInputError(`${name}: dataset path "${raw}" must stay inside the image`);
  }
  return parts.join('/');
}

interface ArrayHeader {
  readonly shape: number[];
  readonly dataType: string;
  readonly encodeChunkKey: (coords: readonly number[]) => string;
  /** Chunk files are whole Blosc frames (not inside shards). */
  readonly blosc: boolean;
}

async function readArrayHeader(store: AsyncReadable, name: string, zarrFormat: 2 | 3, datasetPath: string): Promise<ArrayHeader> {
  const key = `${datasetPath}/${zarrFormat === 3 ? 'zarr.json' : '.zarray'}`;
  const meta = await readJson(store, name, key);
  if (meta === undefined) throw new InvalidInputError(`${name}: array "${datasetPath}" has no ${key}`);
  const shape = meta.shape;
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && (n as number) >= 0)) {
    throw new InvalidInputError(`${name}: ${key} has no valid shape`);
  }
  if (zarrFormat === 2) {
    const dtype = typeof meta.dtype === 'string' ? meta.dtype : '';
    const separator = meta.dimension_separator === '/' ? '/' : '.';
    const code = /^[<>|=]?([uif][1248])$/.exec(dtype)?.[1];
    const blosc = isObject(meta.compressor) && meta.compressor.id === 'blosc';
    return { shape: shape as number[], dataType: (code && V2_DTYPES[code]) ?? dtype, encodeChunkKey: (coords) => coords.join(separator), blosc };
  }
  const encoding = isObject(meta.chunk_key_encoding) ? meta.chunk_key_encoding : {};
  const configured = isObject(encoding.configuration) ? encoding.configuration.separator : undefined;
  const v2Encoding = encoding.name === 'v2';
  const separator = configured === '.' || configured === '/' ? configured : v2Encoding ? '.' : '/';
  const dataType = typeof meta.data_type === 'string' ? meta.data_type : JSON.stringify(meta.data_type);
  return {
    shape: shape as number[],
    dataType,
    encodeChunkKey: (coords) => (v2Encoding ? coords.join(separator) : ['c', ...coords].join(separator)),
    blosc: Array.isArray(meta.codecs) && meta.codecs.some((codec) => isObject(codec) && codec.name === 'blosc'),
  };
}

async function openLayout(location: OmeZarrLocation, options: OmeZarrOptions): Promise<Layout> {
  const { store, name } = resolveLocation(location);
  const { zarrFormat, attributes, version: groupVersion } = await readGroupAttributes(store, name);
  const document = zarrFormat === 3 ? 'zarr.json' : '.zattrs';
  const multiscales = attributes.multiscales;
  if (!Array.isArray(multiscales) || multiscales.length === 0) {
    throw new InvalidInputError(`${name}: ${document} has no multiscales; not an OME-Zarr image (a plate or a label group is not read as a video)`);
  }
  const multiscale: unknown = multiscales[0];
  if (!isObject(multiscale)) throw new InvalidInputError(`${name}: multiscales[0] in ${document} is not an object`);
  const axes = parseAxes(name, multiscale.axes);
  const datasets = multiscale.datasets;
  if (!Array.isArray(datasets) || datasets.length === 0 || !isObject(datasets[0])) {
    throw new InvalidInputError(`${name}: multiscales[0].datasets in ${document} is missing or empty`);
  }
  const dataset = datasets[0] as Json;
  const datasetPath = datasetPathOf(name, dataset.path);
  const datasetScale = scaleOf(name, 'multiscales[0].datasets[0]', dataset.coordinateTransformations, axes.length);
  const sharedScale = scaleOf(name, 'multiscales[0]', multiscale.coordinateTransformations, axes.length);
  // Transformations of the multiscale apply after those of the dataset (NGFF 0.4 section 3.4).
  const scale = datasetScale && sharedScale ? datasetScale.map((f, i) => f * sharedScale[i]) : (datasetScale ?? sharedScale);

  const header = await readArrayHeader(store, name, zarrFormat, datasetPath);
  const { shape, dataType } = header;
  if (shape.length !== axes.length) {
    throw new InvalidInputError(`${name}: array "${datasetPath}" has ${shape.length} dimensions but the axes are ${axes.map((a) => a.name).join(',')}`);
  }
  if (!SUPPORTED_DTYPES.has(dataType)) {
    throw new InvalidInputError(`${name}: array "${datasetPath}" has data type ${dataType}; supported are ${[...SUPPORTED_DTYPES].join(', ')}`);
  }
  const size = (axisName: string): number | undefined => {
    const i = axes.findIndex((axis) => axis.name === axisName);
    return i < 0 ? undefined : shape[i];
  };
  axes.forEach((axis, i) => {
    if (!['t', 'c', 'z', 'y', 'x'].includes(axis.name) && shape[i] !== 1) {
      throw new InvalidInputError(`${name}: axis "${axis.name}" has size ${shape[i]}; only t, c, z, y and x may be longer than 1`);
    }
  });
  const height = size('y') ?? 0;
  const width = size('x') ?? 0;
  const frameCount = size('t') ?? 1;
  if (height === 0 || width === 0 || frameCount === 0) throw new InvalidInputError(`${name}: array "${datasetPath}" is empty (shape ${shape.join('x')})`);

  const channelCount = size('c') ?? 1;
  const omero = isObject(attributes.omero) && Array.isArray(attributes.omero.channels) ? (attributes.omero.channels as unknown[]) : [];
  const channels = Array.from({ length: channelCount }, (_, i) => {
    const entry = omero[i];
    return isObject(entry) && typeof entry.label === 'string' && entry.label !== '' ? entry.label : String(i);
  });
  const channel = chooseChannel(name, channels, options.channel);
  const zCount = size('z') ?? 1;
  const physical = physicalSizes(axes, scale);
  const multiscaleVersion = typeof multiscale.version === 'string' ? multiscale.version : undefined;
  const info: OmeZarrInfo = {
    frameCount,
    width,
    height,
    bitDepth: dataType === 'uint8' ? 8 : 16,
    kind: 'ome-zarr',
    source: name,
    ngffVersion: groupVersion ?? multiscaleVersion ?? (zarrFormat === 3 ? '0.5' : '0.4'),
    channels,
    channel,
    ...(zCount > 1 ? { zSlice: { index: Math.floor(zCount / 2), count: zCount } } : {}),
    dataType,
    ...(physical ? { physical } : {}),
  };
  return { name, store, zarrFormat, info, axes, datasetPath, shape, encodeChunkKey: header.encodeChunkKey, blosc: header.blosc };
}

/**
 * Frame count, size, channels and physical sizes of an OME-Zarr from its metadata documents
 * alone (the group's and the full-resolution array's): no chunk is read.
 */
export async function probeOmeZarr(location: OmeZarrLocation, options: OmeZarrOptions = {}): Promise<OmeZarrInfo> {
  return (await openLayout(location, options)).info;
}

function selectFrames(name: string, frameCount: number, range: FrameRange | undefined): FrameRange {
  if (range === undefined) return { first: 1, last: frameCount };
  const { first, last } = range;
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last < first) {
    throw new InvalidInputError(`${name}: frame range ${first}:${last} is empty or starts before frame 1`);
  }
  if (last > frameCount) throw new InvalidInputError(`${name}: frame range ${first}:${last} ends after the last frame (${frameCount})`);
  return range;
}

/**
 * The store seen by zarrita for one array: a chunk key with nothing behind it is an error. Zarr
 * allows absent chunks (read as the fill value), but a video's writer writes every frame, so a
 * hole means a damaged or partly copied image.
 */
function strictChunkStore(layout: Layout): AsyncReadable {
  const prefix = `/${layout.datasetPath}/`;
  const chunkOf = (key: string): string | undefined => (key.startsWith(prefix) && !METADATA_FILES.has(key.slice(key.lastIndexOf('/') + 1)) ? key.slice(prefix.length) : undefined);
  const missing = (chunk: string): InvalidInputError => new InvalidInputError(`${layout.name}: array "${layout.datasetPath}" chunk ${chunk} is missing`);
  const { store } = layout;
  return {
    async get(key, opts) {
      const bytes = await store.get(key, opts);
      const chunk = chunkOf(key);
      if (chunk === undefined) return bytes;
      if (bytes === undefined) throw missing(chunk);
      // zarrita's Blosc decoder returns a full chunk from a cut frame; the frame header says its length.
      const stored = bytes.length >= 16 ? new DataView(bytes.buffer, bytes.byteOffset, 16).getUint32(12, true) : Infinity;
      if (layout.blosc && bytes.length < stored) {
        throw new InvalidInputError(
          `${layout.name}: array "${layout.datasetPath}" chunk ${chunk} holds ${bytes.length} Blosc bytes, fewer than its header's; it is damaged or truncated`,
        );
      }
      return bytes;
    },
    // Range reads (shards of Zarr v3) pass through; an absent shard is as missing as an absent chunk.
    ...(store.getRange
      ? {
          getRange: async (key, range, opts) => {
            const bytes = await store.getRange?.(key, range, opts);
            const chunk = chunkOf(key);
            if (bytes === undefined && chunk !== undefined) throw missing(chunk);
            return bytes;
          },
        }
      : {}),
  };
}

type Samples = Uint8Array | Uint16Array | Float32Array | Float64Array;

function allocateSamples(dataType: string, length: number): Samples {
  if (dataType === 'uint8') return new Uint8Array(length);
  if (dataType === 'uint16') return new Uint16Array(length);
  // 8- and 16-bit integers and float32 are exact in float32; 32-bit integers and float64 need float64.
  return dataType === 'float32' || dataType === 'int8' || dataType === 'int16' ? new Float32Array(length) : new Float64Array(length);
}

/**
 * Other data types become uint16 by a linear map of the read's own range: the smallest finite
 * value read goes to 0, the largest to 65535 (all 0 when they are equal); NaN reads as 0 and
 * infinities clamp to the ends. The range is that of the frames, channel and slice read.
 */
function rescaleToUint16(samples: Float32Array | Float64Array): Uint16Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of samples) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const out = new Uint16Array(samples.length);
  if (!(max > min)) return out;
  const gain = 65535 / (max - min);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (Number.isNaN(v)) continue;
    out[i] = Math.round(Math.min(65535, Math.max(0, (v - min) * gain)));
  }
  return out;
}

/**
 * Reads an OME-Zarr image as a video: the full-resolution level, one channel (by omero label or
 * 0-based index; 0 when absent), the middle z slice when there are several, and only the
 * chunks holding the frames asked for. uint8 and uint16 are kept; other types are rescaled to
 * uint16 (see rescaleToUint16).
 */
export async function readOmeZarr(location: OmeZarrLocation, options: ReadVideoOptions & OmeZarrOptions = {}): Promise<OmeZarrVideo> {
  const layout = await openLayout(location, options);
  const { name, info, axes, datasetPath, shape } = layout;
  const range = selectFrames(name, info.frameCount, options.frames);
  const frames = range.last - range.first + 1;
  const { width, height } = info;
  if (frames * width * height > MAX_VOLUME_SAMPLES) {
    throw new ResourceExhaustedError(`${name}: ${frames} frames of ${width}x${height} exceed one typed array (${MAX_VOLUME_SAMPLES} samples); read fewer frames at a time`);
  }

  const zarr = await loadZarrita();
  const arrayLocation = zarr.root(strictChunkStore(layout)).resolve(datasetPath);
  let array: ZarrArray<DataType, AsyncReadable>;
  try {
    array = layout.zarrFormat === 3 ? await zarr.open.v3(arrayLocation, { kind: 'array' }) : await zarr.open.v2(arrayLocation, { kind: 'array', attrs: false });
  } catch (error: unknown) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError(`${name}: array "${datasetPath}" cannot be opened (${(error as Error).message})`, { cause: error });
  }
  const chunkShape = array.chunks;

  // Per axis: the array indices read (t: the frame range; y, x: all; c, z, others: one).
  const wanted = axes.map((axis, i): readonly [number, number] => {
    if (axis.name === 't') return [range.first - 1, range.last];
    if (axis.name === 'y' || axis.name === 'x') return [0, shape[i]];
    if (axis.name === 'c') return [info.channel, info.channel + 1];
    if (axis.name === 'z') return [info.zSlice?.index ?? 0, (info.zSlice?.index ?? 0) + 1];
    return [0, 1];
  });
  const tAxis = axes.findIndex((axis) => axis.name === 't');
  const yAxis = axes.findIndex((axis) => axis.name === 'y');
  const xAxis = axes.findIndex((axis) => axis.name === 'x');
  const chunkRanges = wanted.map(([from, to], i) => [Math.floor(from / chunkShape[i]), Math.ceil(to / chunkShape[i])] as const);

  const samples = allocateSamples(info.dataType, frames * height * width);
  const tasks: (() => Promise<void>)[] = [];
  const visit = (axis: number, coords: number[]): void => {
    if (axis === axes.length) {
      const chunkCoords = [...coords];
      tasks.push(() => copyChunk(chunkCoords));
      return;
    }
    for (let c = chunkRanges[axis][0]; c < chunkRanges[axis][1]; c++) visit(axis + 1, [...coords, c]);
  };

  const copyChunk = async (chunkCoords: number[]): Promise<void> => {
    const where = `array "${datasetPath}" chunk ${layout.encodeChunkKey(chunkCoords)}`;
    let chunk: { data: ArrayLike<unknown>; shape: number[]; stride: number[] };
    try {
      chunk = (await array.getChunk(chunkCoords)) as typeof chunk;
    } catch (error: unknown) {
      if (error instanceof InvalidInputError) throw error;
      throw new InvalidInputError(`${name}: ${where} cannot be decoded (${(error as Error).message}); it is damaged or truncated`, { cause: error });
    }
    const expected = chunkShape.reduce((a, b) => a * b, 1);
    if (chunk.data.length !== expected || chunk.shape.some((n, i) => n !== chunkShape[i])) {
      throw new InvalidInputError(`${name}: ${where} decodes to ${chunk.data.length} samples, not the ${expected} of its chunk shape; it is damaged or truncated`);
    }
    const data = chunk.data as ArrayLike<number>;
    // Offsets of the fixed axes, and the intersection of this chunk with the wanted block.
    let base = 0;
    const lo: number[] = [];
    const hi: number[] = [];
    chunkCoords.forEach((c, i) => {
      const start = c * chunkShape[i];
      lo.push(Math.max(wanted[i][0], start) - start);
      hi.push(Math.min(wanted[i][1], start + chunkShape[i]) - start);
      if (i !== tAxis && i !== yAxis && i !== xAxis) base += lo[i] * chunk.stride[i];
    });
    const tFrom = tAxis < 0 ? 0 : lo[tAxis];
    const tTo = tAxis < 0 ? 1 : hi[tAxis];
    const tStride = tAxis < 0 ? 0 : chunk.stride[tAxis];
    const tOrigin = tAxis < 0 ? 0 : chunkCoords[tAxis] * chunkShape[tAxis] - wanted[tAxis][0];
    const yOrigin = chunkCoords[yAxis] * chunkShape[yAxis];
    const xOrigin = chunkCoords[xAxis] * chunkShape[xAxis];
    const [yStride, xStride] = [chunk.stride[yAxis], chunk.stride[xAxis]];
    for (let t = tFrom; t < tTo; t++) {
      for (let y = lo[yAxis]; y < hi[yAxis]; y++) {
        const source = base + t * tStride + y * yStride;
        const target = ((tOrigin + t) * height + yOrigin + y) * width + xOrigin;
        for (let x = lo[xAxis]; x < hi[xAxis]; x++) samples[target + x] = data[source + x * xStride];
      }
    }
  };

  visit(0, []);
  await runBounded(tasks, CHUNKS_IN_FLIGHT);

  const pixels = samples instanceof Uint8Array || samples instanceof Uint16Array ? samples : rescaleToUint16(samples);
  const volume: Volume<Uint8Array | Uint16Array> = { data: pixels, frames, height, width };
  const { frameCount: totalFrames, width: _w, height: _h, source: _s, kind: _k, bitDepth, ...rest } = info;
  return {
    ...rest,
    volume,
    bitDepth,
    source: name,
    kind: 'ome-zarr',
    frameNames: Array.from({ length: frames }, (_, i) => `frame ${range.first + i}`),
    firstFrame: range.first,
    totalFrames,
  };
}
