import type { Stage } from '@mitosis/events';
import { initBackend } from '@mitosis/models';
import type { Telemetry } from '@mitosis/telemetry';
import { initTelemetry } from '@mitosis/telemetry';
import { loadConfig } from './config';
import { createLogger } from './logger';
import { installShutdown } from './shutdown';
import { startWorker } from './worker';

export interface WorkerMainOptions {
  /** Name for logs and the NATS connection: ingest, m1, m2, m3. */
  readonly service: string;
  /** Stages this worker consumes (m3: m3-train and m3-detect). */
  readonly stages: readonly Stage[];
  /** One line on what the worker does, logged at start so an operator sees which step it serves. */
  readonly description?: string;
}

/**
 * The whole of a stage worker's main: configuration from MITOSIS_* variables, logger, compute
 * backend, worker, signal handling; waits until the worker's connection closes, then stops it.
 * Any failure (bad configuration, backend that cannot load, lost connection) is logged as
 * 'worker failed' and exits 1, so an orchestrator restarts the process. OpenTelemetry is set up
 * first (MITOSIS_OTEL_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT...) and flushed on the way out.
 */
export function runWorkerMain(options: WorkerMainOptions): Promise<void> {
  const { service, stages, description } = options;
  let log = createLogger(service);
  let telemetry: Telemetry | undefined;
  const main = async (): Promise<void> => {
    telemetry = initTelemetry({ service });
    const config = loadConfig(process.env);
    log = createLogger(service, { level: config.logLevel });
    if (description !== undefined) log.info('worker starting', { stages, description, telemetry: telemetry.exporter });
    // Checked here so a backend that cannot load stops the worker before it takes any work. With
    // stages in threads this thread computes nothing: one wasm thread, no second XNNPACK pool.
    const threads = config.stageIsolation === 'thread' ? 1 : config.wasmThreads;
    const backend = await initBackend({ ...(config.backend ? { preferred: config.backend } : {}), ...(threads ? { threads } : {}), log: (line) => log.info(line) });
    log.info('compute backend', { backend: backend.name, reason: backend.reason });
    const worker = await startWorker({ service, stages, config, log, backend: backend.name });
    const started = telemetry;
    // In order: the worker drains (its last spans end), then they are flushed before the exit.
    const shutdown = installShutdown([() => worker.stop(), () => started.shutdown()], { log });
    try {
      await worker.closed;
    } finally {
      shutdown.dispose();
      await worker.stop();
      await telemetry.shutdown();
    }
  };
  return main().catch(async (error: unknown) => {
    log.error('worker failed', { error });
    await telemetry?.shutdown();
    process.exit(1);
  });
}
