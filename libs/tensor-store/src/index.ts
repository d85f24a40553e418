export { writeArray, readArray, readArrayMetadata, deleteArray, dataTypeOf } from './zarr';
export type { ArrayMetadata, DataType, NdArray, AnyTypedArray, WriteArrayOptions } from './zarr';
export { crc32c } from './crc32c';
