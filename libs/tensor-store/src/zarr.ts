import type { BlobStore } from '@mitosis/core';
import { InvalidInputError, NotFoundError, isMitosisError } from '@mitosis/core';
import type { ZarrArray, ZarrCodecMetadata, ZarrLocation, Zarrita, ZarritaStore } from './zarrita';
import { boundedQueue, loadZarrita, readStore, writeSession } from './zarrita';

/**
 * Chunked n-dimensional arrays in the Zarr v3 layout (`<key>/zarr.json` plus chunks under
 * `<key>/c/i/j/k`), written and read by zarrita.js over any BlobStore: a local folder in the
 * embedded mode, S3/MinIO in the services. Arrays of the method are chunked by frames along the
 * first axis, so a stage reads only the frames it needs. Codecs: bytes (little-endian) -> gzip ->
 * crc32c, so a damaged chunk is detected on read instead of feeding garbage to a model.
 */
export type DataType = 'uint8' | 'uint16' | 'int32' | 'float32';
export type TypedArrayOf<D extends DataType> = D extends 'uint8' ? Uint8Array : D extends 'uint16' ? Uint16Array : D extends 'int32' ? Int32Array : Float32Array;
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

/**
 * The zarrita location of an array. zarrita resolves chunk paths as URLs, so a key that does not
 * survive that round trip ('?', '#', '%', empty or dot segments) is refused rather than written
 * somewhere else.
 */
function arrayLocation(zarr: Zarrita, store: ZarritaStore, key: string): ZarrLocation {
  if (key === '' || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new InvalidInputError(`array key "${key}" is not a relative path without empty, '.' or '..' parts`);
  }
  const location: ZarrLocation = new zarr.Location(store, `/${key}`);
  if (location.resolve('c/0').path !== `/${key}/c/0`) {
    throw new InvalidInputError(`array key "${key}" holds characters a Zarr chunk path cannot keep ('?', '#', '%', '\\')`);
  }
  return location;
}

/**
 * zarrita's failures as ours: an error of ours inside (a checksum mismatch or a missing chunk,
 * raised by our codecs and store adapter and wrapped by zarrita's codec pipeline) comes out as
 * is; zarrita's own errors and malformed metadata become InvalidInputError naming the array;
 * anything else (a network error from the store) passes through.
 */
function translateError(zarr: Zarrita, key: string, error: unknown): unknown {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (isMitosisError(e)) return e;
  }
  if (error instanceof zarr.NotFoundError) {
    if (error.found) return new InvalidInputError(`"${key}" is a Zarr ${error.found}, not an array`, { cause: error });
    return new NotFoundError(`no stored array "${key}"`, { cause: error });
  }
  if (zarr.isZarritaError(error)) return new InvalidInputError(`array "${key}": ${error.message}`, { cause: error });
  // zarrita takes zarr.json as given: a document without chunk_grid or shape fails as a TypeError.
  if (error instanceof TypeError) return new InvalidInputError(`array "${key}": zarr.json is not a Zarr v3 array (${error.message})`, { cause: error });
  return error;
}

async function zarrCall<T>(zarr: Zarrita, key: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error: unknown) {
    throw translateError(zarr, key, error);
  }
}

const codecsFor = (level: number): ZarrCodecMetadata[] => [
  { name: 'bytes', configuration: { endian: 'little' } },
  { name: 'gzip', configuration: { level } },
  // No configuration, as the pre-zarrita writer stored it (the spec's crc32c takes none).
  { name: 'crc32c' } as ZarrCodecMetadata,
];

/** Row-major (C order) strides of a shape, in elements. */
function stridesOf(shape: readonly number[]): number[] {
  return shape.map((_, i) => product(shape.slice(i + 1)));
}

/**
 * Writes an array with zarr.create and zarr.set: chunks first, metadata last (the write session
 * holds zarr.json back), so a reader never sees metadata pointing at chunks that are not there
 * yet; rewriting the same key overwrites (a redelivered stage message replaces its output rather
 * than duplicating it).
 */
export async function writeArray(store: BlobStore, key: string, array: NdArray, options: WriteArrayOptions = {}): Promise<ArrayMetadata> {
  checkShape(array.shape, array.data.length, `array "${key}"`);
  const shape = [...array.shape];
  const chunkShape = [...(options.chunkShape ?? [1, ...shape.slice(1)])];
  if (chunkShape.length !== shape.length || chunkShape.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new InvalidInputError(`array "${key}": chunk shape [${chunkShape.join(', ')}] does not fit shape [${shape.join(', ')}]`);
  }
  const level = options.gzipLevel ?? 1;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new InvalidInputError(`array "${key}": gzip level ${level} is not an integer in 0-9`);
  const dataType = dataTypeOf(array.data);
  const meta: ArrayMetadata = {
    shape,
    chunkShape,
    dataType,
    ...(options.dimensionNames ? { dimensionNames: [...options.dimensionNames] } : {}),
    attributes: options.attributes ?? {},
  };
  const zarr = await loadZarrita();
  const session = writeSession(store, key);
  const location = arrayLocation(zarr, session, key);
  await zarrCall(zarr, key, async () => {
    const created: ZarrArray = await zarr.create(location, {
      shape,
      chunkShape,
      dtype: dataType,
      codecs: codecsFor(level),
      fillValue: 0, // edge chunks are padded with it, as the pre-zarrita writer did
      ...(meta.dimensionNames ? { dimensionNames: [...meta.dimensionNames] } : {}),
      attributes: { ...meta.attributes },
    });
    if (array.data.length > 0) {
      const value = { data: array.data, shape, stride: stridesOf(shape) } as Parameters<Zarrita['set']>[2];
      await zarr.set(created, null, value, { createQueue: boundedQueue() });
    }
    await session.commit();
  });
  return meta;
}

function metadataOf(key: string, arr: ZarrArray): ArrayMetadata {
  const dataType = arr.dtype;
  if (!(dataType in constructors)) throw new InvalidInputError(`array "${key}": data type ${dataType} is not supported`);
  const names = arr.dimensionNames;
  return {
    shape: [...arr.shape],
    chunkShape: [...arr.chunks],
    dataType: dataType as DataType,
    ...(Array.isArray(names) ? { dimensionNames: names.map(String) } : {}),
    attributes: arr.attrs,
  };
}

async function openArray(zarr: Zarrita, store: ZarritaStore, key: string): Promise<{ arr: ZarrArray; meta: ArrayMetadata }> {
  const location = arrayLocation(zarr, store, key);
  const arr: ZarrArray = await zarrCall(zarr, key, () => zarr.open.v3(location, { kind: 'array' }));
  return { arr, meta: metadataOf(key, arr) };
}

export async function readArrayMetadata(store: BlobStore, key: string): Promise<ArrayMetadata> {
  const zarr = await loadZarrita();
  return (await openArray(zarr, readStore(store, key), key)).meta;
}

/**
 * Reads an array with zarr.open and zarr.get, or only the range [start, end) of its first axis
 * (frames), in which case zarrita fetches just the chunks that overlap it.
 */
export async function readArray(store: BlobStore, key: string, range?: { readonly start: number; readonly end: number }): Promise<NdArray & { readonly meta: ArrayMetadata }> {
  const zarr = await loadZarrita();
  const { arr, meta } = await openArray(zarr, readStore(store, key), key);
  const { shape } = meta;
  const start = range?.start ?? 0;
  const end = range?.end ?? shape[0];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > shape[0] || start > end) {
    throw new InvalidInputError(`array "${key}": range [${start}, ${end}) is outside its first axis of ${shape[0]}`);
  }
  const outShape = [end - start, ...shape.slice(1)];
  if (product(outShape) === 0) return { data: new constructors[meta.dataType](0), shape: outShape, meta };
  const selection = range ? [zarr.slice(start, end), ...shape.slice(1).map(() => null)] : null;
  const chunk = await zarrCall(zarr, key, () => zarr.get(arr, selection, { createQueue: boundedQueue() }));
  return { data: chunk.data as AnyTypedArray, shape: outShape, meta };
}

/** Removes an array and all its chunks. */
export async function deleteArray(store: BlobStore, key: string): Promise<void> {
  await store.delete(`${key}/`);
}
