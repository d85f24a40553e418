import { describeLengths } from '@mitosis/volume';
import type { LengthStatistics } from '@mitosis/volume';
import type { SyntheticVideo } from './generate';
import { durationLaws } from './durations';
import type { DurationDistribution, ResolvedSynthOptions } from './options';
import type { MitosisAnnotation, SyntheticEvent, SyntheticEventKind } from './simulate';

/** Counts and duration statistics of a synthetic video: the numbers M1/M2/M3 are checked against. */
export interface SyntheticTruth {
  readonly seed: number;
  readonly options: ResolvedSynthOptions;
  readonly counts: {
    readonly mitoses: number;
    readonly deaths: number;
    readonly transientRoundings: number;
    readonly events: number;
    readonly cellsFirstFrame: number;
    readonly cellsLastFrame: number;
    /** Distinct cells ever drawn (initial, daughters, entered). */
    readonly cells: number;
  };
  /**
   * Frames out of the normal appearance per event (SyntheticEvent.duration), with the statistics
   * M2 reports for its estimated event lengths (SPEC step 6): the recommended k should land near
   * `durations.all.p75`.
   */
  readonly durations: { readonly all: LengthStatistics } & Readonly<Record<SyntheticEventKind, LengthStatistics>>;
  /** The laws the durations were drawn from: the options' ones, scaled by `eventLengthScale`. */
  readonly durationLaws: Readonly<Record<SyntheticEventKind, DurationDistribution>>;
}

export function summarizeTruth(video: SyntheticVideo): SyntheticTruth {
  const { events, cells, options } = video;
  const ofKind = (kind: SyntheticEventKind): SyntheticEvent[] => events.filter((e) => e.kind === kind);
  const lengths = (list: readonly SyntheticEvent[]): LengthStatistics => describeLengths(list.map((e) => e.duration));
  return {
    seed: options.seed,
    options,
    counts: {
      mitoses: ofKind('mitosis').length,
      deaths: ofKind('death').length,
      transientRoundings: ofKind('transient-rounding').length,
      events: events.length,
      cellsFirstFrame: cells.filter((c) => c.frame === 1).length,
      cellsLastFrame: cells.filter((c) => c.frame === options.frames).length,
      cells: new Set(cells.map((c) => c.cellId)).size,
    },
    durations: {
      all: lengths(events),
      mitosis: lengths(ofKind('mitosis')),
      death: lengths(ofKind('death')),
      'transient-rounding': lengths(ofKind('transient-rounding')),
    },
    durationLaws: durationLaws(options),
  };
}

/** Numbers in CSV cells: integers as they are, others with at most two decimals. */
function num(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
}

/** `frame,x,y`, the benchmark's mitoses.csv layout (1-based frames, original pixels). */
export function mitosesCsv(mitoses: readonly MitosisAnnotation[]): string {
  return ['frame,x,y', ...mitoses.map((m) => `${m.frame},${num(m.x)},${num(m.y)}`)].join('\n') + '\n';
}

/** `kind,cell,start,end,duration,x,y`, one row per simulated event. */
export function eventsCsv(events: readonly SyntheticEvent[]): string {
  return ['kind,cell,start,end,duration,x,y', ...events.map((e) => `${e.kind},${e.cellId},${e.start},${e.end},${e.duration},${num(e.x)},${num(e.y)}`)].join('\n') + '\n';
}
