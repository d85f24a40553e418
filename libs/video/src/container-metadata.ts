// What containers (OME-TIFF, ImageJ TIFF, OME-Zarr) say beyond their pixels, read one way for all:
// units of length and time (OME symbols, UDUNITS-2 names as NGFF uses them, ImageJ's names) and
// the choice of a channel.
import { InvalidInputError } from '@mitosis/core';

/** Physical sizes from a container's metadata, where it states them. */
export interface PhysicalSizes {
  readonly pixelSizeUm?: { readonly y: number; readonly x: number };
  readonly frameIntervalS?: number;
}

type Ratio = readonly [number, number];

/** Micrometres per unit of length: OME UnitsLength symbols and ImageJ's unit names. */
const MICROMETRES: Readonly<Record<string, Ratio>> = {
  m: [1e6, 1],
  meter: [1e6, 1],
  cm: [1e4, 1],
  mm: [1e3, 1],
  µm: [1, 1],
  μm: [1, 1],
  um: [1, 1],
  micron: [1, 1],
  microns: [1, 1],
  micrometer: [1, 1],
  micrometre: [1, 1],
  nm: [1, 1e3],
  nanometer: [1, 1e3],
  pm: [1, 1e6],
  Å: [1, 1e4],
  picometer: [1, 1e6],
  millimeter: [1e3, 1],
  centimeter: [1e4, 1],
  angstrom: [1, 1e4],
  in: [25400, 1],
  inch: [25400, 1],
};

/** Seconds per unit of time: OME UnitsTime symbols and ImageJ's time unit names. */
const SECONDS: Readonly<Record<string, Ratio>> = {
  s: [1, 1],
  sec: [1, 1],
  second: [1, 1],
  seconds: [1, 1],
  ms: [1, 1e3],
  msec: [1, 1e3],
  µs: [1, 1e6],
  μs: [1, 1e6],
  us: [1, 1e6],
  ns: [1, 1e9],
  min: [60, 1],
  minute: [60, 1],
  minutes: [60, 1],
  h: [3600, 1],
  hr: [3600, 1],
  hour: [3600, 1],
  hours: [3600, 1],
  d: [86400, 1],
  nanosecond: [1, 1e9],
  microsecond: [1, 1e6],
  millisecond: [1, 1e3],
  day: [86400, 1],
};

/** `value` in `unit` converted by `table`, or undefined for a unit the table lacks. */
function convert(table: Readonly<Record<string, Ratio>>, value: number, unit: string): number | undefined {
  // ImageJ writes µ as the escape \u00B5 in its description.
  const normal = unit.trim().replace(/\\u00b5/gi, 'µ');
  const ratio = table[normal] ?? table[normal.toLowerCase()];
  return ratio === undefined ? undefined : (value * ratio[0]) / ratio[1];
}

/** A length in `unit` as micrometres; undefined for a unit that is not a length (e.g. `pixel`). */
export const toMicrometres = (value: number, unit: string): number | undefined => convert(MICROMETRES, value, unit);

/** A time in `unit` as seconds; undefined for a unit that is not a time. */
export const toSeconds = (value: number, unit: string): number | undefined => convert(SECONDS, value, unit);

/** A channel by name or 0-based index (a number given as text picks by index when no name matches it). */
export function chooseChannel(name: string, channels: readonly string[], wanted: string | number | undefined): number {
  if (wanted === undefined) return 0;
  const names = channels.map((label, i) => `${i}: ${label}`).join(', ');
  if (typeof wanted === 'number') {
    if (Number.isInteger(wanted) && wanted >= 0 && wanted < channels.length) return wanted;
    throw new InvalidInputError(`${name}: no channel ${wanted}; channels are ${names}`);
  }
  const byName = channels.indexOf(wanted);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(wanted) && Number(wanted) < channels.length) return Number(wanted);
  throw new InvalidInputError(`${name}: no channel named "${wanted}"; channels are ${names}`);
}
