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
import { routes } from './routes';
import type { ServiceContext } from './services/context';
import type { WorkLimits } from '@mitosis/stages';
import { WORK_LIMITS } from '@mitosis/stages';

/** The gateway settings createGatewayServer needs (a subset of GatewayConfig). */
export interface GatewayServerConfig {
  readonly maxUploadBytes: number;
  /** Local folder where uploads are staged until verified. */
  readonly uploadDir: string;
  /** Accepted bearer tokens; empty: no authentication. */
  readonly authTokens: readonly string[];
  /** The most work one request may ask for; default @mitosis/stages' WORK_LIMITS. */
  readonly workLimits?: WorkLimits;
}

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
    store: deps.store,
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
}

/** The gateway on a NATS connection: the topology and job store there, a health service, and the gRPC server bound. */
export async function startGatewayServer(start: GatewayStart): Promise<StartedGateway> {
  const names = await ensureTopology(start.nc, start.topology);
  const js = start.nc.jetstream();
  const jobs = await createJobStore(js, names.jobsBucket);
  const health = createHealthService(SERVICE_NAMES);
  const server = createGatewayServer({ store: start.store, jobs, js, names, health, config: start.config, ...(start.log === undefined ? {} : { log: start.log }) });
  const port = await bindGateway(server, start.address, await serverCredentials(start.tls));
  return { names, js, jobs, health, server, port };
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
