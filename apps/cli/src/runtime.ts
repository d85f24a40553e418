import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { BlobStore, FrameRange } from '@mitosis/core';
import { InvalidInputError, parseFrameRange } from '@mitosis/core';
import type { Command } from 'commander';
import { Option } from 'commander';
import { initBackend, maxWasmThreads } from '@mitosis/models';
import type { StoredVideoMeta } from '@mitosis/stages';
import { METHOD_DEFAULTS, runIngestStage } from '@mitosis/stages';
import { encodeRgbPng, probeVideo } from '@mitosis/video';
import type { RgbImage } from '@mitosis/stages';
import { writeFile } from 'node:fs/promises';

/** Options every compute command shares. */
export interface ComputeOptions {
  readonly backend?: string;
  readonly threads?: string;
  readonly quiet?: boolean;
}

/** `program.command(name)` with the options every compute command shares (ComputeOptions). */
export function computeCommand(program: Command, name: string): Command {
  return program
    .command(name)
    .option('--backend <name>', 'compute backend: tensorflow, wasm or cpu (default: the fastest that loads; env MITOSIS_BACKEND)')
    .option('--threads <n>', `wasm backend threads, 1-${maxWasmThreads} (default: the cores available; env MITOSIS_WASM_THREADS)`)
    .option('--quiet', 'no progress output');
}

/** Options of the method that analyze and train both take, with one meaning and default: `.addOption(methodOptions.factor())`. */
export const methodOptions = {
  factor: (): Option =>
    new Option('--factor <n>', 'downscale factor (paper: 4); auto: the one up to 4 that brings the measured cell radius closest to 1.5 px').default(String(METHOD_DEFAULTS.factor)),
  noFlatField: (): Option => new Option('--no-flat-field', 'skip the flat-field correction of uneven illumination (the paper rescales only)'),
  seed: (): Option => new Option('--seed <n>', 'seed of every random choice').default(String(METHOD_DEFAULTS.seed)),
  channel: (): Option => new Option('--channel <name|index>', 'channel of a multi-channel video (OME-Zarr): its name or 0-based index (default: channel 0)'),
};

const backends = ['tensorflow', 'wasm', 'cpu'] as const;
type BackendName = (typeof backends)[number];

/**
 * Picks the compute backend once per process: `--backend`, else MITOSIS_BACKEND, else the fastest
 * one that loads (tfjs-node-gpu, tfjs-node, wasm, cpu). The choice is logged on stderr.
 */
export async function initCompute(options: ComputeOptions): Promise<string> {
  const requested = options.backend ?? process.env['MITOSIS_BACKEND'];
  if (requested !== undefined && !backends.includes(requested as BackendName)) {
    throw new InvalidInputError(`backend "${requested}" is not one of ${backends.join(', ')}`);
  }
  const threadsText = options.threads ?? process.env['MITOSIS_WASM_THREADS'];
  const threads = threadsText === undefined ? undefined : parsePositiveInt(threadsText, options.threads === undefined ? 'MITOSIS_WASM_THREADS' : '--threads');
  if (threads !== undefined && threads > maxWasmThreads) throw new InvalidInputError(`wasm threads ${threads} must be at most ${maxWasmThreads}`);
  const info = await initBackend({
    ...(requested ? { preferred: requested as BackendName } : {}),
    ...(threads !== undefined ? { threads } : {}),
    log: (line) => {
      if (!options.quiet) process.stderr.write(`${line}\n`);
    },
  });
  return info.name;
}

export function parsePositiveInt(text: string, what: string): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < 1) throw new InvalidInputError(`${what} "${text}" must be a whole number >= 1`);
  return Number(text);
}

export function parsePositiveNumber(text: string, what: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new InvalidInputError(`${what} "${text}" must be a number > 0`);
  return value;
}

/** A probability threshold strictly between 0 and 1. */
export function parseThreshold(text: string, what: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || value >= 1) throw new InvalidInputError(`${what} "${text}" must be a number between 0 and 1`);
  return value;
}

/** `--factor`: a whole number >= 1, or 'auto' (from the cells' measured size). */
export function parseFactor(text: string): number | 'auto' {
  return text.trim() === 'auto' ? 'auto' : parsePositiveInt(text, '--factor');
}

export function parseNonNegativeInt(text: string, what: string): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new InvalidInputError(`${what} "${text}" must be a whole number >= 0`);
  return Number(text);
}

/**
 * Ingest for every CLI command: the frames of `frames` (default all) of a video file or folder,
 * preprocessed by the services' own ingest (runIngestStage: normalised on the whole video) and
 * stored under `key`.
 */
export async function ingestVideo(
  store: BlobStore,
  key: string,
  videoPath: string,
  options: { readonly frames: string | undefined; readonly factor: number | 'auto'; readonly flatField?: boolean; readonly channel?: string },
): Promise<{ meta: StoredVideoMeta; range: FrameRange; frameCount: number }> {
  const { frames, factor, flatField = true, channel } = options;
  const info = await probeVideo(videoPath, channel === undefined ? {} : { channel });
  const range = frames ? parseFrameRange(frames, info.frameCount) : { first: 1, last: info.frameCount };
  const { meta, frameCount } = await runIngestStage(store, key, videoPath, { factor, flatField, frames: range, ...(channel === undefined ? {} : { channel }) });
  return { meta, range, frameCount };
}

export async function writeImage(file: string, image: RgbImage): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, encodeRgbPng(image.rgb, image.width, image.height));
}

export function pad3(n: number): string {
  return String(n).padStart(3, '0');
}
