import path from 'node:path';
import type { Stage } from '@mitosis/events';
import { NATS_CREDENTIAL_VARIABLES, WORKER_STAGES } from '@mitosis/events';
import * as proto from '@mitosis/proto';
import { GATEWAY_ENV_NAMES, SERVICE_ENV_NAMES, WORKER_LIVENESS_SERVICE } from '@mitosis/service-kit';

/** The repository root (deploy/src -> ..). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The worker apps and the stages each consumes (events' WORKER_STAGES, what their main.ts runs). */
export function workerStages(): Record<string, Stage[]> {
  return Object.fromEntries(Object.entries(WORKER_STAGES).map(([app, stages]) => [app, [...stages]]));
}

/** The stage workers that run the networks of the method (M1, M2, M3) and so get GPUs. */
export const GPU_WORKERS = ['m1', 'm2', 'm3'] as const;

/**
 * Every MITOSIS_* variable the services read: service-kit's loadConfig, the NATS credentials it
 * reads through @mitosis/events, and the gateway's extra ones.
 */
export function knownEnvironmentNames(): Set<string> {
  return new Set<string>([...SERVICE_ENV_NAMES, ...NATS_CREDENTIAL_VARIABLES, ...GATEWAY_ENV_NAMES]);
}

/** The services a stage worker reports in grpc.health.v1: '' (ready) and its liveness (service-kit health-grpc.ts). */
export function workerHealthServices(): Set<string> {
  return new Set(['', WORKER_LIVENESS_SERVICE]);
}

/**
 * The gRPC services the gateway reports in grpc.health.v1 ('' is the server as a whole): every
 * mitosis.v1 service of @mitosis/proto, named by its methods' paths (`/mitosis.v1.JobService/...`).
 */
export function gatewayHealthServices(): Set<string> {
  const names = new Set<string>(['']);
  for (const definition of Object.values(proto)) {
    if (typeof definition !== 'object' || definition === null) continue;
    for (const method of Object.values(definition as Record<string, unknown>)) {
      const route = (method as { path?: unknown } | null)?.path;
      const match = typeof route === 'string' ? /^\/(mitosis\.v1\.[A-Za-z]+)\//.exec(route) : null;
      if (match?.[1] !== undefined) names.add(match[1]);
    }
  }
  return names;
}
