import { InvalidInputError } from './errors';

/** A 1-based inclusive range of frames, as users write it on the command line: `A:B`. */
export interface FrameRange {
  readonly first: number;
  readonly last: number;
}

/** Parses `A:B` (1-based, inclusive, A <= B); `A:` runs to `frameCount` when given. */
export function parseFrameRange(text: string, frameCount?: number): FrameRange {
  const match = /^\s*(\d+)\s*:\s*(\d*)\s*$/.exec(text);
  if (!match) throw new InvalidInputError(`frame range "${text}" is not of the form A:B (1-based, inclusive)`);
  const first = Number(match[1]);
  const last = match[2] === '' ? frameCount : Number(match[2]);
  if (last === undefined) throw new InvalidInputError(`frame range "${text}" has no end and the frame count is unknown`);
  if (first < 1 || last < first) throw new InvalidInputError(`frame range "${text}" is empty or starts before frame 1`);
  if (frameCount !== undefined && last > frameCount) {
    throw new InvalidInputError(`frame range "${text}" ends after the last frame (${frameCount})`);
  }
  return { first, last };
}

export function frameRangeLength(range: FrameRange): number {
  return range.last - range.first + 1;
}
