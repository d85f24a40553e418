import { gunzipSync, gzipSync } from 'node:zlib';
import type { BlobStore } from '@mitosis/core';
import { InvalidInputError, NotFoundError } from '@mitosis/core';
import { crc32c } from './crc32c';

/**
 * Chunked n-dimensional arrays in the Zarr v3 layout (`<key>/zarr.json` plus chunks under
 * `<key>/c/i/j/k`), over any BlobStore: a local folder in the embedded mode, S3/MinIO in the
 * services. Arrays of the method are chunked by frames along the first axis, so a stage reads only
 * the frames it needs. Codecs: bytes (little-endian) -> gzip -> crc32c, so a damaged chunk is
 * detected on read instead of feeding garbage to a model.
 */
export type DataType = 'uint8' | 'uint16' | 'int32' | 'float32';
export type TypedArrayOf<D extends DataType> = D extends 'uint8'
  ? Uint8Array
  : D extends 'uint16'
    ? Uint16Array
    : D extends 'int32'
      ? Int32Array
      : Float32Array;
export type AnyTypedArray = Uint8Array | Uint16Array | Int32Array | Float32Array;

export interface NdArray<T extends AnyTypedArray = AnyTypedArray> {
  readonly data: T;
  readonly shape: readonly number[];
}

export interface ArrayMetadata {
  readonly shape: readonly number[];
  readonly chunkShape: readonly number[];
  readonly dataType: DataType;
  readonly dimensionNames?: readonly string[];
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface WriteArrayOptions {
  /** Chunk shape; default: one element of the first axis (one frame) by the full remaining axes. */
  readonly chunkShape?: readonly number[];
  readonly dimensionNames?: readonly string[];
  readonly attributes?: Readonly<Record<string, unknown>>;
  /** gzip level 0-9 (default 1: these are stage outputs read soon after, speed matters more). */
  readonly gzipLevel?: number;
}

const constructors = { uint8: Uint8Array, uint16: Uint16Array, int32: Int32Array, float32: Float32Array } as const;

export function dataTypeOf(data: AnyTypedArray): DataType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  return 'float32';
}

const product = (values: readonly number[]): number => values.reduce((a, b) => a * b, 1);

function checkShape(shape: readonly number[], length: number, what: string): void {
  if (shape.length === 0 || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new InvalidInputError(`${what}: shape [${shape.join(', ')}] is not a list of non-negative integers`);
  }
  if (product(shape) !== length) {
    throw new InvalidInputError(`${what}: shape [${shape.join(', ')}] holds ${product(shape)} values, the data has ${length}`);
  }
}

function chunkKey(key: string, index: readonly number[]): string {
  return `${key}/c/${index.join('/')}`;
}

function encodeChunk(data: AnyTypedArray, level: number): Uint8Array {
  // Typed arrays are little-endian on every platform Node runs on, which is what `bytes` asks.
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const packed = gzipSync(raw, { level });
  const out = new Uint8Array(packed.length + 4);
  out.set(packed, 0);
  new DataView(out.buffer).setUint32(packed.length, crc32c(packed), true);
  return out;
}

function decodeChunk(bytes: Uint8Array, dataType: DataType, length: number, where: string): AnyTypedArray {
  if (bytes.length < 4) throw new InvalidInputError(`${where}: chunk is truncated (${bytes.length} bytes)`);
  const body = bytes.subarray(0, bytes.length - 4);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
  if (crc32c(body) !== stored) throw new InvalidInputError(`${where}: chunk checksum mismatch (crc32c), the stored chunk is damaged`);
  let raw: Buffer;
  try {
    raw = gunzipSync(body);
  } catch (error: unknown) {
    throw new InvalidInputError(`${where}: chunk does not decompress`, { cause: error });
  }
  const Ctor = constructors[dataType];
  if (raw.length !== length * Ctor.BYTES_PER_ELEMENT) {
    throw new InvalidInputError(`${where}: chunk holds ${raw.length} bytes, expected ${length * Ctor.BYTES_PER_ELEMENT}`);
  }
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  return new Ctor(copy.buffer);
}

function metadataJson(meta: ArrayMetadata, level: number): string {
  return JSON.stringify(
    {
      zarr_format: 3,
      node_type: 'array',
      shape: meta.shape,
      data_type: meta.dataType,
      chunk_grid: { name: 'regular', configuration: { chunk_shape: meta.chunkShape } },
      chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
      fill_value: 0,
      codecs: [
        { name: 'bytes', configuration: { endian: 'little' } },
        { name: 'gzip', configuration: { level } },
        { name: 'crc32c' },
      ],
      ...(meta.dimensionNames ? { dimension_names: meta.dimensionNames } : {}),
      attributes: meta.attributes,
    },
    null,
    2,
  );
}

/** Iterates over every chunk index of a regular grid. */
function* chunkIndices(grid: readonly number[]): Generator<number[]> {
  const index = grid.map(() => 0);
  if (grid.some((g) => g === 0)) return;
  for (;;) {
    yield [...index];
    let axis = grid.length - 1;
    while (axis >= 0) {
      index[axis] += 1;
      if (index[axis] < grid[axis]) break;
      index[axis] = 0;
      axis -= 1;
    }
    if (axis < 0) return;
  }
}

/** Copies a hyper-rectangle between a full array and a chunk buffer (direction by `toChunk`). */
function copyBlock(
  full: AnyTypedArray,
  fullShape: readonly number[],
  fullOrigin: readonly number[],
  chunk: AnyTypedArray,
  chunkShape: readonly number[],
  extent: readonly number[],
  toChunk: boolean,
): void {
  const rank = fullShape.length;
  const fullStrides = fullShape.map((_, i) => product(fullShape.slice(i + 1)));
  const chunkStrides = chunkShape.map((_, i) => product(chunkShape.slice(i + 1)));
  const rowLength = extent[rank - 1];
  const outer = extent.slice(0, rank - 1);
  for (const idx of outer.length === 0 ? [[]] : chunkIndices(outer)) {
    let f = fullOrigin[rank - 1];
    let c = 0;
    for (let a = 0; a < rank - 1; a++) {
      f += (fullOrigin[a] + idx[a]) * fullStrides[a];
      c += idx[a] * chunkStrides[a];
    }
    if (toChunk) chunk.set(full.subarray(f, f + rowLength), c);
    else full.set(chunk.subarray(c, c + rowLength), f);
  }
}

/**
 * Writes an array: chunks first, metadata last, so a reader never sees metadata pointing at
 * chunks that are not there yet; rewriting the same key overwrites (a redelivered stage message
 * replaces its output rather than duplicating it).
 */
export async function writeArray(store: BlobStore, key: string, array: NdArray, options: WriteArrayOptions = {}): Promise<ArrayMetadata> {
  checkShape(array.shape, array.data.length, `array "${key}"`);
  const shape = array.shape;
  const chunkShape = options.chunkShape ?? [1, ...shape.slice(1)];
  if (chunkShape.length !== shape.length || chunkShape.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new InvalidInputError(`array "${key}": chunk shape [${chunkShape.join(', ')}] does not fit shape [${shape.join(', ')}]`);
  }
  const level = options.gzipLevel ?? 1;
  const dataType = dataTypeOf(array.data);
  const Ctor = constructors[dataType];
  const grid = shape.map((s, i) => Math.ceil(s / chunkShape[i]));
  for (const index of chunkIndices(grid)) {
    const origin = index.map((c, i) => c * chunkShape[i]);
    const extent = origin.map((o, i) => Math.min(chunkShape[i], shape[i] - o));
    const chunk = new Ctor(product(chunkShape)); // edge chunks are padded with the fill value, as Zarr asks
    copyBlock(array.data, shape, origin, chunk, chunkShape, extent, true);
    await store.put(chunkKey(key, index), encodeChunk(chunk, level));
  }
  const meta: ArrayMetadata = {
    shape: [...shape],
    chunkShape: [...chunkShape],
    dataType,
    ...(options.dimensionNames ? { dimensionNames: [...options.dimensionNames] } : {}),
    attributes: options.attributes ?? {},
  };
  await store.put(`${key}/zarr.json`, new TextEncoder().encode(metadataJson(meta, level)));
  return meta;
}

export async function readArrayMetadata(store: BlobStore, key: string): Promise<ArrayMetadata> {
  let text: string;
  try {
    text = new TextDecoder().decode(await store.get(`${key}/zarr.json`));
  } catch (error: unknown) {
    if (error instanceof NotFoundError) throw new NotFoundError(`no stored array "${key}"`, { cause: error });
    throw error;
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (error: unknown) {
    throw new InvalidInputError(`array "${key}": zarr.json is not JSON`, { cause: error });
  }
  const grid = json['chunk_grid'] as { configuration?: { chunk_shape?: number[] } } | undefined;
  const dataType = json['data_type'];
  if (json['zarr_format'] !== 3 || json['node_type'] !== 'array' || !Array.isArray(json['shape']) || !grid?.configuration?.chunk_shape) {
    throw new InvalidInputError(`array "${key}": zarr.json is not a Zarr v3 array`);
  }
  if (typeof dataType !== 'string' || !(dataType in constructors)) {
    throw new InvalidInputError(`array "${key}": data type ${String(dataType)} is not supported`);
  }
  const names = json['dimension_names'];
  return {
    shape: json['shape'] as number[],
    chunkShape: grid.configuration.chunk_shape,
    dataType: dataType as DataType,
    ...(Array.isArray(names) ? { dimensionNames: names as string[] } : {}),
    attributes: (json['attributes'] as Record<string, unknown> | undefined) ?? {},
  };
}

/**
 * Reads an array, or only the range [start, end) of its first axis (frames), fetching just the
 * chunks that overlap it.
 */
export async function readArray(
  store: BlobStore,
  key: string,
  range?: { readonly start: number; readonly end: number },
): Promise<NdArray & { readonly meta: ArrayMetadata }> {
  const meta = await readArrayMetadata(store, key);
  const { shape, chunkShape, dataType } = meta;
  const start = range?.start ?? 0;
  const end = range?.end ?? shape[0];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > shape[0] || start > end) {
    throw new InvalidInputError(`array "${key}": range [${start}, ${end}) is outside its first axis of ${shape[0]}`);
  }
  const outShape = [end - start, ...shape.slice(1)];
  const Ctor = constructors[dataType];
  const out = new Ctor(product(outShape));
  const grid = shape.map((s, i) => Math.ceil(s / chunkShape[i]));
  const firstChunk = Math.floor(start / chunkShape[0]);
  const lastChunk = end === start ? firstChunk - 1 : Math.floor((end - 1) / chunkShape[0]);
  for (let c0 = firstChunk; c0 <= lastChunk; c0++) {
    for (const rest of grid.length > 1 ? chunkIndices(grid.slice(1)) : [[]]) {
      const index = [c0, ...rest];
      const where = `array "${key}" chunk ${index.join('/')}`;
      let bytes: Uint8Array;
      try {
        bytes = await store.get(chunkKey(key, index));
      } catch (error: unknown) {
        if (error instanceof NotFoundError) throw new InvalidInputError(`${where} is missing`, { cause: error });
        throw error;
      }
      const chunk = decodeChunk(bytes, dataType, product(chunkShape), where);
      const origin = index.map((c, i) => c * chunkShape[i]);
      // Intersect the chunk with the requested frames and the array bounds.
      const from = Math.max(origin[0], start);
      const to = Math.min(origin[0] + chunkShape[0], end, shape[0]);
      const extent = origin.map((o, i) => (i === 0 ? to - from : Math.min(chunkShape[i], shape[i] - o)));
      const chunkOffset = (from - origin[0]) * product(chunkShape.slice(1));
      const fullOrigin = [from - start, ...origin.slice(1)];
      copyBlock(out, outShape, fullOrigin, chunk.subarray(chunkOffset), chunkShape, extent, false);
    }
  }
  return { data: out, shape: outShape, meta };
}

/** Removes an array and all its chunks. */
export async function deleteArray(store: BlobStore, key: string): Promise<void> {
  await store.delete(`${key}/`);
}
