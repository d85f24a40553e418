import { hostname } from 'node:os';
import { STAGES, connectNats, describeNatsCredentials, observeConsumerLag } from '@mitosis/events';
import { createLogger, createStore, installShutdown, topologyConfig } from '@mitosis/service-kit';
import type { Telemetry } from '@mitosis/telemetry';
import { initTelemetry } from '@mitosis/telemetry';
import { loadGatewayConfig } from './config';
import { shutdownGateway, startGatewayServer } from './server';

/**
 * The gateway process: the public gRPC API (mitosis.v1) in front of the job store, the work
 * stream and the object store. Wiring only; the services live in ./services.
 */
let log = createLogger('gateway');
let telemetry: Telemetry | undefined;

async function main(): Promise<void> {
  telemetry = initTelemetry({ service: 'gateway' });
  const config = loadGatewayConfig(process.env);
  log = createLogger('gateway', { level: config.logLevel });
  // Wrong or missing NATS credentials end the start here (exit 1), naming the URL and "authorization".
  const nc = await connectNats({ servers: config.natsServers, credentials: config.natsCredentials, name: `mitosis-gateway@${hostname()}`, maxReconnectAttempts: -1 });
  log.info('nats connected', { server: nc.getServer(), auth: describeNatsCredentials(config.natsCredentials) });
  try {
    const store = await createStore(config);
    const { names, health, server, port, readiness, stopBackground } = await startGatewayServer({
      nc,
      topology: topologyConfig(config),
      store,
      log,
      config: {
        maxUploadBytes: config.maxUploadBytes,
        uploadDir: config.uploadDir,
        authTokens: config.authTokens,
        workLimits: config.workLimits,
        storeTimeoutMs: config.storeTimeoutMs,
        stagingMaxAgeMs: config.stagingMaxAgeMs,
      },
      address: config.grpcAddr,
      ...(config.tls === undefined ? {} : { tls: config.tls }),
    });
    // Lag of every stage's queue, also of a stage with no worker running (whose lag nobody else reports).
    const stopLag = observeConsumerLag({ nc, names, stages: STAGES, log });
    // Without NATS no call can start or watch a job: tell the load balancer while it is away
    // (the object store is probed by startGatewayServer; readiness needs both).
    void (async () => {
      for await (const event of nc.status()) {
        if (event.type === 'disconnect') readiness.set('nats', false);
        if (event.type === 'reconnect') readiness.set('nats', true);
      }
    })();
    const listening = {
      address: config.grpcAddr.replace(/:\d+$/, `:${port}`),
      tls: config.tls !== undefined,
      auth: config.authTokens.length > 0,
      store: store.location,
      prefix: names.prefix,
      telemetry: telemetry.exporter,
    };
    // SIGTERM/SIGINT: NOT_SERVING, calls in flight get the drain timeout, then the rest is cut.
    // Armed before the line that announces the gateway, so that a signal right after it is handled.
    await new Promise<void>((resolve) => {
      installShutdown([() => shutdownGateway(server, config.drainTimeoutMs, health), stopLag, stopBackground], {
        log,
        process: {
          once: (signal, listener) => process.once(signal, listener),
          removeListener: (signal, listener) => process.removeListener(signal, listener),
          exit: () => resolve(),
        },
      });
      log.info('gateway listening', listening);
    });
  } finally {
    await nc.drain().catch(() => nc.close());
  }
}

main().then(
  async () => {
    // The last calls' spans and the metrics since the last export go out before the exit.
    await telemetry?.shutdown();
    process.exit(0);
  },
  async (error: unknown) => {
    log.error('gateway failed', { error });
    await telemetry?.shutdown();
    process.exit(1);
  },
);
