import { initBackend } from '@mitosis/models';
import { createLogger, installShutdown, loadConfig, startWorker } from '@mitosis/service-kit';

/**
 * The m2 worker: predicts cell events on the normal-cell map and measures their lengths (M2, paper III.D-E).
 * Wiring only; see libs/service-kit/README.md for the MITOSIS_* variables.
 */
let log = createLogger('m2');

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  log = createLogger('m2', { level: config.logLevel });
  // Checked here so a backend that cannot load stops the worker before it takes any work.
  const backend = await initBackend({ ...(config.backend ? { preferred: config.backend } : {}), log: (line) => log.info(line) });
  log.info('compute backend', { backend: backend.name, reason: backend.reason });
  const worker = await startWorker({ service: 'm2', stages: ['m2'], config, log, backend: backend.name });
  const shutdown = installShutdown([() => worker.stop()], { log });
  try {
    await worker.closed;
  } finally {
    shutdown.dispose();
    await worker.stop();
  }
}

main().catch((error: unknown) => {
  log.error('worker failed', { error });
  process.exit(1);
});
