/**
 * Stages report progress through a plain callback so that the CLI can draw bars and the services
 * can publish job-watch events from the very same code.
 */
export interface ProgressEvent {
  /** Name of the step, from the method: 'm1.train', 'm2.infer', 'm3.detect'... */
  readonly step: string;
  readonly done: number;
  readonly total: number;
  /** Optional detail, for example the current training loss. */
  readonly detail?: string;
}

export type ProgressSink = (event: ProgressEvent) => void;

export const silentProgress: ProgressSink = () => undefined;
