export { PLATE_FORMATS, parseWell, plateFormatFor, rowLetters, wellLabel } from './wells';
export type { PlateFormat, WellPosition } from './wells';
export { loadPlate, parseManifestCsv, scanPlateFolder } from './manifest';
export type { CheckedEntry, LoadPlateOptions, PlateEntry, PlateManifest } from './manifest';
export { conditionSummary, readoutColumns, readoutsCsv, readoutsJson, wellReadouts } from './readouts';
export type { ConditionBinSummary, ConditionOverall, FieldResult, ReadoutOptions, ReadoutRow, ReadoutSummary, ReadoutsJson, WellOverall, WellStatus } from './readouts';
export { plateHeatmapSvg, timeCourseSvg } from './plate-figures';
export type { HeatmapOptions, HeatmapWell, TimeCourseOptions, TimeCourseSeries } from './plate-figures';
