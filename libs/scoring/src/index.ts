export { parsePointsCsv, readPointsCsv, formatPointsCsv, checkPointsInside } from './points';
export type { MitosisPoint, VideoExtent } from './points';
export { findCandidatePairs, maximumMatching } from './matching';
export type { CandidatePair } from './matching';
export { scoreDetections, scoreAtThresholds, defaultRadius, defaultTh } from './score';
export type { ScoreOptions, ScoreMatch, ScoreReport, ThresholdsOptions } from './score';
export { formatNapariPointsCsv, formatPhysicalPointsCsv, parseNapariPointsCsv, parsePhysicalPointsCsv, physicalColumns } from './exports';
export type { PhysicalPoint, PhysicalScale } from './exports';
