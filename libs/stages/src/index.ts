export { METHOD_DEFAULTS } from './defaults';
export type { MethodDefaults } from './defaults';
export { runIngestStage } from './ingest';
export type { IngestOptions, IngestResult } from './ingest';
export { recommendSequenceLength } from './recommendation';
export type { EventLengthStatistics, Recommendation } from './recommendation';
export { buildMitosisLabels } from './labels';
export type { SequenceGrid, LabelOptions } from './labels';
export { scoreFeatureMaps, rankFeatureMaps, chooseNormalCellMap, normalCellMapFrom, mapSelectionDefaults } from './normal-cell-map';
export type { FeatureMapScore, MapRanking, MapSelectionOptions, NormalCellMapCleaning } from './normal-cell-map';
export { runNormalCellMapStage, runEventLengthStage, eventLengthStageDefaults } from './analysis';
export type { TrainingSegment } from './detector';
export type { NormalCellMapStageOptions, NormalCellMapChoice, EventLengthStageOptions, AnalysisStats, M2Run, MapAttempt, TrainedModelAt } from './analysis';
export { trainNormalCellModel, extractFeatureMaps } from './normal-cell-model';
export type { NormalCellTrainingOptions } from './normal-cell-model';
export { linkTrajectories, makeArtificialEvents, trainEventModel, predictCellEvents, inferenceWindows } from './event-model';
export type { ArtificialEventOptions, CellEventInferenceOptions, EventModelTrainingOptions } from './event-model';
export { measureEventLengths, measureEvents } from './event-lengths';
export type { EventLengthOptions, EventLengthReport, MeasuredEvents } from './event-lengths';
export {
  trainDetector,
  trainDetectorOn,
  detectMitoses,
  windowStarts,
  windowedProbability,
  detectionsFrom,
  mergeNearbyGroups,
  chooseDetectionThreshold,
  thresholdCandidates,
} from './detector';
export type { DetectorTrainingOptions, DetectionOptions, DetectionResult, WindowedProbability, ThresholdChoice } from './detector';
export { randomCrop, randomAugmentation, stackSequences } from './sampling';
export type { TrainingVideo } from './pipeline';
export { storePreprocessedVideo, readVideoMeta, loadStoredFrames, gridOf, getJson, joinKey, analysisKeys, runTrainingStage, readDetectorMeta, runDetectionStage } from './pipeline';
export type { StoredVideoMeta, DetectorMeta } from './pipeline';
export { histogramImage, featureMapMontage, overlayMarks } from './figures';
export type { RgbImage, OverlayMark } from './figures';
export { WORK_LIMITS, WORK_LIMIT_NAMES, WORK_LIMIT_ENV_NAMES, checkWorkLimit, workLimitEnvName } from './limits';
export type { WorkLimitName, WorkLimits } from './limits';
export { MIN_ANALYSIS_FRAMES, framesNeeded, checkFramesFor } from './frame-needs';
export type { FrameNeed } from './frame-needs';
