import path from 'node:path';
import type { Server, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ServerCredentials, Server as GrpcServer } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { loadSync } from '@grpc/proto-loader';
import { PreconditionError } from '@mitosis/core';
import { HealthImplementation, protoPath } from 'grpc-health-check';
import { parseHostPort } from './config';

/** grpc-health-check's proto folder: grpc.health.v1, shared by the gateway (also for reflection) and the workers. */
export const healthProtoDir = path.resolve(path.dirname(protoPath), '..', '..');
/** The health proto, relative to healthProtoDir. */
export const HEALTH_PROTO = path.relative(healthProtoDir, protoPath).split(path.sep).join('/');
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';
/**
 * The service name a stage worker reports its liveness under (what `GET /livez` says): SERVING
 * while the process answers at all, also while NATS is away or the worker drains, so a probe on
 * it never restarts a worker for an outage a restart would not fix.
 */
export const WORKER_LIVENESS_SERVICE = 'mitosis.worker.Liveness';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** The health proto as a package definition, for clients and for the gateway's reflection. */
export function loadHealthProto(): PackageDefinition {
  return loadSync(HEALTH_PROTO, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [healthProtoDir] });
}

/** grpc.health.v1.Health: what Kubernetes probes and load balancers ask; never authenticated. */
export interface HealthService {
  /** Sets one service's status ('' is the server as a whole) and tells its watchers; no-op after shutdown. */
  setStatus(service: string, servingStatus: ServingStatus): void;
  /** The status Check would answer; undefined for an unknown service. */
  getStatus(service: string): ServingStatus | undefined;
  /** Every service NOT_SERVING, then ends every Watch stream (so a graceful shutdown can finish). */
  shutdown(): void;
  addTo(server: Pick<Server, 'addService'>): void;
}

/**
 * Health of '' and of `services`, all `initial` at first, served by grpc-health-check (Check, Watch,
 * List; Check of any other name is NOT_FOUND, Watch of it SERVICE_UNKNOWN).
 */
export function createHealthService(services: readonly string[], initial: ServingStatus = 'SERVING'): HealthService {
  const statuses = new Map<string, ServingStatus>([['', initial], ...services.map((name): [string, ServingStatus] => [name, initial])]);
  const implementation = new HealthImplementation(Object.fromEntries(statuses));
  // The package's Watch streams never end on their own; shutdown ends them so tryShutdown can finish.
  const watches = new Set<ServerWritableStream<unknown, unknown>>();
  let stopped = false;

  const set = (service: string, servingStatus: ServingStatus): void => {
    // Watchers hear changes only (the package would repeat an unchanged status).
    if (statuses.get(service) === servingStatus) return;
    statuses.set(service, servingStatus);
    implementation.setStatus(service, servingStatus);
  };

  return {
    setStatus(service, servingStatus) {
      if (!stopped) set(service, servingStatus);
    },
    getStatus: (service) => statuses.get(service),
    shutdown() {
      for (const service of statuses.keys()) set(service, 'NOT_SERVING');
      stopped = true;
      for (const call of watches) call.end();
      watches.clear();
    },
    addTo(server) {
      implementation.addToServer({
        addService: (definition, handlers: UntypedServiceImplementation) => {
          const watch = handlers['watch'] as (call: ServerWritableStream<unknown, unknown>) => void;
          const tracked = (call: ServerWritableStream<unknown, unknown>): void => {
            if (stopped) {
              call.end();
              return;
            }
            watches.add(call);
            call.on('cancelled', () => watches.delete(call));
            call.on('close', () => watches.delete(call));
            watch(call);
          };
          server.addService(definition, { ...handlers, watch: tracked });
        },
      });
    },
  };
}

export interface GrpcHealthServer {
  /** `host:port` as bound. */
  readonly address: string;
  readonly port: number;
  /** NOT_SERVING to every watcher, ends their streams, then stops the server. Idempotent. */
  close(): Promise<void>;
}

/**
 * A plaintext gRPC server with grpc.health.v1 only, for Kubernetes' native `grpc:` probes (which
 * speak no TLS) beside a worker's HTTP /livez and /readyz.
 */
export async function startGrpcHealthServer(options: { readonly addr: string; readonly health: HealthService }): Promise<GrpcHealthServer> {
  const { host, port } = parseHostPort(options.addr, 'gRPC health address');
  const server = new GrpcServer();
  options.health.addTo(server);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${shownHost}:${port}`, ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(new PreconditionError(`gRPC health server cannot listen on ${options.addr}: ${error.message}`)) : resolve(boundPort),
    ),
  );
  let closing: Promise<void> | undefined;
  return {
    address: `${shownHost}:${bound}`,
    port: bound,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        options.health.shutdown();
        // Watch streams are ended above, so this waits only for Checks in flight; a stuck one is cut.
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      })),
  };
}
