import type { FrameRange } from '@mitosis/core';
import { frameRangeLength, InvalidInputError } from '@mitosis/core';

/**
 * A request's FrameRange checked against a video of `frameCount` frames (common.proto): absent
 * means every frame; a present range with first = 0, last < first or last past the video is an
 * INVALID_ARGUMENT naming the field.
 */
export function resolveFrameRange(range: FrameRange | undefined, frameCount: number, field: string): FrameRange {
  if (range === undefined) return { first: 1, last: frameCount };
  const { first, last } = range;
  if (first < 1) throw new InvalidInputError(`${field} ${first}:${last} starts at frame ${first}; frames are numbered from 1`);
  if (last < first) throw new InvalidInputError(`${field} ${first}:${last} is empty (last < first)`);
  if (last > frameCount) throw new InvalidInputError(`${field} ${first}:${last} ends after the video's last frame (${frameCount})`);
  return { first, last };
}

export function isInside(inner: FrameRange, outer: FrameRange): boolean {
  return inner.first >= outer.first && inner.last <= outer.last;
}

export function describeRange(range: FrameRange): string {
  return `${range.first}:${range.last} (${frameRangeLength(range)} frames)`;
}
