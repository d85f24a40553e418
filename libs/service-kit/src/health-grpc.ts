import path from 'node:path';
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { Metadata, Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { loadSync } from '@grpc/proto-loader';
import { PreconditionError } from '@mitosis/core';
import { parseHostPort } from './config';

/** libs/service-kit/proto: grpc.health.v1, shared by the gateway (also for reflection) and the workers. */
export const healthProtoDir = path.resolve(__dirname, '..', 'proto');
/** The health proto, relative to healthProtoDir. */
export const HEALTH_PROTO = 'grpc/health/v1/health.proto';
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';
/**
 * The service name a stage worker reports its liveness under (what `GET /livez` says): SERVING
 * while the process answers at all, also while NATS is away or the worker drains, so a probe on
 * it never restarts a worker for an outage a restart would not fix.
 */
export const WORKER_LIVENESS_SERVICE = 'mitosis.worker.Liveness';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';
type WatchedStatus = ServingStatus | 'SERVICE_UNKNOWN';

interface HealthRequest {
  service: string;
}
interface HealthResponse {
  status: WatchedStatus;
}

export function loadHealthProto(): PackageDefinition {
  return loadSync(HEALTH_PROTO, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [healthProtoDir] });
}

/** grpc.health.v1.Health: what Kubernetes probes and load balancers ask; never authenticated. */
export interface HealthService {
  /** Sets one service's status ('' is the server as a whole) and tells its watchers. */
  setStatus(service: string, servingStatus: ServingStatus): void;
  /** The status Check would answer; undefined for an unknown service. */
  getStatus(service: string): ServingStatus | undefined;
  /** Every service NOT_SERVING, then ends every Watch stream (so a graceful shutdown can finish). */
  shutdown(): void;
  addTo(server: Pick<Server, 'addService'>): void;
}

/** Health of '' and of `services`, all SERVING at first; Check of any other name is NOT_FOUND. */
export function createHealthService(services: readonly string[], initial: ServingStatus = 'SERVING'): HealthService {
  const statuses = new Map<string, ServingStatus>([['', initial], ...services.map((name): [string, ServingStatus] => [name, initial])]);
  const watchers = new Set<{ service: string; call: ServerWritableStream<HealthRequest, HealthResponse> }>();
  const definition = loadHealthProto()[HEALTH_SERVICE_NAME] as ServiceDefinition;

  const implementation = {
    Check(call: ServerUnaryCall<HealthRequest, HealthResponse>, callback: sendUnaryData<HealthResponse>): void {
      const known = statuses.get(call.request.service);
      if (known === undefined) {
        const error: ServiceError = Object.assign(new Error(`unknown service "${call.request.service}"`), {
          code: status.NOT_FOUND,
          details: `unknown service "${call.request.service}"`,
          metadata: new Metadata(),
        });
        callback(error);
      } else callback(null, { status: known });
    },
    // The protocol: the status now, then each change; SERVICE_UNKNOWN (not an error) for a name not known.
    Watch(call: ServerWritableStream<HealthRequest, HealthResponse>): void {
      const watcher = { service: call.request.service, call };
      watchers.add(watcher);
      call.on('cancelled', () => watchers.delete(watcher));
      call.on('close', () => watchers.delete(watcher));
      call.write({ status: statuses.get(call.request.service) ?? 'SERVICE_UNKNOWN' });
    },
  };

  return {
    setStatus(service, servingStatus) {
      if (statuses.get(service) === servingStatus) return;
      statuses.set(service, servingStatus);
      for (const watcher of watchers) if (watcher.service === service) watcher.call.write({ status: servingStatus });
    },
    getStatus: (service) => statuses.get(service),
    shutdown() {
      for (const service of statuses.keys()) statuses.set(service, 'NOT_SERVING');
      for (const watcher of watchers) {
        if (statuses.has(watcher.service)) watcher.call.write({ status: 'NOT_SERVING' });
        watcher.call.end();
      }
      watchers.clear();
    },
    addTo(server) {
      server.addService(definition, implementation);
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
  const server = new Server();
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
