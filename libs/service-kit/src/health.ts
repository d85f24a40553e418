import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseHostPort } from './config';

/** What a readiness check reports: ready or not, and why, for people reading the probe. */
export interface HealthReport {
  readonly ready: boolean;
  readonly detail?: Record<string, unknown>;
}

export interface HealthServerOptions {
  /** `host:port` (port 0: any free port). */
  readonly addr: string;
  /** Readiness: a worker is ready once connected to NATS and consuming. */
  readonly ready: () => HealthReport | Promise<HealthReport>;
}

export interface HealthServer {
  /** `http://host:port` as bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The probes of a worker for Kubernetes: `GET /livez` answers 200 while the process serves
 * requests at all (its event loop turns, which the stage thread keeps true during training),
 * `GET /readyz` answers 200 when `ready()` says so and 503 otherwise, with a JSON body either way.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { host, port } = parseHostPort(options.addr, 'health address');
  const server = createServer((request, response) => {
    const send = (code: number, body: unknown): void => {
      const text = `${JSON.stringify(body)}\n`;
      response.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : text);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, { error: 'method not allowed' });
    const url = (request.url ?? '/').split('?')[0];
    if (url === '/livez' || url === '/healthz') return send(200, { live: true });
    if (url === '/readyz') {
      Promise.resolve()
        .then(options.ready)
        .then(
          (report) => send(report.ready ? 200 : 503, { ready: report.ready, ...report.detail }),
          (error: unknown) => send(503, { ready: false, error: error instanceof Error ? error.message : String(error) }),
        );
      return undefined;
    }
    return send(404, { error: 'not found', paths: ['/livez', '/readyz'] });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${bound}`,
    port: bound,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
