import type { ProgressEvent } from '@mitosis/core';
import { StageAbort, describe } from './consumer-util';
import type { JobRecorder } from './job-recorder';
import type { EventsLogger } from './logger';
import type { Stage } from './names';

export interface ProgressWriter {
  report(event: ProgressEvent): void;
  /** Writes the latest report now; resolves once every write so far is done. */
  flush(): Promise<void>;
}

/**
 * Progress of one delivery, throttled to one job-record write per interval (training reports
 * every iteration); the last report of a message is always written. A write that finds the job
 * CANCELLED aborts the stage's signal: a running stage stops at its next progress report.
 */
export function createProgressWriter(deps: {
  readonly recorder: JobRecorder;
  readonly stage: Stage;
  readonly jobId: string | undefined;
  readonly attempt: number;
  readonly controller: AbortController;
  readonly intervalMs: number;
  readonly log: EventsLogger;
}): ProgressWriter {
  const { recorder, stage, jobId, attempt, controller, intervalMs, log } = deps;
  let latest: ProgressEvent | null = null;
  let timer: NodeJS.Timeout | undefined;
  let lastWrite = 0;
  let chain: Promise<void> = Promise.resolve();

  const write = async (event: ProgressEvent): Promise<void> => {
    try {
      const job = await recorder.progress(jobId, attempt, event);
      if (job?.state === 'CANCELLED' && !controller.signal.aborted) {
        controller.abort(new StageAbort('cancelled', `job ${jobId ?? ''} was cancelled`));
      }
    } catch (error) {
      log.warn('progress not recorded', { stage, jobId, error: describe(error) });
    }
    await recorder.emit({ jobId, type: 'progress', attempt, ...event });
  };
  const flushNow = (): void => {
    clearTimeout(timer);
    timer = undefined;
    const event = latest;
    latest = null;
    if (event === null) return;
    lastWrite = Date.now();
    chain = chain.then(() => write(event));
  };
  return {
    report(event) {
      if (!Number.isFinite(event.done) || !Number.isFinite(event.total) || event.done < 0 || event.total < 0) {
        log.warn('progress with invalid numbers ignored', { stage, jobId, done: event.done, total: event.total });
        return;
      }
      latest = event;
      const wait = lastWrite + intervalMs - Date.now();
      if (wait <= 0 || (event.total > 0 && event.done >= event.total)) flushNow();
      else timer ??= setTimeout(flushNow, wait);
    },
    flush() {
      flushNow();
      return chain;
    },
  };
}
