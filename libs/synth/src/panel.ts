import type { SynthOptions } from './options';

/** One video of the synthetic validation panel. */
export interface SyntheticPanelCase {
  /** Short name for tables and folders, e.g. 'dense-p8'. */
  readonly name: string;
  /** What the case varies against 'sparse-p8', in a few words. */
  readonly description: string;
  /** The video, seed excluded: a validation run sets the seed (several seeds per case). */
  readonly options: SynthOptions;
  /** Frames 1..n are the unsupervised part (M1, M2, M3's annotated frames); detection runs on the rest. */
  readonly unsupervisedFrames: number;
}

/** Every case: 100 frames of 480x384, the demo's size, so M1+M2+M3 on one take minutes on 2 cores. */
const common = { frames: 100, width: 480, height: 384, mitosisRate: 0.03 } as const;

/**
 * The synthetic cases the method must hold on out of the box: the demo's look and, one change
 * at a time, what real videos vary in (density, event lengths, cell size, contrast, drift and
 * illumination). Each case's truth p75 is in its truth.json (`durations.all.p75`); the
 * recommended k should follow it.
 */
export const syntheticPanel: readonly SyntheticPanelCase[] = [
  {
    name: 'sparse-p8',
    description: "today's demo video: a few dozen separate cells, event lengths p75 about 8",
    options: { ...common },
    unsupervisedFrames: 60,
  },
  {
    name: 'dense-p8',
    description: 'touching cells covering half the frame, about 300 growing to 500 per frame',
    // A lower mitosis hazard: at the sparse rate the monolayer would be overfull within the video.
    options: { ...common, coverage: 0.5, cellRadius: 10, mitosisRate: 0.015 },
    unsupervisedFrames: 60,
  },
  {
    name: 'p4',
    description: 'short events: every duration law scaled so that p75 is 4',
    options: { ...common, eventLengthP75: 4 },
    unsupervisedFrames: 60,
  },
  {
    name: 'p12',
    description: 'long events: every duration law scaled so that p75 is 12',
    options: { ...common, eventLengthP75: 12 },
    unsupervisedFrames: 60,
  },
  {
    name: 'small-cells',
    description: 'cells of radius 6 px (half the default), covering 15% of the frame',
    options: { ...common, cellRadius: 6, coverage: 0.15 },
    unsupervisedFrames: 60,
  },
  {
    name: 'large-cells',
    description: 'cells of radius 24 px (twice the default), covering 20% of the frame',
    options: { ...common, cellRadius: 24, coverage: 0.2 },
    unsupervisedFrames: 60,
  },
  {
    name: 'low-contrast',
    description: 'cells at 60% of the default phase signal, with more pixel noise',
    options: { ...common, contrast: 0.6, noise: 0.018 },
    unsupervisedFrames: 60,
  },
  {
    name: 'drift-illumination',
    description: 'stage drift of (0.4, -0.25) px per frame, light dimming by 30% with flicker and a turning gradient',
    options: { ...common, drift: { x: 0.4, y: -0.25 }, illuminationRamp: -0.3, flicker: 0.008, illuminationGradient: 0.15 },
    unsupervisedFrames: 60,
  },
];
