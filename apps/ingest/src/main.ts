import { initBackend } from '@mitosis/models';
import { createLogger, installShutdown, loadConfig, startWorker } from '@mitosis/service-kit';

/**
 * The ingest worker: decodes an uploaded video, rescales and downscales its frames, and stores them (method step 1).
 * Wiring only; see libs/service-kit/README.md for the MITOSIS_* variables.
 */
let log = createLogger('ingest');

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  log = createLogger('ingest', { level: config.logLevel });
  // Checked here so a backend that cannot load stops the worker before it takes any work.
  const backend = await initBackend({ ...(config.backend ? { preferred: config.backend } : {}), log: (line) => log.info(line) });
  log.info('compute backend', { backend: backend.name, reason: backend.reason });
  const worker = await startWorker({ service: 'ingest', stages: ['ingest'], config, log, backend: backend.name });
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
