import { hostname } from 'node:os';
import type { NatsConnection } from 'nats';
import type { EventNames, JobStore, Stage, StageConsumer } from '@mitosis/events';
import { connectNats, createJobStore, createStageConsumer, describeNatsCredentials, ensureTopology, observeConsumerLag } from '@mitosis/events';
import type { BackendChoice, ServiceConfig } from './config';
import type { HealthServer } from './health';
import { startHealthServer } from './health';
import type { GrpcHealthServer } from './health-grpc';
import { createHealthService, startGrpcHealthServer, WORKER_LIVENESS_SERVICE } from './health-grpc';
import type { Logger } from './logger';
import { topologyConfig } from './pipeline';
import { stageRequestCodec } from './stage-codec';
import { createStageProcessor } from './stage-processor';
import type { StageRunner } from './stage-runner';
import { createInlineRunner, createThreadRunner } from './stage-runner';
import { createStore } from './store';

export interface WorkerOptions {
  /** Name for logs and the NATS connection: ingest, m1, m2, m3. */
  readonly service: string;
  /** Stages this worker consumes (m3: m3-train and m3-detect). */
  readonly stages: readonly Stage[];
  readonly config: ServiceConfig;
  readonly log: Logger;
  /** The backend the stage threads initialise (the one main chose); default config.backend. */
  readonly backend?: BackendChoice;
  /** Replaces the runner made from config.stageIsolation (tests count stage runs this way). */
  readonly runner?: StageRunner;
}

export interface Worker {
  readonly nc: NatsConnection;
  readonly names: EventNames;
  readonly jobs: JobStore;
  readonly health: HealthServer | undefined;
  /** grpc.health.v1 on MITOSIS_HEALTH_GRPC_ADDR: '' = ready(), WORKER_LIVENESS_SERVICE = alive. */
  readonly grpcHealth: GrpcHealthServer | undefined;
  /** Connected to NATS, every consumer started, not stopping. */
  ready(): boolean;
  /**
   * Stops pulling, lets the messages in hand finish (or nak-s them at the drain deadline), ends
   * the stage threads, the health servers and the connection. Idempotent. gRPC health says
   * NOT_SERVING for '' from the first moment (liveness stays SERVING until the server closes).
   */
  stop(): Promise<void>;
  /** Settles when the NATS connection closed: resolves after stop(), rejects if it was lost. */
  readonly closed: Promise<void>;
}

/**
 * Everything a stage worker's main.ts wires, in one place: NATS (reconnecting forever), the
 * topology, the store and job store, one stage consumer per stage whose `process` is resolveStageTask + the runner +
 * completeStage, and the health endpoints (HTTP /livez and /readyz, grpc.health.v1).
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { config, log } = options;
  // A refused first connection (wrong credentials, no server) fails the start, naming the URL.
  const nc = await connectNats({
    servers: config.natsServers,
    credentials: config.natsCredentials,
    name: `mitosis-${options.service}@${hostname()}`,
    maxReconnectAttempts: -1,
  });
  // The kind of credentials and the user name only: never a password, token or seed.
  log.info('nats connected', { server: nc.getServer(), auth: describeNatsCredentials(config.natsCredentials) });
  let connected = true;
  let stopping = false;
  // gRPC health is pushed (Watch streams see each change), so every change of what ready() reads
  // calls refresh(); '' starts NOT_SERVING until the consumers are bound.
  const grpcHealthService = createHealthService([WORKER_LIVENESS_SERVICE], 'NOT_SERVING');
  grpcHealthService.setStatus(WORKER_LIVENESS_SERVICE, 'SERVING');
  let refresh = (): void => undefined;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') connected = false;
      if (status.type === 'reconnect') connected = true;
      if (status.type === 'disconnect' || status.type === 'reconnect') {
        log.warn(`nats ${status.type}`, { server: String(status.data) });
        refresh();
      }
    }
  })();
  const consumers: StageConsumer[] = [];
  let runner: StageRunner | undefined;
  let health: HealthServer | undefined;
  let grpcHealth: GrpcHealthServer | undefined;
  let stopLag: (() => void) | undefined;
  try {
    const names = await ensureTopology(nc, topologyConfig(config));
    const jobs = await createJobStore(nc.jetstream(), names.jobsBucket);
    // Created here even when threads do the work: a bad bucket or credentials fail at start-up.
    const store = await createStore(config);
    log.info('store ready', { store: store.location });
    const backend = options.backend ?? config.backend;
    runner =
      options.runner ??
      (config.stageIsolation === 'thread'
        ? createThreadRunner({ store: config.store, ...(backend ? { backend } : {}), ...(config.wasmThreads ? { wasmThreads: config.wasmThreads } : {}), log })
        : createInlineRunner(store));
    const processMessage = createStageProcessor({ jobs, js: nc.jetstream(), names, runner, store, defaults: config.stageDefaults, log, ...(backend ? { backend } : {}) });
    for (const stage of options.stages) {
      consumers.push(
        await createStageConsumer({
          nc,
          names,
          stage,
          codec: stageRequestCodec,
          jobs,
          process: processMessage,
          concurrency: config.concurrency,
          ackWaitMs: config.ackWaitMs,
          maxDeliver: config.maxDeliver,
          heartbeatMs: config.heartbeatMs,
          drainTimeoutMs: config.drainTimeoutMs,
          progressIntervalMs: config.progressIntervalMs,
          log: log.child({ component: 'events' }),
        }),
      );
    }
    // Queue lag of this worker's stages, read at each metric export (a no-op without telemetry).
    stopLag = observeConsumerLag({ nc, names, stages: options.stages, log: log.child({ component: 'metrics' }) });
    const ready = (): boolean => connected && !stopping && !nc.isClosed() && consumers.length === options.stages.length;
    if (config.healthAddr !== undefined) {
      health = await startHealthServer({
        addr: config.healthAddr,
        ready: () => ({ ready: ready(), detail: { connected, stopping, stages: options.stages, inFlight: consumers.reduce((n, c) => n + c.inFlight, 0) } }),
      });
      log.info('health endpoint', { url: health.url });
    }
    refresh = () => grpcHealthService.setStatus('', ready() ? 'SERVING' : 'NOT_SERVING');
    refresh();
    if (config.healthGrpcAddr !== undefined) {
      grpcHealth = await startGrpcHealthServer({ addr: config.healthGrpcAddr, health: grpcHealthService });
      log.info('grpc health endpoint', { address: grpcHealth.address, services: ['', WORKER_LIVENESS_SERVICE] });
    }
    log.info('worker started', { stages: options.stages, prefix: names.prefix, concurrency: config.concurrency, ackWaitMs: config.ackWaitMs, isolation: config.stageIsolation });

    const closed = nc.closed().then((error) => {
      refresh();
      if (!stopping) throw error ?? new Error('NATS connection closed');
    });
    // Observed here so an unexpected close is not an unhandled rejection before main awaits it.
    closed.catch(() => undefined);
    let stopped: Promise<void> | undefined;
    const finalRunner = runner;
    const finalHealth = health;
    const finalGrpcHealth = grpcHealth;
    const finalStopLag = stopLag;
    return {
      nc,
      names,
      jobs,
      health,
      grpcHealth,
      ready,
      closed,
      stop: () =>
        (stopped ??= (async () => {
          stopping = true;
          // Readiness goes first, so load balancers and probes see the drain before it ends.
          refresh();
          finalStopLag();
          await Promise.all(consumers.map((c) => c.stop()));
          await finalRunner.close();
          await finalHealth?.close();
          await finalGrpcHealth?.close();
          if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
          log.info('worker stopped', { stages: options.stages });
        })()),
    };
  } catch (error: unknown) {
    stopping = true;
    stopLag?.();
    await Promise.all(consumers.map((c) => c.stop({ timeoutMs: 0 })));
    await runner?.close();
    await health?.close();
    await grpcHealth?.close();
    await nc.close();
    throw error;
  }
}
