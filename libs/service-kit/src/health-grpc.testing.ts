import type { Client, ClientReadableStream, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { credentials, makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
import { HEALTH_SERVICE_NAME, loadHealthProto } from './health-grpc';

/** A grpc.health.v1 client for specs: what grpc-health-probe and the kubelet send. */
export interface HealthTestClient {
  check(service: string): Promise<string>;
  /** Statuses of a Watch, in order; `next()` waits for the next one. */
  watch(service: string): { next(timeoutMs?: number): Promise<string>; ended: Promise<void>; cancel(): void };
  close(): void;
}

export function healthTestClient(address: string): HealthTestClient {
  const Health = makeGenericClientConstructor(loadHealthProto()[HEALTH_SERVICE_NAME] as ServiceDefinition, 'Health');
  const client = new Health(address, credentials.createInsecure()) as unknown as Client & {
    Check(request: object, metadata: Metadata, options: object, callback: (error: ServiceError | null, response: { status: string }) => void): void;
    Watch(request: object): ClientReadableStream<{ status: string }>;
  };
  return {
    check: (service) =>
      new Promise((resolve, reject) =>
        client.Check({ service }, new Metadata(), { deadline: Date.now() + 5_000 }, (error, response) => (error ? reject(error) : resolve(response.status))),
      ),
    watch(service) {
      const stream = client.Watch({ service });
      const received: string[] = [];
      const waiting: ((status: string) => void)[] = [];
      stream.on('data', (response: { status: string }) => {
        const take = waiting.shift();
        if (take) take(response.status);
        else received.push(response.status);
      });
      const ended = new Promise<void>((resolve) => {
        stream.on('end', () => resolve());
        stream.on('error', () => resolve());
      });
      return {
        next: (timeoutMs = 5_000) => {
          const ready = received.shift();
          if (ready !== undefined) return Promise.resolve(ready);
          return new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no Watch update for "${service}" within ${timeoutMs} ms`)), timeoutMs);
            waiting.push((status) => {
              clearTimeout(timer);
              resolve(status);
            });
          });
        },
        ended,
        cancel: () => stream.cancel(),
      };
    },
    close: () => client.close(),
  };
}
