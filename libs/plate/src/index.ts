export { PLATE_FORMATS, parseWell, plateFormatFor, wellLabel } from './wells';
export type { PlateFormat, WellPosition } from './wells';
export { loadPlate, parseManifestCsv, scanPlateFolder } from './manifest';
export type { CheckedEntry, LoadPlateOptions, PlateEntry, PlateManifest } from './manifest';
