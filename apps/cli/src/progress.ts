import { MultiBar, Presets } from 'cli-progress';
import type { SingleBar } from 'cli-progress';
import type { ProgressSink } from '@mitosis/core';

export interface ProgressRenderer {
  readonly sink: ProgressSink;
  stop(): void;
}

/**
 * Draws one bar per step of the method (m1.train, m2.infer...) on stderr when it is a terminal,
 * and otherwise one line per step every ~10% so that logs of non-interactive runs (CI, pipes)
 * still show where the time goes.
 */
export function createProgressRenderer(stream: NodeJS.WriteStream = process.stderr, quiet = false): ProgressRenderer {
  if (quiet) return { sink: () => undefined, stop: () => undefined };
  if (stream.isTTY) {
    const multi = new MultiBar(
      {
        stream,
        format: ' {step} |{bar}| {value}/{total} {detail}',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    const bars = new Map<string, SingleBar>();
    return {
      sink: ({ step, done, total, detail }) => {
        let bar = bars.get(step);
        if (!bar) {
          bar = multi.create(total, 0, { step: step.padEnd(12), detail: '' });
          bars.set(step, bar);
        }
        bar.setTotal(total);
        bar.update(done, { step: step.padEnd(12), detail: detail ?? '' });
      },
      stop: () => multi.stop(),
    };
  }
  const lastDecile = new Map<string, number>();
  const started = new Map<string, number>();
  return {
    sink: ({ step, done, total, detail }) => {
      if (!started.has(step)) started.set(step, Date.now());
      const decile = total > 0 ? Math.floor((10 * done) / total) : 10;
      if (lastDecile.get(step) === decile) return;
      lastDecile.set(step, decile);
      const seconds = ((Date.now() - (started.get(step) ?? Date.now())) / 1000).toFixed(1);
      stream.write(`${step}: ${done}/${total}${detail ? ` ${detail}` : ''} (${seconds}s)\n`);
    },
    stop: () => undefined,
  };
}
