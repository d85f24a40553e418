import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import type { Stage } from '@mitosis/events';
import { checkStage } from '@mitosis/events';
import { WORKER_LIVENESS_SERVICE } from '@mitosis/service-kit';
import { readText } from './yaml-files';

/** The repository root (deploy/src -> ..). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The worker apps and the stages each consumes, read from their main.ts (runWorkerMain's `stages`). */
export function workerStages(root = REPO_ROOT): Record<string, Stage[]> {
  const result: Record<string, Stage[]> = {};
  for (const app of ['ingest', 'm1', 'm2', 'm3']) {
    const file = path.join(root, 'apps', app, 'src', 'main.ts');
    const match = /stages:\s*\[([^\]]*)\]/.exec(readText(file));
    if (match === null) throw new InvalidInputError(`${file}: no "stages: [...]" passed to runWorkerMain`);
    result[app] = [...(match[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => checkStage(m[1] ?? ''));
  }
  return result;
}

/** The stage workers that run the networks of the method (M1, M2, M3) and so get GPUs. */
export const GPU_WORKERS = ['m1', 'm2', 'm3'] as const;

/**
 * Every MITOSIS_* variable the services read: service-kit's loadConfig, the NATS credentials it
 * reads through @mitosis/events, and the gateway's extra ones.
 */
export function knownEnvironmentNames(root = REPO_ROOT): Set<string> {
  const names = new Set<string>();
  for (const file of ['libs/service-kit/src/config.ts', 'libs/events/src/nats-connection.ts', 'apps/gateway/src/config.ts']) {
    for (const match of readText(path.join(root, file)).matchAll(/'(MITOSIS_[A-Z0-9_]+)'/g)) names.add(match[1] ?? '');
  }
  return names;
}

/** The services a stage worker reports in grpc.health.v1: '' (ready) and its liveness (service-kit health-grpc.ts). */
export function workerHealthServices(): Set<string> {
  return new Set(['', WORKER_LIVENESS_SERVICE]);
}

/** The gRPC services the gateway reports in grpc.health.v1 ('' is the server as a whole). */
export function gatewayHealthServices(root = REPO_ROOT): Set<string> {
  const file = path.join(root, 'apps', 'gateway', 'src', 'routes.ts');
  const names = [...readText(file).matchAll(/name:\s*'(mitosis\.v1\.[A-Za-z]+)'/g)].map((m) => m[1] ?? '');
  if (names.length === 0) throw new InvalidInputError(`${file}: no mitosis.v1 service names found`);
  return new Set(['', ...names]);
}
