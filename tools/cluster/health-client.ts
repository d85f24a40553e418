/** The gRPC health client the supervisor asks whether the gateway is up. */
import type { Client, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { credentials, makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

type CheckClient = Client & {
  check(request: { service: string }, metadata: Metadata, options: { deadline: number }, callback: (error: ServiceError | null, response?: { status: string }) => void): void;
};
// grpc-health-check's grpc.health.v1 service, loaded by its own proto-loader: a plain grpc-js client.
const HealthClient = makeGenericClientConstructor(healthService as unknown as ServiceDefinition, 'Health');

/** gRPC health (grpc.health.v1.Health/Check) of `service`, '' being the server as a whole. */
export function grpcHealth(address: string, timeoutMs = 2_000, service = ''): Promise<'SERVING' | 'NOT_SERVING' | 'UNKNOWN'> {
  const client = new HealthClient(address, credentials.createInsecure()) as unknown as CheckClient;
  return new Promise((resolve, reject) => {
    client.check({ service }, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
      client.close();
      if (error) return reject(error);
      const status = response?.status;
      resolve(status === 'SERVING' || status === 'NOT_SERVING' ? status : 'UNKNOWN');
    });
  });
}
