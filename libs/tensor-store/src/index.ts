export { writeArray, readArray, readArrayMetadata, deleteArray, dataTypeOf } from './zarr';
export type { ArrayMetadata, DataType, NdArray, AnyTypedArray, WriteArrayOptions } from './zarr';
export { crc32c } from './crc32c';
export { loadZarrita, readStore as zarritaReadStore, runBounded } from './zarrita';
export type { Zarrita, ZarritaStore } from './zarrita';
