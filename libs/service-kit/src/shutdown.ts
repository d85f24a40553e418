/** A thing to stop at shutdown: a consumer, a server, a connection. */
export type StopFn = () => unknown;

/** The part of `process` installShutdown uses (a fake in tests). */
export interface SignalSource {
  once(signal: NodeJS.Signals, listener: () => void): unknown;
  removeListener(signal: NodeJS.Signals, listener: () => void): unknown;
  exit(code: number): void;
}

export interface ShutdownOptions {
  readonly signals?: readonly NodeJS.Signals[];
  readonly log?: { info(message: string, fields?: Record<string, unknown>): void; error(message: string, fields?: Record<string, unknown>): void };
  readonly process?: SignalSource;
  /** Exit code after a clean stop; default 0. */
  readonly exitCode?: number;
}

export interface Shutdown {
  /** Runs the stop functions as a signal would (once), without exiting; resolves when all ran. */
  run(reason?: string): Promise<void>;
  /** Removes the signal handlers (the stop functions are not run). */
  dispose(): void;
}

/**
 * Graceful shutdown on SIGTERM (Kubernetes) and SIGINT (Ctrl-C): the first signal runs the stop
 * functions once, in order, each awaited (a failing one is logged, the others still run), then
 * exits with 0. Later signals change nothing: the drain of the message in hand is what the
 * 30 s termination grace period is for.
 */
export function installShutdown(stopFns: readonly StopFn[], options: ShutdownOptions = {}): Shutdown {
  const source: SignalSource = options.process ?? process;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exitCode = options.exitCode ?? 0;
  let running: Promise<void> | undefined;

  const run = (reason = 'shutdown'): Promise<void> => {
    running ??= (async () => {
      options.log?.info('shutting down', { reason });
      for (const [index, stop] of stopFns.entries()) {
        try {
          await stop();
        } catch (error: unknown) {
          options.log?.error('stop step failed', { step: index, error });
        }
      }
      options.log?.info('stopped', { reason });
    })();
    return running;
  };

  const handlers = signals.map((signal) => {
    const handler = (): void => {
      // Re-arm at once: a second signal must not fall back to Node's default (immediate exit).
      source.once(signal, handler);
      if (running !== undefined) {
        options.log?.info('already shutting down', { signal });
        return;
      }
      void run(signal).then(() => source.exit(exitCode));
    };
    source.once(signal, handler);
    return { signal, handler };
  });

  return {
    run,
    dispose: () => {
      for (const { signal, handler } of handlers) source.removeListener(signal, handler);
    },
  };
}
