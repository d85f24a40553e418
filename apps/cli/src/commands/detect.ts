import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLocalBlobStore, createMemoryBlobStore, exitCodes, InvalidInputError, NotFoundError } from '@mitosis/core';
import type { MitosisPoint } from '@mitosis/scoring';
import { formatNapariPointsCsv, formatPhysicalPointsCsv, formatPointsCsv, readPointsCsv } from '@mitosis/scoring';
import type { OverlayMark } from '@mitosis/stages';
import { METHOD_DEFAULTS, loadStoredFrames, overlayMarks, readDetectorMeta, runDetectionStage } from '@mitosis/stages';
import type { OmeZarrPlacement, PhysicalSizes } from '@mitosis/video';
import { probeVideo, toDownscaledPixels, writeOmeZarr } from '@mitosis/video';
import type { Volume } from '@mitosis/volume';
import { connectedComponents } from '@mitosis/volume';
import { createProgressRenderer } from '../progress';
import type { ComputeOptions } from '../runtime';
import { computeCommand, ingestVideo, initCompute, methodOptions, pad3, parseNonNegativeInt, parseThreshold, writeImage } from '../runtime';
import type { RegisterCommand } from './index';
import { stat } from 'node:fs/promises';

interface DetectOptions extends ComputeOptions {
  readonly channel?: string;
  readonly model: string;
  readonly frames?: string;
  readonly out: string;
  readonly overlays?: string | false;
  readonly truth?: string;
  readonly vote?: string;
  readonly threshold?: string;
  readonly mergeDistance?: string;
  /** false (--no-exports) writes detections.csv alone, without the napari and physical-units CSVs. */
  readonly exports?: boolean;
}

export interface DetectSummary {
  readonly detections: MitosisPoint[];
  /** The threshold applied: --threshold, else the one stored with the model. */
  readonly threshold: number;
  /** The vote rule applied: --vote, else the one stored with the model. */
  readonly vote: 'any' | 'mean';
  readonly frames: { first: number; last: number };
  readonly overlayDir?: string;
  /** The napari points CSV and, where the video states physical sizes, the physical-units CSV written beside --out. */
  readonly exports?: string[];
}

/** M3 over a frame range: detections.csv (frame,x,y,score in original pixels) and overlay PNGs. */
export async function detectInVideo(videoPath: string, options: DetectOptions): Promise<DetectSummary> {
  if (options.vote !== undefined && options.vote !== 'any' && options.vote !== 'mean') throw new InvalidInputError(`--vote "${options.vote}" must be any or mean`);
  const vote = options.vote as 'any' | 'mean' | undefined;
  const threshold = options.threshold === undefined ? undefined : parseThreshold(options.threshold, '--threshold');
  const mergeDistance = options.mergeDistance === undefined ? undefined : parseNonNegativeInt(options.mergeDistance, '--merge-distance');
  const modelDir = path.resolve(options.model);
  const isDir = await stat(modelDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new NotFoundError(`model folder ${modelDir} does not exist`);
  const modelStore = createLocalBlobStore(modelDir);
  const detector = await readDetectorMeta(modelStore, '');
  const truth = options.truth ? await readPointsCsv(options.truth) : undefined;
  await initCompute(options);
  const scratch = createMemoryBlobStore();
  const { range } = await ingestVideo(scratch, 'video', videoPath, {
    frames: options.frames,
    factor: detector.factor,
    flatField: detector.flatField === true,
    channel: options.channel,
  });
  const renderer = createProgressRenderer(process.stderr, options.quiet);
  let result;
  try {
    result = await runDetectionStage(
      scratch,
      { videoKey: 'video', modelStore, modelPrefix: '' },
      {
        ...(vote ? { vote } : {}),
        ...(threshold !== undefined ? { threshold } : {}),
        ...(mergeDistance !== undefined ? { mergeDistance } : {}),
        onProgress: renderer.sink,
      },
    );
  } finally {
    renderer.stop();
  }
  const outFile = path.resolve(options.out);
  await mkdir(path.dirname(outFile), { recursive: true });
  const rounded = result.detections.map((d) => ({ ...d, frame: Math.round(d.frame) }));
  await writeFile(outFile, formatPointsCsv(rounded));
  const exports =
    options.exports === false
      ? undefined
      : await writeExports(outFile, rounded, videoPath, options.channel, {
          probability: result.probability,
          detectionMap: result.detectionMap,
          firstFrame: range.first,
          factor: detector.factor,
        });
  let overlayDir: string | undefined;
  if (options.overlays !== false) {
    overlayDir = path.resolve(options.overlays ?? path.join(path.dirname(outFile), 'overlays'));
    await writeOverlays(overlayDir, scratch, rounded, truth, range.first, range.last, detector.factor);
  }
  return { detections: rounded, threshold: result.threshold, vote: result.vote, frames: range, ...(overlayDir ? { overlayDir } : {}), ...(exports ? { exports } : {}) };
}

/** M3's output on the downscaled grid of the detection frames, for the OME-Zarr export. */
interface ProbabilityMaps {
  readonly probability: Volume<Float32Array>;
  readonly detectionMap: Volume<Uint8Array>;
  readonly firstFrame: number;
  readonly factor: number;
}

/**
 * STEM.napari.csv, STEM.ome.zarr (M3's probability and the detected 3D groups as labels) and,
 * where the video states a pixel size or frame interval, STEM.um.csv beside `outFile`.
 */
async function writeExports(outFile: string, detections: readonly MitosisPoint[], videoPath: string, channel: string | undefined, maps: ProbabilityMaps): Promise<string[]> {
  const stem = path.join(path.dirname(outFile), path.basename(outFile, path.extname(outFile)));
  const napariFile = `${stem}.napari.csv`;
  await writeFile(napariFile, formatNapariPointsCsv(detections));
  const { physical } = await probeVideo(videoPath, channel === undefined ? {} : { channel });
  const zarrFolder = `${stem}.ome.zarr`;
  await writeOmeZarr(zarrFolder, {
    name: 'M3 mitosis probability',
    volume: maps.probability,
    placement: placementOf(maps, physical),
    labels: { detections: groupLabels(maps.detectionMap) },
  });
  const physicalCsv = formatPhysicalPointsCsv(detections, physical);
  if (physicalCsv === undefined) return [napariFile, zarrFolder];
  const physicalFile = `${stem}.um.csv`;
  await writeFile(physicalFile, physicalCsv);
  return [napariFile, physicalFile, zarrFolder];
}

/**
 * The downscaled grid placed on the video: in the video's units where it states them (seconds,
 * micrometres), else in frames and original pixels, so viewers overlay it on the video.
 */
function placementOf(maps: ProbabilityMaps, physical: PhysicalSizes | undefined): OmeZarrPlacement {
  const time = physical?.frameIntervalS ?? 1;
  const pixel = physical?.pixelSizeUm;
  const half = (maps.factor - 1) / 2;
  return {
    scale: { t: time, y: maps.factor * (pixel?.y ?? 1), x: maps.factor * (pixel?.x ?? 1) },
    translation: { t: (maps.firstFrame - 1) * time, y: half * (pixel?.y ?? 1), x: half * (pixel?.x ?? 1) },
    units: { ...(physical?.frameIntervalS === undefined ? {} : { time: 'second' }), ...(pixel === undefined ? {} : { space: 'micrometer' }) },
  };
}

/** Each 26-connected 3D group of the detection map, numbered from 1 (nearby groups may form one detection). */
function groupLabels(detectionMap: Volume<Uint8Array>): Volume<Int32Array> {
  return connectedComponents(detectionMap, { connectivity: '3d-26' }).labels;
}

/** One PNG per frame holding a detection (red) or an annotation (green, with --truth). */
async function writeOverlays(
  dir: string,
  store: ReturnType<typeof createMemoryBlobStore>,
  detections: readonly MitosisPoint[],
  truth: readonly MitosisPoint[] | undefined,
  first: number,
  last: number,
  factor: number,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const byFrame = new Map<number, OverlayMark[]>();
  const add = (p: MitosisPoint, colour: readonly [number, number, number]): void => {
    if (p.frame < first || p.frame > last) return;
    const d = toDownscaledPixels({ x: p.x, y: p.y }, factor);
    const marks = byFrame.get(p.frame) ?? [];
    marks.push({ x: d.x, y: d.y, colour });
    byFrame.set(p.frame, marks);
  };
  for (const p of truth ?? []) add(p, [40, 220, 60]);
  for (const p of detections) add(p, [235, 40, 40]);
  for (const [frame, marks] of [...byFrame.entries()].sort((a, b) => a[0] - b[0])) {
    const { volume } = await loadStoredFrames(store, 'video', { first: frame, last: frame });
    await writeImage(path.join(dir, `frame-${pad3(frame)}.png`), overlayMarks(volume.data, volume.width, volume.height, marks));
  }
}

export const registerDetect: RegisterCommand = (program) => {
  computeCommand(program, 'detect')
    .description('detect mitoses with a trained M3 (windows of k frames, temporal step 2)')
    .argument('<video>', 'multi-page TIFF or folder of PNG/TIFF frames')
    .requiredOption('--model <dir>', 'model folder written by mitosis train')
    .option('--frames <A:B>', '1-based inclusive frames to search (default: all)')
    .addOption(methodOptions.channel())
    .requiredOption('--out <csv>', 'detections CSV to write: frame,x,y,score')
    .option('--overlays <dir>', 'folder for overlay PNGs (default: overlays/ beside --out)')
    .option('--no-overlays', 'write no overlay PNGs')
    .option('--no-exports', 'write detections.csv alone, without STEM.napari.csv, STEM.um.csv and STEM.ome.zarr beside it')
    .option('--truth <csv>', 'annotations to draw on the overlays too (green)')
    .option('--merge-distance <px>', 'groups within this many downscaled pixels and 3 frames are one detection (paper: 0)', String(METHOD_DEFAULTS.m3.mergeDistance))
    .option('--vote <rule>', "combine windows: 'any' (paper: binarised outputs summed) or 'mean' (default: the rule stored with the model by mitosis train)")
    .option('--threshold <p>', "binarise M3's outputs at p (paper: 0.5; default: the threshold stored with the model by mitosis train)")
    .action(async (video: string, options: DetectOptions) => {
      const summary = await detectInVideo(video, options);
      process.stdout.write(
        `${summary.detections.length} mitoses detected in frames ${summary.frames.first}-${summary.frames.last} (threshold ${summary.threshold}, vote ${summary.vote}); written to ${path.resolve(options.out)}${summary.overlayDir ? `; overlays in ${summary.overlayDir}` : ''}\n`,
      );
      if (summary.exports) process.stdout.write(`exports: ${summary.exports.join(', ')}\n`);
      process.exitCode = exitCodes.OK;
    });
};
