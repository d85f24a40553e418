import type { BlobStore } from '@mitosis/core';
import type { HealthService } from '@mitosis/service-kit';
import type { GatewayLogger } from './logger';

/** The backends without which the gateway cannot serve a call. */
export type ReadinessBackend = 'nats' | 'store';

/** The server's health (`""`) from its backends: SERVING only while every one is up. */
export interface Readiness {
  set(backend: ReadinessBackend, up: boolean): void;
}

export function createReadiness(health: HealthService, log: GatewayLogger): Readiness {
  const down = new Set<ReadinessBackend>();
  return {
    set(backend, up) {
      if (up === !down.has(backend)) return;
      if (up) down.delete(backend);
      else down.add(backend);
      log.warn(up ? 'backend back; readiness follows' : 'backend down; not ready', { backend, notServing: [...down] });
      health.setStatus('', down.size === 0 ? 'SERVING' : 'NOT_SERVING');
    },
  };
}

/** A key nobody writes: `exists` on it is one cheap request (S3 HEAD) that needs the store to answer. */
const PROBE_KEY = 'health-probe';

/**
 * Probes the object store every `intervalMs` and reports it to readiness: down while a probe
 * fails or does not answer (the store given is expected to bound its calls), up at the next
 * answer. Probes never overlap, so a frozen store holds one probe, not a pile of them.
 */
export function watchStore(store: BlobStore, readiness: Readiness, intervalMs: number): { stop(): void } {
  let probing = false;
  const probe = async (): Promise<void> => {
    if (probing) return;
    probing = true;
    try {
      await store.exists(PROBE_KEY);
      readiness.set('store', true);
    } catch {
      readiness.set('store', false);
    } finally {
      probing = false;
    }
  };
  void probe();
  const timer = setInterval(() => void probe(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
