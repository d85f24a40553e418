/**
 * The paper's Table II in small on real data (CeTReS.B-MI frames 1-200): M1 and M2 learn
 * unsupervised on frames 1-110, M3 trains on the last N annotated frames of 1-110 for each k, and
 * detection is scored on frames 111-200 at th = 1 and th = 3 (10 px). Writes `<out>/table-ii.md`,
 * `<out>/results.json` (resumable: finished cells are kept), and the stats beside Table I.
 *
 *   npx tsx tools/sweep/table-ii.ts --out tmp/sweep [--ks 4,6,8,10,14] [--frames 10,14,18]
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalBlobStore } from '@mitosis/core';
import { initBackend } from '@mitosis/models';
import { readPointsCsv, scoreAtThresholds } from '@mitosis/scoring';
import type { AnalysisStats } from '@mitosis/stages';
import { getJson, analysisKeys, runDetectionStage, runEventLengthStage, runNormalCellMapStage, runTrainingStage, storePreprocessedVideo } from '@mitosis/stages';
import { sharedData, sharedPath } from '@mitosis/testing';
import { preprocessVideo, readVideo } from '@mitosis/video';
import type { SweepCell } from './table';
import { tableIIMarkdown } from './table';

// The full frames 1..200 live outside the repository, in ../shared or $MITOSIS_SHARED_DATA.
const shared = sharedPath('data', 'cetres-b');
const { values } = parseArgs({
  options: {
    video: { type: 'string', default: path.join(shared, 'frames') },
    annotations: { type: 'string', default: path.join(shared, 'mitoses.csv') },
    out: { type: 'string', default: 'tmp/sweep' },
    ks: { type: 'string', default: '4,6,8,10,14' },
    frames: { type: 'string', default: '10,14,18' },
    'unsupervised-last': { type: 'string', default: '110' },
    'test-last': { type: 'string', default: '200' },
    factor: { type: 'string', default: '4' },
    'm1-iterations': { type: 'string', default: '600' },
    'm1-crop': { type: 'string', default: '64' },
    'm2-iterations': { type: 'string', default: '300' },
    'm2-crop': { type: 'string', default: '64' },
    'm2-batch': { type: 'string', default: '2' },
    'm2-positive-weight': { type: 'string', default: '1' },
    'm2-loss-margin': { type: 'string', default: '0' },
    erosions: { type: 'string', default: '1' },
    'min-area': { type: 'string', default: '0' },
    iterations: { type: 'string', default: '800' },
    'positive-weight': { type: 'string', default: '20' },
    crop: { type: 'string', default: '32' },
    batch: { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string' },
  },
});

const list = (text: string): number[] => text.split(',').map((v) => Number(v.trim()));

/** The default inputs come from the shared folder: say where it was looked for when it is absent. */
function requireDefaultInput(given: string, fallback: string, ...parts: string[]): void {
  if (given !== fallback) return;
  const found = sharedData(...parts);
  if (!found.available) throw new Error(`${found.reason}; or name the input with --video and --annotations`);
}

async function main(): Promise<void> {
  requireDefaultInput(values.video, path.join(shared, 'frames'), 'data', 'cetres-b', 'frames');
  requireDefaultInput(values.annotations, path.join(shared, 'mitoses.csv'), 'data', 'cetres-b', 'mitoses.csv');
  const out = path.resolve(values.out);
  await mkdir(out, { recursive: true });
  const backend = await initBackend({ ...(values.backend ? { preferred: values.backend as 'wasm' } : {}), log: (l) => console.error(l) });
  const store = createLocalBlobStore(path.join(out, 'store'));
  const unsupervisedLast = Number(values['unsupervised-last']);
  const testLast = Number(values['test-last']);
  const factor = Number(values.factor);
  const seed = Number(values.seed);
  const crop = Number(values.crop);
  const batch = Number(values.batch);
  const truth = await readPointsCsv(values.annotations);
  const started = Date.now();
  const log = (line: string): void => console.error(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);

  if (!(await store.exists('video/zarr.json'))) {
    log(`reading frames 1-${testLast} of ${values.video}`);
    // One normalisation over frames 1..testLast: intensities only, no labels are involved.
    const raw = await readVideo(values.video, { frames: { first: 1, last: testLast } });
    await storePreprocessedVideo(store, 'video', preprocessVideo(raw, { factor }), values.video);
  }
  const unsupervised = { first: 1, last: unsupervisedLast };
  let stats: AnalysisStats;
  if (await store.exists(analysisKeys('analysis').stats)) {
    stats = await getJson<AnalysisStats>(store, analysisKeys('analysis').stats);
  } else {
    const progress = ({ step, done, total, detail }: { step: string; done: number; total: number; detail?: string }): void => {
      if (done === total || done % 50 === 0) log(`${step} ${done}/${total} ${detail ?? ''}`);
    };
    // A stored map or M2 (from an earlier run; delete analysis/stats.json to re-measure) is kept.
    if (!(await store.exists(analysisKeys('analysis').mapChoice))) {
      log('M1: training and normal-cell map');
      await runNormalCellMapStage(
        store,
        { videoKey: 'video', range: unsupervised, prefix: 'analysis' },
        {
          training: { iterations: Number(values['m1-iterations']), crop: Number(values['m1-crop']), seed },
          erosions: Number(values.erosions),
          minArea: Number(values['min-area']),
          onProgress: progress,
        },
      );
    }
    log('M2: training (or the stored model), inference and event lengths');
    stats = (
      await runEventLengthStage(
        store,
        { videoKey: 'video', range: unsupervised, prefix: 'analysis' },
        {
          training: {
            iterations: Number(values['m2-iterations']),
            crop: Number(values['m2-crop']),
            batch: Number(values['m2-batch']),
            lossMargin: Number(values['m2-loss-margin']),
            model: { positiveWeight: Number(values['m2-positive-weight']) },
            seed,
          },
          reuseStoredModel: true,
          onProgress: progress,
        },
      )
    ).stats;
  }
  log(`event lengths: count ${stats.count}, mean ${stats.mean.toFixed(2)}, sd ${stats.std.toFixed(2)}, p50 ${stats.p50}, p75 ${stats.p75}; recommended k ${stats.recommendedK}`);

  const resultsFile = path.join(out, 'results.json');
  const cells: SweepCell[] = existsSync(resultsFile) ? (JSON.parse(await readFile(resultsFile, 'utf8')) as SweepCell[]) : [];
  const ks = list(values.ks);
  const framesList = list(values.frames);
  const test = { first: unsupervisedLast + 1, last: testLast };
  for (const n of framesList) {
    for (const k of ks) {
      if (k > n || cells.some((c) => c.k === k && c.frames === n)) continue;
      const range = { first: unsupervisedLast - n + 1, last: unsupervisedLast };
      const modelPrefix = `models/k${k}-n${n}`;
      log(`M3: k = ${k}, frames ${range.first}-${range.last}`);
      const meta = await runTrainingStage(
        store,
        { videoKey: 'video', range, annotations: truth, annotationSource: values.annotations, modelPrefix },
        { k, iterations: Number(values.iterations), crop, batch, seed, model: { positiveWeight: Number(values['positive-weight']) } },
      );
      const result = await runDetectionStage(store, { videoKey: 'video', range: test, modelPrefix }, {});
      const [th1, th3] = scoreAtThresholds(truth, result.detections, { radius: 10, ths: [1, 3], frames: test });
      cells.push({
        k,
        frames: n,
        f1Th1: th1?.f1 ?? 0,
        f1Th3: th3?.f1 ?? 0,
        annotations: meta.annotations,
        detections: result.detections.length,
        threshold: result.threshold,
        vote: result.vote,
      });
      log(
        `   F1 ${th1?.f1.toFixed(3)} (th=1) ${th3?.f1.toFixed(3)} (th=3), ${result.detections.length} detections at threshold ${result.threshold} (vote ${result.vote}), ${meta.annotations} training annotations`,
      );
      await writeFile(resultsFile, `${JSON.stringify(cells, null, 2)}\n`);
    }
  }
  const md = [
    `# Table II in small on CeTReS.B-MI (frames 1-${unsupervisedLast} unsupervised, scored on ${test.first}-${test.last})`,
    '',
    `Backend ${backend.name}${backend.threads ? ` (${backend.threads} threads)` : ''}; downscale ${factor}, flat-field corrected; M1 ${values['m1-iterations']} updates on ${values['m1-crop']}px crops, y_t with ${values.erosions} erosion(s) and components under ${values['min-area']} px dropped; M2 ${values['m2-iterations']} updates on ${values['m2-batch']} x ${values['m2-crop']}px crops, event weight ${values['m2-positive-weight']}, loss margin ${values['m2-loss-margin']} px (a stored analysis is reused as it was made); M3 ${values.iterations} updates on ${batch} x ${crop}px crops, positive weight ${values['positive-weight']}, threshold chosen on the annotated frames; seed ${seed}.`,
    '',
    `Event lengths (Table I): count ${stats.count}, mean ${stats.mean.toFixed(2)} (paper 6.38), sd ${stats.std.toFixed(2)} (5.63), p50 ${stats.p50} (5.0), p75 ${stats.p75} (8.0); recommended k = ${stats.recommendedK} (paper 8), annotate ${stats.recommendedAnnotationFrames} frames.`,
    '',
    'F1 at th=1 / th=3 (ours in bold, the paper in brackets):',
    '',
    tableIIMarkdown(cells, ks, framesList, stats.recommendedK),
    '',
  ].join('\n');
  await writeFile(path.join(out, 'table-ii.md'), md);
  process.stdout.write(md);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
