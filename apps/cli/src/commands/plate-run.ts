import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLocalBlobStore, InvalidInputError, isMitosisError } from '@mitosis/core';
import type { CheckedEntry, FieldResult, PlateManifest } from '@mitosis/plate';
import { conditionSummary, loadPlate, parseWell, plateHeatmapSvg, readoutsCsv, readoutsJson, readPlateAnnotations, timeCourseSvg, wellLabel, wellReadouts } from '@mitosis/plate';
import { formatPointsCsv } from '@mitosis/scoring';
import type { AnalysisStats } from '@mitosis/stages';
import { analysisKeys, readVideoMeta, recommendSequenceLength } from '@mitosis/stages';
import { readArray } from '@mitosis/tensor-store';
import { readVideo, writeTiffStack } from '@mitosis/video';
import { connectedComponents, describeLengths } from '@mitosis/volume';
import type { ComputeOptions } from '../runtime';
import { parsePositiveInt } from '../runtime';
import { analyzeVideo, registerAnalyze } from './analyze';
import { detectInVideo, registerDetect } from './detect';
import { registerTrain, trainModel } from './train';
import { cliDefaults } from './validate';

export interface PlateRunOptions extends ComputeOptions {
  readonly annotations: string;
  readonly out: string;
  readonly wells?: 96 | 384;
  /** The fields M1 and M2 train on, pooled (`B07,C03/2`); default: the first annotated field and the first field of every other condition. */
  readonly sample?: string;
  /** k for M3; default the plate's, from every well's event lengths pooled. */
  readonly k?: string;
  readonly binFrames?: string;
  readonly binMinutes?: string;
  readonly m1Iterations?: string;
  readonly m2Iterations?: string;
  readonly m3Iterations?: string;
  readonly seed?: string;
}

/** What each field gave: its analysis by the sample's M1 and M2, its detections, its cells. */
interface FieldRun {
  readonly entry: CheckedEntry;
  k?: number;
  events?: number;
  histogram?: AnalysisStats['histogram'];
  cellsPerFrame?: number[];
  mitosisFrames?: number[];
  /** Why the field failed, as plate.json reports it. */
  reason?: string;
  /** The first error of a failed field, whose kind gives the exit code. */
  failure?: unknown;
}

const key = (e: Pick<CheckedEntry, 'well' | 'field'>): string => `${e.well}_f${e.field}`;
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Cells in each frame of y_t: its 8-connected components frame by frame. */
async function cellsPerFrame(analysisDir: string): Promise<number[]> {
  const store = createLocalBlobStore(path.join(analysisDir, 'store'));
  const array = await readArray(store, analysisKeys('analysis').normalCellMap);
  const [frames = 0, height = 0, width = 0] = array.shape;
  const { components } = connectedComponents({ data: array.data as Uint8Array, frames, height, width }, { connectivity: 'frame-8' });
  const counts = new Array<number>(frames).fill(0);
  for (const c of components) counts[c.firstFrame] = (counts[c.firstFrame] ?? 0) + 1;
  return counts;
}

/** A field by `WELL` or `WELL/FIELD`. */
function fieldNamed(plate: PlateManifest, text: string): CheckedEntry {
  const [wellText = '', fieldText = '1'] = text.trim().split('/');
  const position = parseWell(wellText);
  const entry = position === undefined ? undefined : plate.entries.find((e) => e.well === wellLabel(position) && e.field === Number(fieldText));
  if (entry === undefined) throw new InvalidInputError(`--sample ${text} is not a field of the plate (give WELL or WELL/FIELD, e.g. B07/2)`);
  return entry;
}

/**
 * The fields M1 and M2 learn from: the first annotated field (M3's), then the first field of each
 * other condition, so that the models see every condition's cells; or the fields of --sample.
 */
function pickSample(plate: PlateManifest, annotated: readonly { well: string; field: number }[], sample: string | undefined): CheckedEntry[] {
  if (sample !== undefined) return [...new Set(sample.split(',').map((t) => fieldNamed(plate, t)))];
  const first = plate.entries.find((e) => e.well === annotated[0]?.well && e.field === annotated[0]?.field);
  if (first === undefined) throw new InvalidInputError('no annotated field to train M1 and M2 on');
  const others = plate.conditions.filter((c) => c !== first.condition).flatMap((c) => plate.entries.find((e) => e.condition === c) ?? []);
  return [first, ...others];
}

/**
 * One video of the sample's frames end to end (the fields' raw frames, in order), for M1 and M2 to
 * train on as on one video: fields of another size or bit depth than the first are left out.
 */
async function poolSample(fields: readonly CheckedEntry[], file: string, log: (line: string) => void): Promise<CheckedEntry[]> {
  const videos = [];
  const used: CheckedEntry[] = [];
  for (const field of fields) {
    const video = await readVideo(field.path);
    const first = videos[0];
    if (first !== undefined && (video.volume.width !== first.volume.width || video.volume.height !== first.volume.height || video.bitDepth !== first.bitDepth)) {
      log(`    ${field.well} field ${field.field} left out of the sample: ${video.volume.width}x${video.volume.height} ${video.bitDepth}-bit, not as ${used[0]?.well}`);
      continue;
    }
    videos.push(video);
    used.push(field);
  }
  const [head] = videos;
  if (head === undefined) throw new InvalidInputError('no sample field to train M1 and M2 on');
  const frames = videos.reduce((n, v) => n + v.volume.frames, 0);
  const data = head.bitDepth === 8 ? new Uint8Array(frames * head.volume.height * head.volume.width) : new Uint16Array(frames * head.volume.height * head.volume.width);
  let at = 0;
  for (const v of videos) {
    data.set(v.volume.data, at);
    at += v.volume.data.length;
  }
  await writeTiffStack(file, { data, frames, height: head.volume.height, width: head.volume.width });
  return used;
}

/**
 * A plate from videos to readouts, in this process: M1 and M2 trained once on a sample field and
 * applied to every field by inference (each field gets its own event lengths; the plate's k
 * comes from all of them pooled), M3 trained once on the annotated frames, then detection and
 * cell counts on every field, and the per-well readouts, tables and figures. A field that fails
 * is reported with its reason; the others go on.
 */
export async function runPlate(source: string, options: PlateRunOptions): Promise<{ failed: number; fields: number; firstFailure?: unknown; out: string }> {
  const out = path.resolve(options.out);
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const plate = await loadPlate(source, options.wells === undefined ? {} : { wells: options.wells });
  const annotations = await readPlateAnnotations(options.annotations, plate);
  await mkdir(out, { recursive: true });
  const common = { ...(options.backend ? { backend: options.backend } : {}), ...(options.threads ? { threads: options.threads } : {}), quiet: options.quiet !== false };
  const seed = options.seed ?? '1';
  const analyzeDefaults = {
    ...cliDefaults<Parameters<typeof analyzeVideo>[1]>(registerAnalyze, 'analyze'),
    ...common,
    seed,
    ...(options.m1Iterations ? { m1Iterations: options.m1Iterations } : {}),
    ...(options.m2Iterations ? { m2Iterations: options.m2Iterations } : {}),
  };
  log(`plate ${source}: ${plate.entries.length} fields in ${new Set(plate.entries.map((e) => e.well)).size} wells, ${plate.conditions.length} conditions`);

  const sampleDir = path.join(out, 'sample');
  await mkdir(sampleDir, { recursive: true });
  const pooledFile = path.join(sampleDir, 'sample.tif');
  const sample = await poolSample(pickSample(plate, annotations, options.sample), pooledFile, log);
  const seconds: Record<'sample' | 'fields' | 'm3' | 'detection', number> = { sample: 0, fields: 0, m3: 0, detection: 0 };
  let started = performance.now();
  const lap = (step: keyof typeof seconds): void => {
    seconds[step] = (performance.now() - started) / 1000;
    started = performance.now();
  };
  log(`1/4 M1 and M2 trained on ${sample.map((e) => `${e.well} field ${e.field}`).join(', ')} (${sample.length === 1 ? 'one field' : 'their frames end to end'})`);
  const sampleStore = createLocalBlobStore(path.join(sampleDir, 'store'));
  const sampleKeys = analysisKeys('analysis');
  await analyzeVideo(pooledFile, { ...analyzeDefaults, out: sampleDir }).catch(async (error: unknown) => {
    // The sample's M2 may find no event and still leave both models: the fields are analysed with them.
    const modelsLeft = (await sampleStore.exists(sampleKeys.mapChoice)) && (await sampleStore.exists(`${sampleKeys.m2}/model.json`));
    if (!(isMitosisError(error) && error.kind === 'INVALID_ARGUMENT' && modelsLeft)) throw error;
    log(`    the sample's own analysis found no event (${message(error)}); its models are still applied`);
  });
  const factor = (await readVideoMeta(sampleStore, 'video')).factor;
  const chosen = (JSON.parse(new TextDecoder().decode(await sampleStore.get(sampleKeys.mapChoice))) as { chosen: number }).chosen;
  const models = { m1Model: { store: sampleStore, prefix: sampleKeys.m1 }, m2Model: { store: sampleStore, prefix: sampleKeys.m2 } };

  lap('sample');
  log(`2/4 every field analysed with the sample's models (factor ${factor}, map ${chosen})`);
  const runs: FieldRun[] = plate.entries.map((entry) => ({ entry }));
  for (const [i, run] of runs.entries()) {
    const dir = path.join(out, 'fields', key(run.entry), 'analysis');
    try {
      const { stats } = await analyzeVideo(run.entry.path, { ...analyzeDefaults, ...models, out: dir, factor: String(factor), normalMap: String(chosen) });
      run.k = stats.recommendedK;
      run.events = stats.count;
      run.histogram = stats.histogram;
    } catch (error: unknown) {
      if (!isMitosisError(error)) throw error;
      // No event in this field: no k of its own, but its y_t still counts its cells.
      if (error.kind !== 'INVALID_ARGUMENT') {
        run.reason = `analysis: ${message(error)}`;
        run.failure = error;
      } else run.events = 0;
    }
    if (run.reason === undefined) run.cellsPerFrame = await cellsPerFrame(dir).catch(() => undefined);
    if (run.reason === undefined && run.cellsPerFrame === undefined) run.reason = 'analysis: no normal-cell map was stored';
    log(
      `    ${i + 1}/${runs.length} ${run.entry.well} field ${run.entry.field}: ${run.reason ?? `${run.events ?? 0} events, k ${run.k ?? '-'}, ${run.cellsPerFrame?.[0] ?? 0} cells in frame 1`}`,
    );
  }
  const lengths = runs.flatMap((r) => (r.histogram ?? []).flatMap((bin) => new Array<number>(bin.count).fill(bin.length)));
  const pooled = describeLengths(lengths);
  const plateK = options.k !== undefined ? parsePositiveInt(options.k, '--k') : pooled.count > 0 ? recommendSequenceLength(pooled).recommendedK : undefined;
  if (plateK === undefined) throw new InvalidInputError('no field of the plate gave a cell event, so no k can be recommended: give --k, or more M1/M2 iterations');
  const wellKs = runs.flatMap((r) => (r.k === undefined ? [] : [r.k]));

  lap('fields');
  log(`3/4 M3 trained with k ${plateK} on the annotated frames of ${annotations.length} field(s)`);
  const modelDir = path.join(out, 'model');
  // Each annotated field trains on its frames from its first to its last annotation (at least k).
  const trainingVideos = [];
  for (const annotated of annotations) {
    const entry = plate.entries.find((e) => e.well === annotated.well && e.field === annotated.field);
    if (entry === undefined) throw new InvalidInputError(`annotated field ${annotated.well}/${annotated.field} is not in the plate`);
    const framesOf = annotated.points.map((p) => p.frame);
    const first = Math.max(1, Math.min(Math.min(...framesOf), entry.frames - plateK + 1));
    const last = Math.min(entry.frames, Math.max(Math.max(...framesOf), first + plateK - 1));
    if (last - first + 1 < plateK) throw new InvalidInputError(`${annotated.well} field ${annotated.field} has ${entry.frames} frames, fewer than k = ${plateK}`);
    const csv = path.join(out, 'annotations', `${key(annotated)}.csv`);
    await mkdir(path.dirname(csv), { recursive: true });
    await writeFile(csv, formatPointsCsv(annotated.points));
    trainingVideos.push({ video: entry.path, annotations: csv, frames: `${first}:${last}` });
    log(`    ${annotated.well} field ${annotated.field}: frames ${first}-${last}, ${annotated.points.length} mitoses`);
  }
  const [firstVideo, ...moreVideos] = trainingVideos;
  if (firstVideo === undefined) throw new InvalidInputError('no annotated field');
  await trainModel(firstVideo.video, {
    ...cliDefaults<Parameters<typeof trainModel>[1]>(registerTrain, 'train'),
    ...common,
    annotations: firstVideo.annotations,
    frames: firstVideo.frames,
    more: moreVideos,
    k: String(plateK),
    factor: String(factor),
    out: modelDir,
    seed,
    ...(options.m3Iterations ? { iterations: options.m3Iterations } : {}),
  });

  lap('m3');
  log(`4/4 detection on every field`);
  for (const [i, run] of runs.entries()) {
    if (run.reason !== undefined) continue;
    try {
      const detected = await detectInVideo(run.entry.path, {
        ...cliDefaults<Parameters<typeof detectInVideo>[1]>(registerDetect, 'detect'),
        ...common,
        model: modelDir,
        out: path.join(out, 'fields', key(run.entry), 'detections.csv'),
        overlays: false,
      });
      run.mitosisFrames = detected.detections.map((d) => Math.min(run.entry.frames, Math.max(1, Math.round(d.frame))));
      log(`    ${i + 1}/${runs.length} ${run.entry.well} field ${run.entry.field}: ${run.mitosisFrames.length} mitoses`);
    } catch (error: unknown) {
      if (!isMitosisError(error)) throw error;
      run.reason = `detection: ${message(error)}`;
      run.failure = error;
    }
  }

  lap('detection');
  const fields: FieldResult[] = runs.map((r) => ({
    well: r.entry.well,
    position: r.entry.position,
    field: r.entry.field,
    condition: r.entry.condition === '' ? 'all' : r.entry.condition,
    status: r.reason === undefined ? 'ok' : 'failed',
    ...(r.reason === undefined ? {} : { error: r.reason }),
    frames: r.entry.frames,
    ...(r.entry.frameIntervalMin === undefined ? {} : { frameIntervalMin: r.entry.frameIntervalMin }),
    mitosisFrames: r.mitosisFrames ?? [],
    cellsPerFrame: r.cellsPerFrame ?? new Array<number>(r.entry.frames).fill(0),
  }));
  const binOptions = {
    ...(options.binFrames ? { binFrames: parsePositiveInt(options.binFrames, '--bin-frames') } : {}),
    ...(options.binMinutes ? { binMinutes: parsePositiveInt(options.binMinutes, '--bin-minutes') } : {}),
  };
  const rows = wellReadouts(fields, binOptions);
  const summary = conditionSummary(rows);
  const perHour = summary.metric === 'mitotic_rate_per_100_cells_per_h';
  const valueLabel = perHour ? 'mitoses per 100 cells per h' : 'mitoses per 100 cells';
  await writeFile(path.join(out, 'readouts.csv'), readoutsCsv(rows));
  const report = {
    ...readoutsJson(rows, summary),
    k: {
      plate: plateK,
      pooledEvents: pooled.count,
      pooledP75: pooled.p75,
      perField: runs.map((r) => ({ well: r.entry.well, field: r.entry.field, k: r.k ?? null, events: r.events ?? null })),
    },
    kSpread: wellKs.length === 0 ? null : { min: Math.min(...wellKs), max: Math.max(...wellKs) },
    sample: { fields: sample.map((e) => ({ well: e.well, field: e.field })), factor, normalCellMap: chosen },
    // Wall-clock seconds of each step: the sample's M1 and M2, every field's inference, M3, detection.
    seconds,
  };
  await writeFile(path.join(out, 'plate.json'), `${JSON.stringify(report, null, 2)}\n`);
  const onPlate = new Map(summary.wells.map((w) => [wellLabel(w.position), w]));
  const heatmap = [];
  for (let row = 0; row < plate.format.rows; row++) {
    for (let column = 1; column <= plate.format.columns; column++) {
      const well = onPlate.get(wellLabel({ row, column }));
      const value = well === undefined ? undefined : perHour ? well.mitoticRatePer100CellsPerHour : well.mitosesPer100Cells;
      heatmap.push(
        well === undefined ? { position: { row, column }, status: 'empty' as const } : { position: well.position, status: well.status, ...(value === undefined ? {} : { value }) },
      );
    }
  }
  const title = path.basename(source);
  await writeFile(path.join(out, 'heatmap.svg'), plateHeatmapSvg(heatmap, plate.format, { title: `${title}: mitotic rate per well`, valueLabel }));
  const series = summary.conditions.map((c) => ({
    condition: c.condition,
    points: summary.bins
      .filter((b) => b.condition === c.condition && b.mean !== undefined)
      .map((b) => ({ x: perHour ? (b.binStartMin ?? 0) : b.binStartFrame, mean: b.mean ?? 0, ...(b.sd === undefined ? {} : { sd: b.sd }) })),
  }));
  await writeFile(
    path.join(out, 'time-course.svg'),
    timeCourseSvg(series, { title: `${title}: mitotic rate over time, per condition`, xLabel: perHour ? 'time (min)' : 'frame', yLabel: valueLabel }),
  );
  const failed = runs.filter((r) => r.reason !== undefined).length;
  log(
    `plate k ${plateK} (pooled p75 ${pooled.p75.toFixed(2)} of ${pooled.count} events; fields' k ${wellKs.length === 0 ? 'none' : `${Math.min(...wellKs)}-${Math.max(...wellKs)}`})`,
  );
  for (const c of summary.conditions)
    log(`  ${c.condition}: ${c.mean === undefined ? '-' : c.mean.toFixed(3)} ${valueLabel} over ${c.wells} well(s)${c.sd === undefined ? '' : `, sd ${c.sd.toFixed(3)}`}`);
  log(`seconds: sample ${seconds.sample.toFixed(1)}, fields ${seconds.fields.toFixed(1)}, M3 ${seconds.m3.toFixed(1)}, detection ${seconds.detection.toFixed(1)}`);
  log(`${runs.length - failed} of ${runs.length} fields done, ${failed} failed; readouts.csv, plate.json, heatmap.svg and time-course.svg in ${out}`);
  const firstFailure = runs.find((r) => r.failure !== undefined)?.failure;
  return { failed, fields: runs.length, out, ...(firstFailure === undefined ? {} : { firstFailure }) };
}
