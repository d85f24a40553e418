import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeRgbPng, writeTiffStack } from '@mitosis/video';
import type { SyntheticVideo } from './generate';
import { renderPreview } from './preview';
import { eventsCsv, mitosesCsv, summarizeTruth } from './truth';
import type { SyntheticTruth } from './truth';

/** Where writeSyntheticVideo put each file. */
export interface SyntheticFiles {
  readonly video: string;
  readonly mitoses: string;
  readonly events: string;
  readonly preview: string;
  readonly truth: string;
}

/**
 * Writes a synthetic video and its ground truth into `dir` (created if missing):
 * `video.tif` (multi-page TIFF, one page per frame, the video's bit depth), `mitoses.csv`
 * (`frame,x,y`), `events.csv` (`kind,cell,start,end,duration,x,y`), `preview.png` (six evenly
 * spaced frames side by side, mitoses ringed) and `truth.json` (options, seed, counts and
 * duration statistics). Returns the paths and the truth summary.
 */
export async function writeSyntheticVideo(dir: string, video: SyntheticVideo): Promise<{ files: SyntheticFiles; truth: SyntheticTruth }> {
  await mkdir(dir, { recursive: true });
  const files: SyntheticFiles = {
    video: path.join(dir, 'video.tif'),
    mitoses: path.join(dir, 'mitoses.csv'),
    events: path.join(dir, 'events.csv'),
    preview: path.join(dir, 'preview.png'),
    truth: path.join(dir, 'truth.json'),
  };
  const truth = summarizeTruth(video);
  const preview = renderPreview(video.volume, video.bitDepth, video.mitoses);
  await writeTiffStack(files.video, video.volume);
  await writeFile(files.mitoses, mitosesCsv(video.mitoses));
  await writeFile(files.events, eventsCsv(video.events));
  await writeRgbPng(files.preview, preview.rgb, preview.width, preview.height);
  await writeFile(files.truth, JSON.stringify(truth, null, 2) + '\n');
  return { files, truth };
}
