import type { BlobStore, FrameRange, ProgressSink } from '@mitosis/core';
import { PreconditionError, silentProgress } from '@mitosis/core';
import { analysisKeys, readVideoMeta, runDetectionStage, runEventLengthStage, runNormalCellMapStage, runTrainingStage } from '@mitosis/stages';
import { runIngest } from './ingest-stage';
import { arrayMetadataKey } from './keys';
import { discardStageManifest, hasManifest, recordOutputs, writeStageManifest } from './stage-manifest';
import type { StageOutcome, StageTask } from './stage-task';
import type { DetectionsFile } from './stored-files';
import { readAnnotationSet } from './stored-files';

export interface ExecuteDeps {
  readonly store: BlobStore;
  readonly progress?: ProgressSink;
  /** Checked between the phases of a stage (the stage functions themselves run to the end). */
  readonly signal?: AbortSignal;
}

/**
 * Runs one resolved stage with the @mitosis/stages functions the embedded CLI uses, so the
 * services give the same results for the same frames, seed and options. Once every output is
 * stored, the stage's manifest (stage-manifest.ts) lists them with their checksums: a redelivery
 * finds the stage done there even if its completion never reached the job record.
 */
export async function executeStage(task: StageTask, deps: ExecuteDeps): Promise<StageOutcome> {
  deps.signal?.throwIfAborted();
  if (task.stage !== 'ingest' && !(await deps.store.exists(arrayMetadataKey(task.framesKey)))) {
    throw new PreconditionError(`video ${task.videoId} has no preprocessed frames (${task.framesKey}): ingest it first (a job with an ingest stage)`);
  }
  if (!hasManifest(task.stage)) return runStage(task, deps);
  await discardStageManifest(deps.store, task);
  const recorder = recordOutputs(deps.store);
  const outcome = await runStage(task, { ...deps, store: recorder.store });
  await writeStageManifest(deps.store, task, outcome, recorder.files());
  return outcome;
}

async function runStage(task: StageTask, deps: ExecuteDeps): Promise<StageOutcome> {
  const started = performance.now();
  const check = (): void => deps.signal?.throwIfAborted();
  const progress = deps.progress ?? silentProgress;
  const done = (outputs: Record<string, string>, metrics: Record<string, number>): StageOutcome => ({
    stage: task.stage,
    outputs,
    metrics: { ...metrics, seconds: round((performance.now() - started) / 1000, 3) },
  });
  switch (task.stage) {
    case 'ingest':
      return done({ frames: task.framesKey }, await runIngest(task, deps.store, progress, check));
    case 'm1': {
      const k = analysisKeys(task.prefix);
      const choice = await runNormalCellMapStage(
        deps.store,
        { videoKey: task.framesKey, prefix: task.prefix, ...(task.range ? { range: task.range } : {}) },
        {
          training: { iterations: task.iterations, crop: task.crop, seed: task.seed, ...(task.maps !== undefined ? { model: { maps: task.maps } } : {}) },
          ...(task.normalMap !== undefined ? { normalMap: task.normalMap } : {}),
          ...(task.erosions !== undefined ? { erosions: task.erosions } : {}),
          ...(task.minArea !== undefined ? { minArea: task.minArea } : {}),
          ...(task.minFrames !== undefined ? { minFrames: task.minFrames } : {}),
          onProgress: progress,
        },
      );
      return done(
        { analysis: task.prefix, m1Model: k.m1, featureMaps: k.featureMaps, normalCellMap: k.normalCellMap, mapChoice: k.mapChoice },
        { normalCellMap: choice.chosen, automatic: choice.automatic ? 1 : 0, iterations: task.iterations, frames: await frameCount(deps.store, task) },
      );
    }
    case 'm2': {
      const k = analysisKeys(task.prefix);
      const { stats } = await runEventLengthStage(
        deps.store,
        { videoKey: task.framesKey, prefix: task.prefix, ...(task.range ? { range: task.range } : {}) },
        {
          training: {
            iterations: task.iterations,
            crop: task.crop,
            seed: task.seed,
            sequenceLength: task.sequenceLength,
            ...(task.batch !== undefined ? { batch: task.batch } : {}),
            ...(task.lossMargin !== undefined ? { lossMargin: task.lossMargin } : {}),
            ...(task.positiveWeight !== undefined ? { model: { positiveWeight: task.positiveWeight } } : {}),
          },
          ...(task.runs !== undefined ? { runs: task.runs } : {}),
          onProgress: progress,
        },
      );
      return done(
        { m2Model: k.m2, eventProbability: k.eventProbability, stats: k.stats },
        {
          events: stats.count,
          meanLength: stats.mean,
          p75Length: stats.p75,
          recommendedK: stats.recommendedK,
          iterations: task.iterations,
          frames: await frameCount(deps.store, task),
        },
      );
    }
    case 'm3-train': {
      const annotations = await readAnnotationSet(deps.store, task);
      check();
      const meta = await runTrainingStage(
        deps.store,
        { videoKey: task.framesKey, range: task.range, annotations, annotationSource: `annotation set ${task.annotationsKey}`, modelPrefix: task.modelPrefix },
        {
          k: task.k,
          iterations: task.iterations,
          crop: task.crop,
          batch: task.batch,
          seed: task.seed,
          model: { positiveWeight: task.positiveWeight },
          detectionThreshold: task.threshold,
          onProgress: progress,
        },
      );
      return done(
        { model: task.modelPrefix },
        {
          iterations: meta.iterations,
          annotations: meta.annotations,
          k: meta.k,
          frames: task.range.last - task.range.first + 1,
          ...(meta.finalLoss === null ? {} : { finalLoss: meta.finalLoss }),
        },
      );
    }
    case 'm3-detect': {
      const result = await runDetectionStage(
        deps.store,
        { videoKey: task.framesKey, modelPrefix: task.modelPrefix, outputKey: task.probabilityKey, ...(task.range ? { range: task.range } : {}) },
        {
          step: task.step,
          mergeDistance: task.mergeDistance,
          ...(task.vote ? { vote: task.vote } : {}),
          ...(task.threshold !== undefined ? { threshold: task.threshold } : {}),
          onProgress: progress,
        },
      );
      check();
      const frames = task.range ?? { first: result.meta.firstFrame, last: result.meta.firstFrame + result.meta.frames - 1 };
      const file: DetectionsFile = {
        jobId: task.jobId,
        videoId: task.videoId,
        modelId: task.modelId,
        frames,
        k: result.detectorMeta.k,
        factor: result.meta.factor,
        count: result.detections.length,
        detections: result.detections.map((p) => ({ frame: p.frame, x: p.x, y: p.y, score: p.score ?? 0 })),
      };
      await deps.store.put(task.detectionsKey, new TextEncoder().encode(`${JSON.stringify(file, null, 1)}\n`));
      return done({ detections: task.detectionsKey, detectionProbability: task.probabilityKey }, { detections: file.count, frames: frames.last - frames.first + 1 });
    }
  }
}

/** Frames a stage read: its range, or the whole stored video (for the `frames` metric, traces and frames per second). */
async function frameCount(store: BlobStore, task: { framesKey: string; range?: FrameRange }): Promise<number> {
  if (task.range !== undefined) return task.range.last - task.range.first + 1;
  return (await readVideoMeta(store, task.framesKey)).frames;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
