/**
 * TIFF 6.0 constants shared by the reader and the writer (Adobe, TIFF Revision 6.0, 1992,
 * sections 2, 8 and 14). Only what this project reads or writes is named here.
 */

export const TIFF_MAGIC = 42;
/** BigTIFF's magic number (BigTIFF design, Aware Systems): 8-byte offsets, read through geotiff. */
export const BIGTIFF_MAGIC = 43;

export const Tag = {
  NewSubfileType: 254,
  SubfileType: 255,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  XResolution: 282,
  YResolution: 283,
  PlanarConfiguration: 284,
  ResolutionUnit: 296,
  Software: 305,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SampleFormat: 339,
} as const;

/** Field types (section 2) and the size in bytes of one value of each. */
export const FieldType = {
  BYTE: 1,
  ASCII: 2,
  SHORT: 3,
  LONG: 4,
  RATIONAL: 5,
  SBYTE: 6,
  UNDEFINED: 7,
  SSHORT: 8,
  SLONG: 9,
  SRATIONAL: 10,
  FLOAT: 11,
  DOUBLE: 12,
} as const;

export const fieldTypeSize: Readonly<Record<number, number>> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
};

export const Compression = {
  None: 1,
  LZW: 5,
  AdobeDeflate: 8,
  Deflate: 32946,
  PackBits: 32773,
  Zstd: 50000,
} as const;

export const Photometric = {
  WhiteIsZero: 0,
  BlackIsZero: 1,
  RGB: 2,
  Palette: 3,
} as const;

/** Largest offset a classic (32-bit) TIFF can hold. */
export const MAX_CLASSIC_OFFSET = 0xffffffff;
