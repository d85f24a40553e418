import { readFile } from 'node:fs/promises';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { BlobStore } from '@mitosis/core';
import type { EventNames, JobStore, TopologyConfig } from '@mitosis/events';
import { createJobStore, ensureTopology } from '@mitosis/events';
import type { HealthService } from '@mitosis/service-kit';
import { createHealthService } from '@mitosis/service-kit';
import type { JetStreamClient, NatsConnection } from 'nats';
import { bearerAuthenticator, guardedServer } from './grpc/auth';
import { loadServedProtos } from './grpc/protos';
import { createJobResults } from './jobs/results';
import type { GatewayLogger } from './logger';
import { silentLogger } from './logger';
import type { Readiness } from './readiness';
import { createReadiness, watchStore } from './readiness';
import { routes } from './routes';
import type { ServiceContext } from './services/context';
import type { WorkLimits } from '@mitosis/stages';
import { WORK_LIMITS } from '@mitosis/stages';
import { withStoreTimeout } from './storage/timed-store';
import { DEFAULT_STAGING_MAX_AGE_MS, DEFAULT_STORE_TIMEOUT_MS } from './store-limits-config';
import { startStagingJanitor } from './upload/staging-janitor';

/** The gateway settings createGatewayServer needs (a subset of GatewayConfig). */
export interface GatewayServerConfig {
  readonly maxUploadBytes: number;
  /** Local folder where uploads are staged until verified. */
  readonly uploadDir: string;
  /** Accepted bearer tokens; empty: no authentication. */
  readonly authTokens: readonly string[];
  /** The most work one request may ask for; default @mitosis/stages' WORK_LIMITS. */
  readonly workLimits?: WorkLimits;
  /** Longest wait for one answer of the object store before a call fails UNAVAILABLE (MITOSIS_STORE_TIMEOUT_MS); default 10 s. */
  readonly storeTimeoutMs?: number;
  /** Age after which staged objects of an uncommitted upload are removed (MITOSIS_UPLOAD_STAGING_MAX_AGE_S); default 1 hour. */
  readonly stagingMaxAgeMs?: number;
  /** Time between sweeps of abandoned staging; default the age limit, at most 15 minutes. */
  readonly stagingSweepIntervalMs?: number;
  /** Time between readiness probes of the object store; default 5 s. */
  readonly storeProbeIntervalMs?: number;
}

const DEFAULT_STORE_PROBE_INTERVAL_MS = 5_000;

export interface GatewayDeps {
  readonly store: BlobStore;
  readonly jobs: JobStore;
  readonly js: JetStreamClient;
  readonly names: EventNames;
  readonly config: GatewayServerConfig;
  readonly log?: GatewayLogger;
  /** Health service to serve (main keeps it, to report NOT_SERVING on shutdown); default a new one. */
  readonly health?: HealthService;
}

/** Names of the services the gateway serves, for health checks. */
export const SERVICE_NAMES: readonly string[] = routes.map((route) => route.name);

/**
 * A grpc-js Server with every mitosis.v1 service, grpc.health.v1.Health and server reflection.
 * With auth tokens, every service but health (reflection included) needs
 * `authorization: Bearer <token>`. The caller binds it (bindGateway) and shuts it down.
 */
export function createGatewayServer(deps: GatewayDeps): Server {
  const log = deps.log ?? silentLogger;
  const ctx: ServiceContext = {
    // Every call that touches the store is bounded, shorter than a client's typical deadline.
    store: withStoreTimeout(deps.store, deps.config.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS),
    jobs: deps.jobs,
    js: deps.js,
    names: deps.names,
    log,
    results: createJobResults(deps.store, log),
    limits: { maxBytes: deps.config.maxUploadBytes, stagingDir: deps.config.uploadDir },
    workLimits: deps.config.workLimits ?? WORK_LIMITS,
  };
  const server = new Server();
  const guarded = guardedServer(server, bearerAuthenticator(deps.config.authTokens));
  for (const route of routes) guarded.addService(route.definition, route.implement(ctx));
  new ReflectionService(loadServedProtos()).addToServer(guarded);
  (deps.health ?? createHealthService(SERVICE_NAMES)).addTo(server);
  return server;
}

/** TLS from PEM files when given (server authentication only), plaintext otherwise. */
export async function serverCredentials(tls?: { certFile: string; keyFile: string }): Promise<ServerCredentials> {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
  return ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
}

/** Binds `address` (`host:port`, port 0 for any free port) and resolves with the port bound. */
export function bindGateway(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port)));
  });
}

/** What startGatewayServer wires together. */
export interface GatewayStart {
  readonly nc: NatsConnection;
  readonly topology: TopologyConfig;
  readonly store: BlobStore;
  readonly config: GatewayServerConfig;
  /** `host:port` to bind, port 0 for any free port. */
  readonly address: string;
  readonly tls?: { certFile: string; keyFile: string };
  readonly log?: GatewayLogger;
}

/** A gateway started by startGatewayServer: what it serves from, and the port it listens on. */
export interface StartedGateway {
  readonly names: EventNames;
  readonly js: JetStreamClient;
  readonly jobs: JobStore;
  readonly health: HealthService;
  readonly server: Server;
  readonly port: number;
  /** The server's health from NATS and the object store (main reports NATS; the store is probed here). */
  readonly readiness: Readiness;
  /** Sweeps abandoned upload staging now (also run at start and periodically). */
  sweepStaging(): Promise<number>;
  /** Stops the store probe and the staging janitor. */
  stopBackground(): void;
}

/**
 * The gateway on a NATS connection: the topology and job store there, a health service, and the
 * gRPC server bound; readiness probing the object store, and the janitor of abandoned uploads.
 */
export async function startGatewayServer(start: GatewayStart): Promise<StartedGateway> {
  const log = start.log ?? silentLogger;
  const { config } = start;
  const names = await ensureTopology(start.nc, start.topology);
  const js = start.nc.jetstream();
  const jobs = await createJobStore(js, names.jobsBucket);
  const health = createHealthService(SERVICE_NAMES);
  const server = createGatewayServer({ store: start.store, jobs, js, names, health, config, log });
  const port = await bindGateway(server, start.address, await serverCredentials(start.tls));
  const readiness = createReadiness(health, log);
  const timeoutMs = config.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  const probeIntervalMs = config.storeProbeIntervalMs ?? DEFAULT_STORE_PROBE_INTERVAL_MS;
  // A probe waits no longer than the interval, so readiness follows a frozen store within two intervals.
  const storeWatch = watchStore(withStoreTimeout(start.store, Math.min(timeoutMs, probeIntervalMs)), readiness, probeIntervalMs);
  const janitor = startStagingJanitor(withStoreTimeout(start.store, timeoutMs), {
    maxAgeMs: config.stagingMaxAgeMs ?? DEFAULT_STAGING_MAX_AGE_MS,
    uploadDir: config.uploadDir,
    ...(config.stagingSweepIntervalMs === undefined ? {} : { intervalMs: config.stagingSweepIntervalMs }),
    log,
  });
  return {
    names,
    js,
    jobs,
    health,
    server,
    port,
    readiness,
    sweepStaging: () => janitor.sweep(),
    stopBackground: () => {
      storeWatch.stop();
      janitor.stop();
    },
  };
}

/** Lets calls in flight finish for up to `graceMs`, then cuts what is left. */
export async function shutdownGateway(server: Server, graceMs: number, health?: HealthService): Promise<void> {
  health?.shutdown();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
