// OME-XML is parsed and validated by fast-xml-parser (a real parser that refuses truncated XML; geotiff's xml-utils only scans for tags); ImageJ's description is plain key=value lines.
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { InvalidInputError } from '@mitosis/core';
import type { PhysicalSizes } from './container-metadata';
import { chooseChannel, toMicrometres, toSeconds } from './container-metadata';
import type { TiffFile, TiffPageInfo } from './tiff-reader';
import { checkUniformPages, describePage, framePages, tagText, tagValues } from './tiff-reader';

/** TIFF 6.0 tag 270: a free-text description; OME-TIFF and ImageJ keep their metadata in the first page's. */
const IMAGE_DESCRIPTION = 270;
const X_RESOLUTION = 282;
const Y_RESOLUTION = 283;

/** How the pages of a multi-dimensional TIFF map to time points, channels and z slices. */
export interface TiffStackLayout {
  readonly format: 'ome-tiff' | 'imagej';
  readonly sizeT: number;
  readonly sizeC: number;
  readonly sizeZ: number;
  /** One name per channel: OME Channel Name, or the 0-based index where there is none. */
  readonly channels: string[];
  readonly physical?: PhysicalSizes;
  /** Image width and height the metadata states (OME SizeX, SizeY), checked against the pages. */
  readonly size?: { readonly width: number; readonly height: number };
  /** 0-based position in the file's IFD chain of the page holding plane (t, c, z). */
  readonly pageIndex: (t: number, c: number, z: number) => number;
}

/** A unit as numerator and denominator, so that 700 nm is 700 / 1000 µm exactly (0.7, not 0.7000000000000001). */
const DIMENSION_ORDERS = new Set(['XYZCT', 'XYZTC', 'XYCTZ', 'XYCZT', 'XYTCZ', 'XYTZC']);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Plane index of (t, c, z) when planes are stored in `order` (an OME DimensionOrder: the first
 * letter after XY varies fastest).
 */
function planeIndexer(order: string, sizes: Readonly<Record<'T' | 'C' | 'Z', number>>): (t: number, c: number, z: number) => number {
  const dims = order.slice(2).split('') as Array<'T' | 'C' | 'Z'>;
  return (t, c, z) => {
    const at = { T: t, C: c, Z: z };
    let index = 0;
    let stride = 1;
    for (const dim of dims) {
      index += at[dim] * stride;
      stride *= sizes[dim];
    }
    return index;
  };
}

/**
 * Reads the first Image of an OME-XML document (OME 2016-06): its Pixels sizes, DimensionOrder,
 * physical pixel size and time increment in micrometres and seconds, the channel names, and
 * which page holds each plane (TiffData; absent, planes are the pages in order).
 */
export function parseOmeXml(name: string, xml: string, pageCount: number): TiffStackLayout {
  const fail = (problem: string): never => {
    throw new InvalidInputError(`${name}: OME-XML ${problem}`);
  };
  const valid = XMLValidator.validate(xml);
  if (valid !== true) fail(`is not well-formed (${valid.err.msg} at line ${valid.err.line}, column ${valid.err.col}): truncated or corrupt OME-TIFF`);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: true,
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (tag) => ['Image', 'Channel', 'TiffData'].includes(tag),
  });
  let document: unknown;
  try {
    document = parser.parse(xml);
  } catch (error: unknown) {
    throw new InvalidInputError(`${name}: OME-XML cannot be parsed (${error instanceof Error ? error.message : String(error)}): corrupt OME-TIFF`, { cause: error });
  }
  const ome = isObject(document) ? document.OME : undefined;
  if (!isObject(ome)) return fail('has no OME root element');
  if (ome['@BinaryOnly'] !== undefined || ome.BinaryOnly !== undefined) {
    fail('keeps its metadata in a companion file (BinaryOnly); open the companion .ome.xml or .companion.ome file set with Bio-Formats and save one OME-TIFF');
  }
  const images = list(ome.Image);
  if (images.length === 0) fail('has no Image element');
  if (images.length > 1) fail(`holds ${images.length} images (series); only single-image OME-TIFFs are read: save each series as its own file`);
  const image = images[0];
  const pixels = isObject(image) ? image.Pixels : undefined;
  if (!isObject(pixels)) return fail('Image has no Pixels element');

  const attribute = (element: Json, key: string): string | undefined => {
    const value = element[`@${key}`];
    return typeof value === 'string' ? value : undefined;
  };
  const positiveInteger = (element: Json, key: string, where: string, fallback?: number): number => {
    const raw = attribute(element, key);
    if (raw === undefined) {
      if (fallback !== undefined) return fallback;
      return fail(`${where} has no ${key}`);
    }
    const value = Number(raw);
    if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < 1) return fail(`${where} ${key}="${raw}" is not a positive integer`);
    return value;
  };
  const nonNegativeInteger = (element: Json, key: string, where: string): number | undefined => {
    const raw = attribute(element, key);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value)) return fail(`${where} ${key}="${raw}" is not a non-negative integer`);
    return value;
  };

  const sizeT = positiveInteger(pixels, 'SizeT', 'Pixels');
  const sizeC = positiveInteger(pixels, 'SizeC', 'Pixels');
  const sizeZ = positiveInteger(pixels, 'SizeZ', 'Pixels');
  const width = positiveInteger(pixels, 'SizeX', 'Pixels');
  const height = positiveInteger(pixels, 'SizeY', 'Pixels');
  const order = attribute(pixels, 'DimensionOrder') ?? fail('Pixels has no DimensionOrder');
  if (!DIMENSION_ORDERS.has(order)) fail(`Pixels DimensionOrder="${order}" is not one of ${[...DIMENSION_ORDERS].join(', ')}`);

  const channelElements = list(pixels.Channel).filter(isObject);
  channelElements.forEach((channel, i) => {
    const samples = positiveInteger(channel, 'SamplesPerPixel', `Channel ${i}`, 1);
    if (samples !== 1) fail(`Channel ${i} has ${samples} samples per pixel; only one-sample (grey) channels are read`);
  });
  const channels = Array.from({ length: sizeC }, (_, i) => {
    const label = channelElements[i] === undefined ? undefined : attribute(channelElements[i], 'Name');
    return label !== undefined && label !== '' ? label : String(i);
  });

  const planes = sizeT * sizeC * sizeZ;
  if (planes !== pageCount) {
    fail(`describes SizeT ${sizeT} x SizeC ${sizeC} x SizeZ ${sizeZ} = ${planes} planes but the file has ${pageCount} pages: corrupt OME-TIFF`);
  }
  const planeOf = planeIndexer(order, { T: sizeT, C: sizeC, Z: sizeZ });
  const pageOfPlane = mapTiffData(name, pixels, planes, pageCount, planeOf, nonNegativeInteger);

  const lengthOf = (key: string): number | undefined => {
    const raw = attribute(pixels, key);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0 || raw.trim() === '') return fail(`Pixels ${key}="${raw}" is not a positive number`);
    const unit = attribute(pixels, `${key}Unit`) ?? 'µm';
    // 0 and units without a length (pixel, reference frame) say nothing about the size.
    return value > 0 ? toMicrometres(value, unit) : undefined;
  };
  const x = lengthOf('PhysicalSizeX');
  const y = lengthOf('PhysicalSizeY');
  let interval: number | undefined;
  const rawInterval = attribute(pixels, 'TimeIncrement');
  if (rawInterval !== undefined) {
    const value = Number(rawInterval);
    if (!Number.isFinite(value) || value < 0 || rawInterval.trim() === '') fail(`Pixels TimeIncrement="${rawInterval}" is not a non-negative number`);
    if (value > 0) interval = toSeconds(value, attribute(pixels, 'TimeIncrementUnit') ?? 's');
  }
  const physical = physicalOf(x, y, interval);
  return {
    format: 'ome-tiff',
    sizeT,
    sizeC,
    sizeZ,
    channels,
    ...(physical ? { physical } : {}),
    size: { width, height },
    pageIndex: (t, c, z) => pageOfPlane[planeOf(t, c, z)],
  };
}

/**
 * The page of every plane from the TiffData elements (OME 2016-06): each maps PlaneCount pages
 * from IFD onwards to consecutive planes from (FirstZ, FirstC, FirstT) in DimensionOrder.
 */
function mapTiffData(
  name: string,
  pixels: Json,
  planes: number,
  pageCount: number,
  planeOf: (t: number, c: number, z: number) => number,
  integer: (element: Json, key: string, where: string) => number | undefined,
): number[] {
  const fail = (problem: string): never => {
    throw new InvalidInputError(`${name}: OME-XML ${problem}`);
  };
  const entries = list(pixels.TiffData).map((entry) => (isObject(entry) ? entry : {}));
  if (entries.length === 0) return Array.from({ length: planes }, (_, i) => i);
  const pageOfPlane = new Array<number>(planes).fill(-1);
  const file = path.basename(name);
  entries.forEach((entry, i) => {
    const where = `TiffData ${i}`;
    const uuid = entry.UUID;
    const fileName = isObject(uuid) && typeof uuid['@FileName'] === 'string' ? uuid['@FileName'] : undefined;
    if (fileName !== undefined && fileName !== file) {
      fail(`${where} places planes in another file (${fileName}); multi-file OME-TIFF sets are not read: save the set as one OME-TIFF`);
    }
    const ifd = integer(entry, 'IFD', where);
    // The schema's defaults: all pages when no IFD is named, else one.
    const count = integer(entry, 'PlaneCount', where) ?? (ifd === undefined ? pageCount : 1);
    const first = planeOf(integer(entry, 'FirstT', where) ?? 0, integer(entry, 'FirstC', where) ?? 0, integer(entry, 'FirstZ', where) ?? 0);
    const start = ifd ?? 0;
    if (start + count > pageCount) fail(`${where} maps pages ${start + 1}..${start + count} but the file has ${pageCount} pages: corrupt OME-TIFF`);
    if (first + count > planes) fail(`${where} maps ${count} pages from plane ${first} past the last of ${planes} planes: corrupt OME-TIFF`);
    for (let k = 0; k < count; k++) pageOfPlane[first + k] = start + k;
  });
  const missing = pageOfPlane.indexOf(-1);
  if (missing >= 0) fail(`TiffData leave plane ${missing} of ${planes} without a page: corrupt OME-TIFF`);
  return pageOfPlane;
}

function physicalOf(x: number | undefined, y: number | undefined, interval: number | undefined): PhysicalSizes | undefined {
  const physical: PhysicalSizes = { ...(x !== undefined && y !== undefined ? { pixelSizeUm: { y, x } } : {}), ...(interval !== undefined ? { frameIntervalS: interval } : {}) };
  return Object.keys(physical).length > 0 ? physical : undefined;
}

/** Pixels per unit of one resolution tag (a RATIONAL: numerator, denominator). */
export interface TiffResolution {
  readonly x?: number;
  readonly y?: number;
}

/**
 * Reads an ImageJ description (ImageJ=, images=, channels=, slices=, frames=, hyperstack=,
 * finterval=, tunit=, unit=): pages are in CZT order, channel fastest. The pixel size comes from
 * the resolution tags (pixels per `unit`).
 */
export function parseImageJDescription(name: string, description: string, pageCount: number, resolution: TiffResolution = {}): TiffStackLayout {
  const fail = (problem: string): never => {
    throw new InvalidInputError(`${name}: ImageJ description ${problem}`);
  };
  const entries = new Map<string, string>();
  for (const line of description.split(/\r?\n/)) {
    const at = line.indexOf('=');
    if (at > 0) entries.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const count = (key: string): number | undefined => {
    const raw = entries.get(key);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) return fail(`${key}=${raw} is not a positive integer`);
    return value;
  };
  const images = count('images') ?? pageCount;
  const sizeC = count('channels') ?? 1;
  let sizeZ = count('slices') ?? 1;
  let sizeT = count('frames');
  const hyperstack = entries.get('hyperstack') === 'true';
  // A plain ImageJ stack calls its images slices; a video saved without hyperstack is that.
  if (sizeT === undefined && !hyperstack) {
    sizeT = sizeZ;
    sizeZ = 1;
  }
  sizeT ??= 1;
  // images=N alone (no channels, slices or frames) is N frames.
  if (sizeC * sizeZ * sizeT === 1 && images > 1) sizeT = images;
  if (sizeC * sizeZ * sizeT !== images) {
    fail(`says channels ${sizeC} x slices ${sizeZ} x frames ${sizeT} but images=${images}: corrupt ImageJ TIFF`);
  }
  if (images !== pageCount) {
    fail(`says images=${images} but the file has ${pageCount} pages; ImageJ's contiguous raw layout (one page for a stack over 4 GiB) is not read: save as BigTIFF or OME-TIFF`);
  }

  const unit = entries.get('unit');
  // The resolution tags count pixels per `unit`; without a unit they say nothing.
  const side = (pixelsPerUnit: number | undefined): number | undefined =>
    unit !== undefined && pixelsPerUnit !== undefined && pixelsPerUnit > 0 && Number.isFinite(pixelsPerUnit) ? toMicrometres(1 / pixelsPerUnit, unit) : undefined;
  const x = side(resolution.x);
  const y = side(resolution.y ?? resolution.x);
  const rawInterval = entries.get('finterval');
  let interval: number | undefined;
  if (rawInterval !== undefined) {
    const value = Number(rawInterval);
    if (!Number.isFinite(value) || value < 0 || rawInterval === '') fail(`finterval=${rawInterval} is not a non-negative number`);
    if (value > 0) interval = toSeconds(value, entries.get('tunit') ?? 'sec');
  }
  const physical = physicalOf(x, y, interval);
  const channels = Array.from({ length: sizeC }, (_, i) => String(i));
  const c = sizeC;
  const z = sizeZ;
  return {
    format: 'imagej',
    sizeT,
    sizeC,
    sizeZ,
    channels,
    ...(physical ? { physical } : {}),
    pageIndex: (ti, ci, zi) => ci + c * (zi + z * ti),
  };
}

/** The OME-XML or ImageJ layout of a TIFF from its first page's ImageDescription; undefined for a plain TIFF. */
export function tiffStackLayout(file: TiffFile): TiffStackLayout | undefined {
  const first = file.ifds[0];
  const description = first === undefined ? undefined : tagText(first, IMAGE_DESCRIPTION);
  if (description === undefined) return undefined;
  const text = description.trimStart();
  const name = file.source.name;
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<([A-Za-z_][\w.-]*:)?OME[\s>]/.test(text)) return parseOmeXml(name, text, file.ifds.length);
  if (text.startsWith('ImageJ=')) {
    const ratio = (tag: number): number | undefined => {
      const values = tagValues(first, tag);
      return values !== undefined && values.length >= 2 && values[1] !== 0 ? values[0] / values[1] : undefined;
    };
    return parseImageJDescription(name, text, file.ifds.length, { x: ratio(X_RESOLUTION), y: ratio(Y_RESOLUTION) });
  }
  return undefined;
}

/** The pages a TIFF video is read from, one per frame, and what its metadata says. */
export interface TiffVideoPlan {
  /** One page per frame, in time order: the chosen channel and, with several z, the middle slice. */
  readonly frames: TiffPageInfo[];
  readonly channels?: string[];
  readonly channel?: number;
  readonly physical?: PhysicalSizes;
}

/**
 * Chooses the pages of a TIFF video from their headers (no pixel is decoded): every page of a
 * plain TIFF, or for OME-TIFF and ImageJ hyperstacks one page per time point, of the channel
 * asked for (channel 0 when absent) and the middle z slice.
 */
export function planTiffVideo(file: TiffFile, options: { readonly channel?: string | number } = {}): TiffVideoPlan {
  const name = file.source.name;
  const layout = tiffStackLayout(file);
  const infos = framePages(file).map((ifd) => describePage(file, ifd));
  checkUniformPages(name, infos);
  if (layout === undefined) {
    const wanted = options.channel;
    if (wanted !== undefined && wanted !== 0 && wanted !== '0') {
      throw new InvalidInputError(`${name}: a TIFF without OME-XML or ImageJ metadata holds one channel; no channel ${typeof wanted === 'string' ? `"${wanted}"` : wanted}`);
    }
    return { frames: infos };
  }
  const channel = chooseChannel(name, layout.channels, options.channel);
  const z = Math.floor(layout.sizeZ / 2);
  const byIfd = new Map(infos.map((info) => [info.ifd, info]));
  const frames: TiffPageInfo[] = [];
  for (let t = 0; t < layout.sizeT; t++) {
    const ifd = file.ifds[layout.pageIndex(t, channel, z)];
    const info = byIfd.get(ifd);
    if (info === undefined) {
      const format = layout.format === 'ome-tiff' ? 'OME-TIFF' : 'ImageJ TIFF';
      throw new InvalidInputError(`${name}: page ${ifd.page} holds frame ${t + 1} but is marked as a reduced-resolution copy: corrupt ${format}`);
    }
    frames.push(info);
  }
  const size = layout.size;
  if (size !== undefined && (size.width !== frames[0].width || size.height !== frames[0].height)) {
    throw new InvalidInputError(`${name}: OME-XML says ${size.width}x${size.height} but page ${frames[0].page} is ${frames[0].width}x${frames[0].height}: corrupt OME-TIFF`);
  }
  // One unnamed channel (a plain ImageJ stack) is not worth reporting.
  const named = layout.channels.some((label, i) => label !== String(i));
  return { frames, ...(layout.sizeC > 1 || named ? { channels: layout.channels, channel } : {}), ...(layout.physical ? { physical: layout.physical } : {}) };
}
