export { recommendSequenceLength } from './recommendation';
export type { EventLengthStatistics, Recommendation } from './recommendation';
export { buildMitosisLabels } from './labels';
export type { SequenceGrid, LabelOptions } from './labels';
