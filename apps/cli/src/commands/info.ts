import { InvalidInputError } from '@mitosis/core';
import { DEFAULT_DOWNSCALE_FACTOR, downscaledSize, probeVideo } from '@mitosis/video';
import type { VideoInfo } from '@mitosis/video';
import type { RegisterCommand } from './index';

interface InfoCommandOptions {
  readonly json?: boolean;
  readonly factor: string;
}

/** What `mitosis info --json` prints: one object, stable keys. */
export interface InfoReport {
  readonly frameCount: number;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  readonly kind: VideoInfo['kind'];
  readonly downscaled: { readonly width: number; readonly height: number; readonly factor: number };
}

function parseFactor(text: string): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < 1) {
    throw new InvalidInputError(`--factor "${text}" must be a whole number >= 1`);
  }
  return Number(text);
}

export function infoReport(video: VideoInfo, factor: number): InfoReport {
  const { frameCount, width, height, bitDepth, kind } = video;
  return { frameCount, width, height, bitDepth, kind, downscaled: { ...downscaledSize(width, height, factor), factor } };
}

function toText(source: string, report: InfoReport): string {
  const kind = report.kind === 'tiff-stack' ? 'multi-page TIFF' : 'folder of frames';
  return [
    `video       ${source} (${kind})`,
    `frames      ${report.frameCount}`,
    `frame size  ${report.width}x${report.height}`,
    `bit depth   ${report.bitDepth}`,
    `downscaled  ${report.downscaled.width}x${report.downscaled.height} (factor ${report.downscaled.factor})`,
    '',
  ].join('\n');
}

/**
 * `mitosis info VIDEO`: what a video is before anything runs on it (SPEC step 1): frame count,
 * size, bit depth and the size the method works at. Reads headers only, so it is instant even
 * on long videos.
 */
export const registerInfo: RegisterCommand = (program) => {
  program
    .command('info')
    .description('Describe a video (multi-page TIFF or folder of PNG/TIFF frames) from its headers: frames, size, bit depth, downscaled size.')
    .argument('<video>', 'a multi-page TIFF or a folder of PNG/TIFF frames (sorted by the frame number in their names)')
    .option('--factor <n>', 'downscaling factor of the method (SPEC step 1)', String(DEFAULT_DOWNSCALE_FACTOR))
    .option('--json', 'print one JSON object instead of text')
    .action(async (video: string, options: InfoCommandOptions) => {
      const factor = parseFactor(options.factor);
      const report = infoReport(await probeVideo(video), factor);
      process.stdout.write(options.json === true ? `${JSON.stringify(report)}\n` : toText(video, report));
    });
};
