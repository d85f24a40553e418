import type { FrameRange } from '@mitosis/core';
import type { Stage } from '@mitosis/events';

/**
 * One stage's work, fully resolved: keys, ranges and every option, from the StageRequest, the
 * job's params and the configured defaults. Plain data, so a stage thread can run it.
 */
export type StageTask = IngestTask | NormalCellMapTask | EventLengthTask | TrainTask | DetectTask;

interface TaskBase {
  readonly jobId: string;
  readonly videoId: string;
  /** The preprocessed frames (written by ingest, read by every other stage). */
  readonly framesKey: string;
}

export interface IngestTask extends TaskBase {
  readonly stage: 'ingest';
  readonly sourceKey: string;
  /** 'auto': ingest measures the cells and chooses (chooseDownscaleFactor). */
  readonly factor: number | 'auto';
  /** Whether the request or the job chose the factor (else it is the configured default). */
  readonly factorChosen: boolean;
  /** The channel of a multi-channel source that is the video; absent for 0. */
  readonly channel?: number;
  readonly hints: { readonly format?: 'tiff' | 'frame-archive'; readonly frameCount?: number; readonly bitDepth?: number };
}

export interface NormalCellMapTask extends TaskBase {
  readonly stage: 'm1';
  /** Analysis folder (analysisKeys). */
  readonly prefix: string;
  readonly range?: FrameRange;
  readonly iterations: number;
  readonly crop: number;
  readonly seed: number;
  /** Number of feature maps, when not the model's default (6). */
  readonly maps?: number;
  readonly normalMap?: number;
  /** Cleaning of the binarised map (the stage's defaults where absent: 1 erosion, keep all). */
  readonly erosions?: number;
  readonly minArea?: number;
  readonly minFrames?: number;
}

export interface EventLengthTask extends TaskBase {
  readonly stage: 'm2';
  readonly prefix: string;
  readonly range?: FrameRange;
  readonly iterations: number;
  readonly crop: number;
  readonly seed: number;
  readonly sequenceLength: number;
  /** Sequences per update, event weight and loss margin (the stage's defaults where absent). */
  readonly batch?: number;
  readonly positiveWeight?: number;
  readonly lossMargin?: number;
  /** M2 trainings whose median k is recommended (the stage's default where absent). */
  readonly runs?: number;
}

export interface TrainTask extends TaskBase {
  readonly stage: 'm3-train';
  readonly annotationsKey: string;
  readonly modelPrefix: string;
  readonly range: FrameRange;
  readonly k: number;
  readonly iterations: number;
  readonly crop: number;
  readonly batch: number;
  readonly seed: number;
  readonly positiveWeight: number;
  /** A fixed detection threshold, or 'auto': chosen with the vote rule on the annotated frames. */
  readonly threshold: number | 'auto';
}

export interface DetectTask extends TaskBase {
  readonly stage: 'm3-detect';
  readonly modelPrefix: string;
  readonly modelId: string;
  readonly range?: FrameRange;
  readonly step: number;
  /** How windows are combined; absent: the rule stored with the model. */
  readonly vote?: 'any' | 'mean';
  /** Binarisation threshold; absent: the one stored with the model. */
  readonly threshold?: number;
  readonly mergeDistance: number;
  readonly detectionsKey: string;
  readonly probabilityKey: string;
}

/** What a stage wrote and measured. */
export interface StageOutcome {
  readonly stage: Stage;
  /** Output keys by name; they go into the job's `outputs`. */
  readonly outputs: Record<string, string>;
  /** Numbers for logs and traces (seconds, loss, counts). */
  readonly metrics: Record<string, number>;
}
