import { PreconditionError } from '@mitosis/core';

/** A job whose frame needs are checked: an analysis (M1 then M2), or M3 training or detection with its k. */
export type FrameNeed = { readonly job: 'analysis' } | { readonly job: 'training' | 'detection'; readonly k: number };

/** M2 learns how the normal-cell map changes from one frame to the next, so it needs two. */
export const MIN_ANALYSIS_FRAMES = 2;

/**
 * The fewest frames a job needs, and why: an analysis needs the 2 frames M2 learns between;
 * M3 training and detection need k consecutive frames, the length of one ConvLSTM window.
 */
export function framesNeeded(need: FrameNeed): { readonly frames: number; readonly why: string } {
  if (need.job === 'analysis') return { frames: MIN_ANALYSIS_FRAMES, why: 'an analysis needs at least 2 (M2 learns how cells change from frame to frame)' };
  const what = need.job === 'training' ? 'training' : 'detection';
  return { frames: need.k, why: `${what} with k = ${need.k} needs at least ${need.k} (one window of k consecutive frames)` };
}

const frameWord = (count: number): string => `${count} frame${count === 1 ? '' : 's'}`;

/**
 * The one rule of how many frames a job needs, for the gateway before it queues the job and the
 * CLI before it trains: a PreconditionError naming `subject` (`video "vid-..."`), the frames it
 * has and the frames the job needs when it has fewer.
 */
export function checkFramesFor(subject: string, available: number, need: FrameNeed): void {
  const { frames, why } = framesNeeded(need);
  if (available < frames) throw new PreconditionError(`${subject} has ${frameWord(available)}; ${why}`);
}
