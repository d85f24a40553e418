import { InvalidInputError } from '@mitosis/core';
import { DEFAULT_DOWNSCALE_FACTOR, downscaledSize, probeVideo } from '@mitosis/video';
import type { PhysicalSizes, VideoInfo } from '@mitosis/video';
import { methodOptions } from '../runtime';
import type { RegisterCommand } from './index';

interface InfoCommandOptions {
  readonly json?: boolean;
  readonly factor: string;
  readonly channel?: string;
}

/** What `mitosis info --json` prints: one object, stable keys. */
export interface InfoReport {
  readonly frameCount: number;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  readonly kind: VideoInfo['kind'];
  readonly downscaled: { readonly width: number; readonly height: number; readonly factor: number };
  /** Channel names of a multi-channel container, and the 0-based one read. */
  readonly channels?: string[];
  readonly channel?: number;
  /** Pixel size in micrometres and frame interval in seconds, where the file states them. */
  readonly physical?: PhysicalSizes;
}

function parseFactor(text: string): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < 1) {
    throw new InvalidInputError(`--factor "${text}" must be a whole number >= 1`);
  }
  return Number(text);
}

export function infoReport(video: VideoInfo, factor: number): InfoReport {
  const { frameCount, width, height, bitDepth, kind, channels, channel, physical } = video;
  return {
    frameCount,
    width,
    height,
    bitDepth,
    kind,
    downscaled: { ...downscaledSize(width, height, factor), factor },
    ...(channels === undefined ? {} : { channels }),
    ...(channel === undefined ? {} : { channel }),
    ...(physical === undefined ? {} : { physical }),
  };
}

const KIND_NAMES: Record<VideoInfo['kind'], string> = { 'tiff-stack': 'multi-page TIFF', 'frame-folder': 'folder of frames', 'ome-zarr': 'OME-Zarr' };
const round = (value: number): string => String(Number(value.toPrecision(4)));

function toText(source: string, report: InfoReport): string {
  const { physical, channels, channel } = report;
  const lines = [
    `video       ${source} (${KIND_NAMES[report.kind]})`,
    `frames      ${report.frameCount}`,
    `frame size  ${report.width}x${report.height}`,
    `bit depth   ${report.bitDepth}`,
    `downscaled  ${report.downscaled.width}x${report.downscaled.height} (factor ${report.downscaled.factor})`,
  ];
  if (channels !== undefined) lines.push(`channels    ${channels.map((name, i) => (i === channel ? `${name} (read)` : name)).join(', ')}`);
  if (physical?.pixelSizeUm !== undefined) lines.push(`pixel size  ${round(physical.pixelSizeUm.x)} x ${round(physical.pixelSizeUm.y)} µm (x, y)`);
  if (physical?.frameIntervalS !== undefined) lines.push(`interval    ${round(physical.frameIntervalS)} s (${round(physical.frameIntervalS / 60)} min) per frame`);
  return `${lines.join('\n')}\n`;
}

/**
 * `mitosis info VIDEO`: what a video is before anything runs on it (SPEC step 1): frame count,
 * size, bit depth and the size the method works at. Reads headers only, so it is instant even
 * on long videos.
 */
export const registerInfo: RegisterCommand = (program) => {
  program
    .command('info')
    .description(
      'Describe a video (multi-page TIFF, OME-Zarr or folder of PNG/TIFF frames) from its headers: frames, size, bit depth, downscaled size, channels and physical sizes.',
    )
    .argument('<video>', 'a multi-page TIFF, an OME-Zarr folder or a folder of PNG/TIFF frames (sorted by the frame number in their names)')
    .option('--factor <n>', 'downscaling factor of the method (SPEC step 1)', String(DEFAULT_DOWNSCALE_FACTOR))
    .addOption(methodOptions.channel())
    .option('--json', 'print one JSON object instead of text')
    .action(async (video: string, options: InfoCommandOptions) => {
      const factor = parseFactor(options.factor);
      const report = infoReport(await probeVideo(video, options.channel === undefined ? {} : { channel: options.channel }), factor);
      process.stdout.write(options.json === true ? `${JSON.stringify(report)}\n` : toText(video, report));
    });
};
