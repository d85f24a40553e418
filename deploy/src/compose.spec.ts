import path from 'node:path';
import { loadConfig } from '@mitosis/service-kit';
import { parse } from 'yaml';
import { SHUTDOWN_MARGIN_S } from './checks';
import { parseDockerfile } from './dockerfile';
import { renderKustomization } from './kustomize';
import { K8S_DIR } from './overlays';
import { REPO_ROOT } from './repo-facts';
import { isRecord, readText } from './yaml-files';

interface ComposeService {
  image?: string;
  command?: string[];
  build?: { context: string; dockerfile: string; target: string };
  environment?: Record<string, string>;
  user?: string;
  stop_grace_period?: string;
  read_only?: boolean;
}

const DEPLOY = path.join(REPO_ROOT, 'deploy');
const load = (file: string): Record<string, ComposeService> => {
  const document: unknown = parse(readText(path.join(DEPLOY, file)), { merge: true });
  if (!isRecord(document) || !isRecord(document['services'])) throw new Error(`${file}: no services`);
  return document['services'] as Record<string, ComposeService>;
};
/** Compose's ${VAR:-default} with nothing set: the defaults. */
const withDefaults = (value: string): string => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
const seconds = (duration: string | undefined): number => Number(/^(\d+)s$/.exec(duration ?? '')?.[1] ?? NaN);

describe('deploy/compose.yaml', () => {
  const services = load('compose.yaml');
  const gpu = load('compose.gpu.yaml');
  const base = renderKustomization(path.join(K8S_DIR, 'base'));
  const k8sImages = new Set(base.flatMap((o) => JSON.stringify(o).match(/"image":"[^"]+"/g) ?? []).map((m) => m.slice(9, -1)));

  it('runs the services from the same Dockerfile targets and images as Kubernetes, NATS and MinIO at the same pins', () => {
    expect(Object.keys(services).sort()).toEqual(['gateway', 'ingest', 'm1', 'm2', 'm3', 'minio', 'nats']);
    for (const [name, service] of Object.entries(services)) {
      expect(k8sImages).toContain(service.image);
      if (service.build === undefined) continue;
      const dockerfile = path.resolve(DEPLOY, service.build.context, service.build.dockerfile);
      const targets = parseDockerfile(readText(dockerfile), dockerfile).stages.map((s) => s.name);
      expect(targets).toContain(name);
      expect(service.build.target).toBe(name);
    }
  });

  it('gives each mitosis service a configuration the code accepts, a non-root user and the drain time at stop', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build === undefined) continue;
      const env = Object.fromEntries(Object.entries({ ...service.environment, ...gpu[name]?.environment }).map(([k, v]) => [k, withDefaults(String(v))]));
      const config = loadConfig(env);
      expect(config.store.kind).toBe('s3');
      expect(service.user).toBe('1000:1000');
      expect(service.read_only).toBe(true);
      const grace = seconds(gpu[name]?.stop_grace_period ?? service.stop_grace_period);
      expect(grace).toBeGreaterThanOrEqual(config.drainTimeoutMs / 1000 + SHUTDOWN_MARGIN_S);
    }
  });

  it('runs NATS with a user and password, the ones every mitosis service logs in with', () => {
    const command = (services['nats']?.command ?? []).map(withDefaults);
    const flag = (name: string): string | undefined => command[command.indexOf(name) + 1];
    expect([flag('--user'), flag('--pass')]).toEqual(['mitosis', 'mitosis-nats-secret']);
    // Both sides read the same variables, so an .env file changes them together.
    expect(services['nats']?.command).toEqual(expect.arrayContaining(['${MITOSIS_NATS_USER:-mitosis}', '${MITOSIS_NATS_PASSWORD:-mitosis-nats-secret}']));
    for (const [name, service] of Object.entries(services)) {
      if (service.build === undefined) continue;
      expect([name, service.environment?.['MITOSIS_NATS_USER'], service.environment?.['MITOSIS_NATS_PASSWORD']]).toEqual([
        name,
        '${MITOSIS_NATS_USER:-mitosis}',
        '${MITOSIS_NATS_PASSWORD:-mitosis-nats-secret}',
      ]);
      expect(loadConfig(Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, withDefaults(String(v))]))).natsCredentials).toEqual({
        kind: 'user-password',
        user: 'mitosis',
        password: 'mitosis-nats-secret',
      });
    }
  });

  it('switches m1, m2, m3 to the GPU Dockerfile, -gpu images and the tensorflow backend in compose.gpu.yaml', () => {
    expect(Object.keys(gpu).sort()).toEqual(['m1', 'm2', 'm3']);
    for (const [name, service] of Object.entries(gpu)) {
      expect(service.build?.dockerfile).toBe('deploy/docker/Dockerfile.gpu');
      expect(service.build?.target).toBe(name);
      expect(service.image).toBe(`mitosis/${name}:0.1.0-gpu`);
      expect(service.environment?.['MITOSIS_BACKEND']).toBe('tensorflow');
    }
  });
});
