import type { BlobStore, FrameRange, ProgressSink } from '@mitosis/core';
import { InvalidInputError, NotFoundError, PreconditionError, silentProgress } from '@mitosis/core';
import type { M2Model } from '@mitosis/models';
import { loadModel, saveModel } from '@mitosis/models';
import { readArray, writeArray } from '@mitosis/tensor-store';
import type { Volume } from '@mitosis/volume';
import { describeLengths } from '@mitosis/volume';
import type { EventLengthOptions } from './event-lengths';
import { measureEvents } from './event-lengths';
import type { MeasuredEvents } from './event-lengths';
import type { CellEventInferenceOptions, EventModelTrainingOptions } from './event-model';
import { predictCellEvents, trainEventModel } from './event-model';
import type { FeatureMapScore, MapSelectionOptions, NormalCellMapCleaning } from './normal-cell-map';
import { chooseNormalCellMap, normalCellMapFrom, rankFeatureMaps, scoreFeatureMaps } from './normal-cell-map';
import type { NormalCellTrainingOptions } from './normal-cell-model';
import { extractFeatureMaps, trainNormalCellModel } from './normal-cell-model';
import { METHOD_DEFAULTS } from './defaults';
import { analysisKeys, getJson, gridOf, loadStoredFrames, putJson, readVideoMeta } from './pipeline';
import type { EventLengthStatistics, Recommendation } from './recommendation';
import { recommendSequenceLength } from './recommendation';

/**
 * The unsupervised half of the method as two stages (M1: the normal-cell map; M2: the event
 * lengths and the recommendation), each from stored tensors to stored tensors, shared by the CLI
 * and the m1 / m2 workers.
 */

export interface NormalCellMapStageOptions {
  readonly training?: NormalCellTrainingOptions;
  readonly selection?: MapSelectionOptions;
  /** The user's choice of map, overriding the automatic one. */
  readonly normalMap?: number;
  /** Erosions of the binarised map (paper III.C: 1). Default: the one the map was scored with (0 or 1). */
  readonly erosions?: number;
  /** Drop 2D components of y_t under this many pixels (NormalCellMapCleaning.minArea). Default: the scoring's. */
  readonly minArea?: number;
  /** Drop trajectories of y_t shorter than this many frames (NormalCellMapCleaning.minFrames). Default 0. */
  readonly minFrames?: number;
  /**
   * An M1 trained on other videos (another analysis's `m1` model), applied by inference only:
   * nothing is trained and no model is stored here. Plates train M1 once on a sample of fields.
   */
  readonly model?: TrainedModelAt;
  readonly onProgress?: ProgressSink;
}

/** A model stored by another analysis: `store` and the model's key prefix (analysisKeys(...).m1 or .m2). */
export interface TrainedModelAt {
  readonly store: BlobStore;
  readonly prefix: string;
}

/** What M1's stage decided, stored as `normal-cell-map.json` and reported in stats.json. */
export interface NormalCellMapChoice {
  readonly chosen: number;
  readonly automatic: boolean;
  readonly scores: FeatureMapScore[];
  /** Maps by score, best first. */
  readonly order: readonly number[];
  /** (best - second) / best of the scores. */
  readonly margin: number;
  readonly confident: boolean;
  /** How y_t was made from the chosen map, and why. */
  readonly cleaning: Required<NormalCellMapCleaning> & { readonly chosenBy: 'given' | 'paper' | 'scoring' };
  readonly warnings: readonly string[];
}

/** The paper's cleaning of y_t (III.C: one erosion, nothing dropped): tried first when none is given. */
const PAPER_CLEANING = { erosions: 1, minArea: 0 } as const;

/**
 * y_t's cleaning: the user's, else the paper's. The scoring's own cleaning (no erosion for cells
 * one erosion would cut to specks) is M2's fallback for the same map (see runEventLengthStage).
 */
function cleaningFor(options: NormalCellMapStageOptions): NormalCellMapChoice['cleaning'] {
  const given = options.erosions !== undefined || options.minArea !== undefined;
  return {
    erosions: options.erosions ?? PAPER_CLEANING.erosions,
    minArea: options.minArea ?? PAPER_CLEANING.minArea,
    minFrames: options.minFrames ?? 0,
    chosenBy: given ? 'given' : 'paper',
  };
}

/** M1 stage: train on the stored frames, store the model, the feature maps and y_t. */
export async function runNormalCellMapStage(
  store: BlobStore,
  input: { videoKey: string; range?: FrameRange; prefix: string },
  options: NormalCellMapStageOptions = {},
): Promise<NormalCellMapChoice> {
  const keys = analysisKeys(input.prefix);
  const { volume } = await loadStoredFrames(store, input.videoKey, input.range);
  const progress = options.onProgress ?? silentProgress;
  const model = options.model
    ? await loadModel(options.model.store, options.model.prefix, 'm1')
    : trainNormalCellModel(volume, { ...options.training, onProgress: progress }).model;
  try {
    if (!options.model) await saveModel(store, keys.m1, model);
    const winner = extractFeatureMaps(model, volume, progress);
    const scores = scoreFeatureMaps(winner, model.config.maps, { ...options.selection, ...(options.erosions === undefined ? {} : { erosions: options.erosions }) });
    const shape = [volume.frames, volume.height, volume.width];
    // Stored before the choice, so that when no map looks like cells the user can still look at
    // the maps and pick one (--normal-map).
    await writeArray(store, keys.featureMaps, { data: winner.data, shape }, { dimensionNames: ['t', 'y', 'x'], attributes: { scores } });
    const chosen = chooseNormalCellMap(scores, options.normalMap);
    const ranking = rankFeatureMaps(scores);
    const cleaning = cleaningFor(options);
    const warnings: string[] = [];
    if (options.normalMap === undefined && !ranking.confident) {
      const second = ranking.order[1] ?? chosen;
      warnings.push(
        `the normal-cell map choice is uncertain: map ${chosen} scored ${fmt(scores[chosen]?.score)} and map ${second} ${fmt(scores[second]?.score)} (margin ${ranking.margin.toFixed(2)}); look at feature-maps.png and pass --normal-map ${second} if it holds the cell interiors`,
      );
    }
    const normalCellMap = normalCellMapFrom(winner, chosen, cleaning);
    await writeArray(store, keys.normalCellMap, { data: normalCellMap.data, shape }, { dimensionNames: ['t', 'y', 'x'] });
    const choice: NormalCellMapChoice = {
      chosen,
      automatic: options.normalMap === undefined,
      scores,
      order: ranking.order,
      margin: ranking.margin,
      confident: ranking.confident,
      cleaning,
      warnings,
    };
    await putJson(store, keys.mapChoice, choice);
    return choice;
  } finally {
    model.dispose();
  }
}

function fmt(value: number | undefined): string {
  return (value ?? 0).toFixed(3);
}

export interface EventLengthStageOptions {
  readonly training?: EventModelTrainingOptions;
  readonly inference?: Omit<CellEventInferenceOptions, 'onProgress'>;
  readonly lengths?: EventLengthOptions;
  /**
   * Re-measure with the M2 already stored for this analysis instead of training a new one (to try
   * other inference or length options on the same model); trains when none is stored.
   */
  readonly reuseStoredModel?: boolean;
  /** An M2 trained on other videos, applied by inference only (one run, nothing trained nor stored here). */
  readonly model?: TrainedModelAt;
  /** M2 trainings from seeds seed, seed + 1, ...; k is the median of their k. Default 3. */
  readonly runs?: number;
  /** Fewest events one map must give for a recommendation; with fewer the next map is tried. Default 5. */
  readonly minEvents?: number;
  /** Most maps tried, the chosen one first, when the choice was automatic. Default 3. */
  readonly maxMaps?: number;
  readonly onProgress?: ProgressSink;
}

export const eventLengthStageDefaults = { runs: METHOD_DEFAULTS.m2.runs, minEvents: 5, maxMaps: 3 } as const;

/** One M2 training and what it measured. */
export interface M2Run {
  readonly seed: number;
  readonly events: number;
  readonly p75: number;
  readonly mean: number;
  /** Its recommended k, or null when it gave too few events. */
  readonly k: number | null;
}

/** One normal-cell map M2 was tried on. */
export interface MapAttempt {
  readonly map: number;
  /** The cleaning of y_t tried with it. */
  readonly cleaning: { readonly erosions: number; readonly minArea: number };
  readonly runs: readonly M2Run[];
  /** Why the map was not used, when it was not. */
  readonly rejected?: string;
}

/** The content of stats.json: Table I of the paper plus the recommendation and how sure it is. */
export interface AnalysisStats extends EventLengthStatistics {
  readonly recommendedK: number;
  readonly recommendedAnnotationFrames: number;
  readonly annotationFramesRange: readonly [number, number];
  readonly reason: string;
  readonly normalCellMap: number;
  readonly frames: { readonly first: number; readonly last: number };
  /** Every map's score, the margin between the best two, and the cleaning of y_t. */
  readonly mapChoice: Pick<NormalCellMapChoice, 'automatic' | 'order' | 'margin' | 'confident' | 'cleaning'> & {
    readonly scores: readonly { readonly index: number; readonly score: number }[];
  };
  /** The maps M2 was trained on, in order, with each run's events and k. */
  readonly mapsTried: readonly MapAttempt[];
  /** k of each M2 run on the map used, and their range. */
  readonly kSpread: { readonly runs: readonly number[]; readonly min: number; readonly max: number };
  readonly warnings: readonly string[];
  /** The event lengths and k in minutes, where the video states its frame interval. */
  readonly minutes?: { readonly frameInterval: number; readonly mean: number; readonly p50: number; readonly p75: number; readonly k: number };
}

/**
 * M2 stage: train on artificial events of the stored y_t, infer e' on the real y_t, measure event
 * lengths, recommend k. Two guards make the recommendation hold on videos it was not tuned on:
 * - M2's outcome moves with its seed (and with float32 summation order), so it is trained
 *   `runs` times from different seeds and k is the median of the runs' k; the stored model, e'
 *   and statistics are those of the median run, and every run's k is reported.
 * - When the map chosen automatically gives fewer than `minEvents` events, y_t is rebuilt from
 *   the next maps by score (up to `maxMaps`) before giving up; the maps tried are reported, and
 *   the failure names each one and what it gave.
 */
export async function runEventLengthStage(
  store: BlobStore,
  input: { videoKey: string; range?: FrameRange; prefix: string },
  options: EventLengthStageOptions = {},
): Promise<{ stats: AnalysisStats }> {
  const keys = analysisKeys(input.prefix);
  const meta = await readVideoMeta(store, input.videoKey);
  const choice = await getJson<NormalCellMapChoice>(store, keys.mapChoice).catch((error: unknown) => {
    if (error instanceof NotFoundError) throw new PreconditionError('the normal-cell map stage (M1) has not run for this analysis', { cause: error });
    throw error;
  });
  const runs = options.runs ?? eventLengthStageDefaults.runs;
  const minEvents = options.minEvents ?? eventLengthStageDefaults.minEvents;
  const maxMaps = options.maxMaps ?? eventLengthStageDefaults.maxMaps;
  if (!Number.isInteger(runs) || runs < 1) throw new InvalidInputError(`M2 runs must be a whole number >= 1, got ${runs}`);
  if (!Number.isInteger(minEvents) || minEvents < 1) throw new InvalidInputError(`the fewest events must be a whole number >= 1, got ${minEvents}`);
  const stored = await readArray(store, keys.normalCellMap);
  const [frames = 0, height = 0, width = 0] = stored.shape;
  const shape = [frames, height, width];
  const chosenMap: Volume<Uint8Array> = { data: stored.data as Uint8Array, frames, height, width };
  const progress = options.onProgress ?? silentProgress;
  const seed = options.training?.seed ?? 1;
  const given = options.model ?? (options.reuseStoredModel === true && (await store.exists(`${keys.m2}/model.json`)) ? { store, prefix: keys.m2 } : undefined);
  const reuse = given !== undefined;

  const candidates = reuse ? [{ map: choice.chosen, cleaning: choice.cleaning }] : candidatesOf(choice, Math.max(1, maxMaps));
  const attempts: MapAttempt[] = [];
  for (const [index, { map, cleaning }] of candidates.entries()) {
    const normalCellMap = index === 0 ? chosenMap : await rebuildNormalCellMap(store, keys.featureMaps, map, { ...choice.cleaning, ...cleaning });
    const measured: { run: M2Run; model: M2Model; probability: Volume<Float32Array>; events: MeasuredEvents; recommendation?: Recommendation }[] = [];
    try {
      for (let r = 0; r < (reuse ? 1 : runs); r++) {
        const runSeed = seed + r;
        const model = given ? await loadModel(given.store, given.prefix, 'm2') : trainEventModel(normalCellMap, { ...options.training, seed: runSeed, onProgress: progress }).model;
        const probability = predictCellEvents(model, normalCellMap, { ...options.inference, onProgress: progress });
        const events = measureEvents(probability, options.lengths);
        const statistics = events.statistics;
        const recommendation = statistics.count >= minEvents ? recommendSequenceLength(statistics) : undefined;
        measured.push({
          run: { seed: runSeed, events: statistics.count, p75: statistics.p75, mean: statistics.mean, k: recommendation?.recommendedK ?? null },
          model,
          probability,
          events,
          ...(recommendation ? { recommendation } : {}),
        });
        // A map whose first run finds (almost) nothing is not worth more runs.
        if (r === 0 && !recommendation) break;
      }
      const usable = measured.filter((m) => m.recommendation);
      const attempt: MapAttempt = { map, cleaning: { erosions: cleaning.erosions, minArea: cleaning.minArea }, runs: measured.map((m) => m.run) };
      if (usable.length * 2 <= measured.length && !(usable.length === 1 && measured.length === 1)) {
        // Kept so that the lengths can be re-measured with other options (reuseStoredModel); a
        // later map that gives events overwrites it.
        const firstRun = measured[0];
        if (!reuse && index === 0 && firstRun) await saveModel(store, keys.m2, firstRun.model);
        const most = Math.max(0, ...measured.map((m) => m.run.events));
        // Most runs gave too few events; a run that gave enough is named, or the message would contradict itself.
        const rejected =
          usable.length === 0
            ? `${most === 0 ? 'no' : `at most ${most}`} cell events predicted (fewer than ${minEvents})`
            : `only ${usable.length} of ${measured.length} M2 runs predicted ${minEvents} or more cell events (at most ${most})`;
        attempts.push({ ...attempt, rejected });
        continue;
      }
      attempts.push(attempt);
      const median = medianRun(usable);
      if (!reuse) await saveModel(store, keys.m2, median.model);
      await writeArray(store, keys.eventProbability, { data: median.probability.data, shape }, { dimensionNames: ['t', 'y', 'x'] });
      const ks = usable.map((m) => m.run.k ?? 0);
      const used = { ...choice, chosen: map, cleaning: { ...choice.cleaning, ...cleaning } };
      const stats = analysisStats(
        median.events,
        median.recommendation ?? recommendSequenceLength(median.events.statistics),
        choice,
        used,
        attempts,
        ks,
        gridOf(meta, input.range),
        meta.physical?.frameIntervalS,
      );
      if (index > 0) {
        // The map and cleaning that gave events become y_t of this analysis, for M3's users and the figures.
        await writeArray(store, keys.normalCellMap, { data: normalCellMap.data, shape }, { dimensionNames: ['t', 'y', 'x'] });
        await putJson(store, keys.mapChoice, { ...used, warnings: stats.warnings });
      }
      await putJson(store, keys.stats, stats);
      return { stats };
    } finally {
      for (const m of measured) m.model.dispose();
    }
  }
  const tried = attempts.map((a) => `map ${a.map} with ${a.cleaning.erosions} erosion(s): ${a.rejected ?? 'no usable run'}`).join('; ');
  throw new InvalidInputError(
    `no cell events were predicted, so no sequence length can be recommended (${tried}). ` +
      (choice.automatic
        ? 'Look at feature-maps.png: if a map holds the cell interiors, pass it with --normal-map; if the cells look like specks, use a smaller --factor; or give M1 and M2 more frames or iterations'
        : `map ${choice.chosen} was given with --normal-map: try the automatic choice or another map, a smaller --factor, or more frames`),
  );
}

/** The run whose k is the median of the runs' k (the lower one of the middle two). */
function medianRun<T extends { run: M2Run }>(runs: readonly T[]): T {
  const sorted = [...runs].sort((a, b) => (a.run.k ?? 0) - (b.run.k ?? 0) || a.run.seed - b.run.seed);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  if (!median) throw new InvalidInputError('no M2 run to take the median of');
  return median;
}

/**
 * What M2 tries, in order: the chosen map as M1's stage cleaned it; when the cleaning was not
 * given, the same map with the scoring's cleaning if it differs (no erosion, for cells one
 * erosion cuts to specks); when the map was not given, the next maps by score (paper cleaning).
 */
function candidatesOf(choice: NormalCellMapChoice, most: number): { map: number; cleaning: NormalCellMapCleaning & { erosions: number; minArea: number } }[] {
  const list = [{ map: choice.chosen, cleaning: { erosions: choice.cleaning.erosions, minArea: choice.cleaning.minArea } }];
  const scored = choice.scores[choice.chosen]?.cleaning;
  if (choice.cleaning.chosenBy !== 'given' && scored && (scored.erosions !== choice.cleaning.erosions || scored.minArea !== choice.cleaning.minArea)) {
    list.push({ map: choice.chosen, cleaning: { ...scored } });
  }
  if (choice.automatic) {
    for (const m of choice.order ?? [])
      if (m !== choice.chosen && (choice.scores[m]?.score ?? 0) > 0) list.push({ map: m, cleaning: { erosions: choice.cleaning.erosions, minArea: choice.cleaning.minArea } });
  }
  return list.slice(0, most);
}

async function rebuildNormalCellMap(store: BlobStore, featureMapsKey: string, map: number, cleaning: NormalCellMapCleaning): Promise<Volume<Uint8Array>> {
  const stored = await readArray(store, featureMapsKey);
  const [frames = 0, height = 0, width = 0] = stored.shape;
  const winner: Volume<Uint8Array> = { data: stored.data as Uint8Array, frames, height, width };
  return normalCellMapFrom(winner, map, cleaning);
}

/** Frames as minutes at `intervalS` seconds per frame, rounded to 3 decimals. */
const toMinutes = (frames: number, intervalS: number): number => Number(((frames * intervalS) / 60).toFixed(3));

export function inMinutes(lengths: { mean: number; p50: number; p75: number }, k: number, intervalS: number): NonNullable<AnalysisStats['minutes']> {
  const m = (frames: number): number => toMinutes(frames, intervalS);
  return { frameInterval: m(1), mean: m(lengths.mean), p50: m(lengths.p50), p75: m(lengths.p75), k: m(k) };
}

function analysisStats(
  measured: MeasuredEvents,
  recommendation: Recommendation,
  choice: NormalCellMapChoice,
  used: Pick<NormalCellMapChoice, 'chosen' | 'cleaning'>,
  attempts: readonly MapAttempt[],
  ks: readonly number[],
  grid: ReturnType<typeof gridOf>,
  frameIntervalS?: number,
): AnalysisStats {
  const map = used.chosen;
  const spread = describeLengths(ks);
  const warnings = [...(choice.warnings ?? [])];
  if (map !== choice.chosen) {
    warnings.push(`map ${choice.chosen} (the best score) gave too few cell events; map ${map}, the next by score, was used instead`);
  } else if (used.cleaning.erosions !== choice.cleaning.erosions || used.cleaning.minArea !== choice.cleaning.minArea) {
    warnings.push(
      `y_t with ${choice.cleaning.erosions} erosion(s) gave too few cell events; ${used.cleaning.erosions} erosion(s) and specks under ${used.cleaning.minArea} px dropped were used (cells a few pixels across)`,
    );
  }
  if (spread.max - spread.min > 2) {
    warnings.push(`the M2 runs disagree on k (${ks.join(', ')}): the median is used; more frames or --m2-iterations steady it`);
  }
  if (measured.statistics.count < 20) {
    warnings.push(`only ${measured.statistics.count} cell events were measured: k rests on few events; more frames make it surer`);
  }
  return {
    ...measured.statistics,
    recommendedK: recommendation.recommendedK,
    recommendedAnnotationFrames: recommendation.recommendedAnnotationFrames,
    annotationFramesRange: recommendation.annotationFramesRange,
    reason: `${recommendation.reason}; median k of ${ks.length} M2 run${ks.length === 1 ? '' : 's'} (${ks.join(', ')})`,
    normalCellMap: map,
    frames: { first: grid.firstFrame, last: grid.firstFrame + grid.frames - 1 },
    mapChoice: {
      automatic: choice.automatic,
      order: choice.order ?? [],
      margin: choice.margin ?? 0,
      confident: choice.confident ?? true,
      cleaning: used.cleaning,
      scores: choice.scores.map((s) => ({ index: s.index, score: s.score })),
    },
    mapsTried: attempts,
    kSpread: { runs: ks, min: spread.min, max: spread.max },
    warnings,
    ...(frameIntervalS === undefined ? {} : { minutes: inMinutes(measured.statistics, recommendation.recommendedK, frameIntervalS) }),
  };
}
