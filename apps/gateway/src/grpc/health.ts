import type { sendUnaryData, Server, ServerUnaryCall, ServerWritableStream, ServiceDefinition } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { serviceError } from './errors';
import { loadHealthProto } from './protos';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';
type WatchedStatus = ServingStatus | 'SERVICE_UNKNOWN';

interface HealthRequest {
  service: string;
}
interface HealthResponse {
  status: WatchedStatus;
}

/** grpc.health.v1.Health: what Kubernetes probes and load balancers ask; never authenticated. */
export interface HealthService {
  /** Sets one service's status ('' is the server as a whole) and tells its watchers. */
  setStatus(service: string, servingStatus: ServingStatus): void;
  /** Every service NOT_SERVING, then ends every Watch stream (so a graceful shutdown can finish). */
  shutdown(): void;
  addTo(server: Pick<Server, 'addService'>): void;
}

export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

export function createHealthService(services: readonly string[]): HealthService {
  const statuses = new Map<string, ServingStatus>([['', 'SERVING'], ...services.map((name): [string, ServingStatus] => [name, 'SERVING'])]);
  const watchers = new Set<{ service: string; call: ServerWritableStream<HealthRequest, HealthResponse> }>();
  const definition = loadHealthProto()[HEALTH_SERVICE_NAME] as ServiceDefinition;

  const implementation = {
    Check(call: ServerUnaryCall<HealthRequest, HealthResponse>, callback: sendUnaryData<HealthResponse>): void {
      const known = statuses.get(call.request.service);
      if (known === undefined) callback(serviceError(status.NOT_FOUND, `unknown service "${call.request.service}"`));
      else callback(null, { status: known });
    },
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
