import type { Component, Volume } from '@mitosis/volume';
import { binarize, connectedComponents, describeLengths, temporalLengths } from '@mitosis/volume';
import type { EventLengthStatistics, Recommendation } from './recommendation';
import { recommendSequenceLength } from './recommendation';

export interface EventLengthOptions {
  /** Binarisation threshold of e' (paper III.E: 0.5). */
  readonly threshold?: number;
  /**
   * Regions smaller than this many voxels are dropped as noise before measuring (default 2: a
   * lone voxel is no cell event). Documented deviation: the paper keeps every region.
   */
  readonly minVoxels?: number;
}

/** The predicted events and their lengths, before any recommendation. */
export interface MeasuredEvents {
  readonly statistics: EventLengthStatistics;
  readonly lengths: number[];
  readonly events: Component[];
}

export interface EventLengthReport extends Recommendation, MeasuredEvents {}

/**
 * Event lengths (SPEC step 6, paper III.E): e' binarised at 0.5, temporally overlapping areas
 * joined into 3D regions, their temporal lengths described (Table I) and turned into the
 * recommended k and annotation budget.
 */
export function measureEventLengths(eventProbability: Volume<Float32Array>, options: EventLengthOptions = {}): EventLengthReport {
  const measured = measureEvents(eventProbability, options);
  return { ...recommendSequenceLength(measured.statistics), ...measured };
}

/** The events of e' and their lengths; none found is not an error here (count 0). */
export function measureEvents(eventProbability: Volume<Float32Array>, options: EventLengthOptions = {}): MeasuredEvents {
  const binary = binarize(eventProbability, options.threshold ?? 0.5);
  const minVoxels = options.minVoxels ?? 2;
  const events = connectedComponents(binary, { connectivity: 'overlap-4', weights: eventProbability }).components.filter((c) => c.size >= minVoxels);
  const lengths = temporalLengths(events);
  return { statistics: describeLengths(lengths), lengths, events };
}
