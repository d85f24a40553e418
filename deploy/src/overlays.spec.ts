import { eventNames } from '@mitosis/events';
import { autoscalingProblems, disruptionBudgetProblems, natsCredentialProblems, renderProblems, serviceProblems, workloadProblems } from './checks';
import { podSpecs } from './pods';
import { OVERLAYS, checkOverlay, repoFacts } from './overlays';
import { workerStages } from './repo-facts';
import type { K8sObject } from './yaml-files';
import { deepClone } from './yaml-files';

const facts = repoFacts();
const rendered = Object.fromEntries(Object.keys(OVERLAYS).map((name) => [name, checkOverlay(name, facts)]));

function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`${kind}/${name} not rendered`);
  return found;
}

type Container = Record<string, unknown> & { resources: { limits: Record<string, string> } };
function container(object: K8sObject): Container {
  return (podSpecs(object)[0]?.['containers'] as Container[])[0] as Container;
}

describe.each(Object.keys(OVERLAYS))('overlay %s', (name) => {
  const { objects, problems } = rendered[name] as { objects: K8sObject[]; problems: string[] };

  it('renders objects that all validate against the Kubernetes and KEDA schemas and every rule', () => {
    expect(problems).toEqual([]);
    expect(
      objects
        .filter((o) => o.kind === 'Deployment')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['gateway', 'ingest', 'm1', 'm2', 'm3']);
  });

  it('gives each GPU stage its own ScaledObject on its own durable consumers of the work stream', () => {
    const stages = workerStages();
    const names = eventNames('mitosis');
    const scaled = objects.filter((o) => o.kind === 'ScaledObject');
    expect(scaled.map((s) => (s['spec'] as { scaleTargetRef: { name: string } }).scaleTargetRef.name).sort()).toEqual(['m1', 'm2', 'm3']);
    for (const s of scaled) {
      const spec = s['spec'] as { scaleTargetRef: { name: string }; minReplicaCount: number; triggers: { type: string; metadata: Record<string, string> }[] };
      expect(spec.minReplicaCount).toBe(0);
      expect(spec.triggers.every((t) => t.type === 'nats-jetstream' && t.metadata['stream'] === 'mitosis_WORK')).toBe(true);
      const consumers = spec.triggers.map((t) => t.metadata['consumer']).sort();
      expect(consumers).toEqual((stages[spec.scaleTargetRef.name] ?? []).map((stage) => names.stageConsumer(stage)).sort());
    }
    expect(stages['m3']).toEqual(['m3-train', 'm3-detect']);
  });

  it('gives every Deployment gRPC health probes, limits and a non-root context', () => {
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      const c = container(deployment);
      const worker = deployment.metadata.name !== 'gateway';
      const port = worker ? 8081 : 50051;
      expect(c['readinessProbe']).toMatchObject({ grpc: { port } });
      expect((c['readinessProbe'] as { grpc: { service?: string } }).grpc.service ?? '').toBe('');
      expect(c['livenessProbe']).toMatchObject({ grpc: { port, service: worker ? 'mitosis.worker.Liveness' : 'mitosis.v1.JobService' } });
      expect(c['ports']).toEqual(expect.arrayContaining([expect.objectContaining({ containerPort: port })]));
      expect(Object.keys(c.resources.limits)).toEqual(expect.arrayContaining(['cpu', 'memory']));
      expect(podSpecs(deployment)[0]?.['securityContext']).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    }
  });
});

describe('gpu-prod specifics', () => {
  const { objects } = rendered['gpu-prod'] as { objects: K8sObject[] };
  it('puts m1, m2, m3 on a GPU each with the GPU images; the other services stay on CPU images', () => {
    for (const worker of ['m1', 'm2', 'm3']) {
      const deployment = find(objects, 'Deployment', worker);
      expect(container(deployment).resources.limits['nvidia.com/gpu']).toBe('1');
      expect(container(deployment)['image']).toBe(`registry.example.com/mitosis/${worker}:0.1.0-gpu`);
      expect(podSpecs(deployment)[0]?.['terminationGracePeriodSeconds']).toBe(135);
    }
    expect(container(find(objects, 'Deployment', 'ingest')).resources.limits['nvidia.com/gpu']).toBeUndefined();
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
  });
});

/** Each rule must catch a broken render: change one thing in the dev render, expect its message. */
describe('the rules catch broken manifests', () => {
  const base = (rendered['dev'] as { objects: K8sObject[] }).objects;
  const dev = OVERLAYS['dev'] ?? { externalSecrets: [], gpu: false };
  const mutate = (change: (objects: K8sObject[]) => void): K8sObject[] => {
    const copy = deepClone(base);
    change(copy);
    return copy;
  };

  it('a missing probe, limit or non-root setting', () => {
    const objects = mutate((o) => {
      const c = container(find(o, 'Deployment', 'm2'));
      delete c['livenessProbe'];
      delete c.resources.limits['memory'];
      (podSpecs(find(o, 'Deployment', 'm2'))[0] as Record<string, Record<string, unknown>>)['securityContext'] = { runAsUser: 0 };
    });
    expect(workloadProblems(objects)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/Deployment\/mitosis-dev\/m2 container worker: no livenessProbe/),
        expect.stringMatching(/m2 container worker: no limits.memory/),
        expect.stringMatching(/m2 container worker: runAsNonRoot is not true/),
        expect.stringMatching(/m2 container worker: runAsUser must be a non-zero uid/),
      ]),
    );
  });

  it('a probe that is not gRPC health, or asks the wrong port or service', () => {
    type Probe = { grpc?: { port: number; service?: string }; httpGet?: { path: string; port: string } };
    const probe = (o: K8sObject[], name: string, which: string): Probe => container(find(o, 'Deployment', name))[which] as Probe;
    const objects = mutate((o) => {
      const m1 = container(find(o, 'Deployment', 'm1'));
      m1['livenessProbe'] = { httpGet: { path: '/livez', port: 'health' } };
      probe(o, 'm2', 'readinessProbe').grpc = { port: 50051 };
      probe(o, 'm3', 'readinessProbe').grpc = { port: 8081, service: 'mitosis.worker.Liveness' };
      probe(o, 'm3', 'livenessProbe').grpc = { port: 8081, service: 'mitosis.v1.JobService' };
      probe(o, 'ingest', 'livenessProbe').grpc = { port: 8081 };
      (container(find(o, 'Deployment', 'ingest'))['ports'] as unknown[]).splice(1, 1);
    });
    expect(workloadProblems(objects)).toEqual(['Deployment/mitosis-dev/m1 container worker: livenessProbe is not a grpc probe (every service answers grpc.health.v1)']);
    expect(serviceProblems(objects, facts, dev)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/m2 container worker: readinessProbe is not on the gRPC health port 8081 \(MITOSIS_HEALTH_GRPC_ADDR\)/),
        expect.stringMatching(/m3 container worker: readinessProbe asks "mitosis.worker.Liveness", not ""/),
        expect.stringMatching(/m3 container worker: livenessProbe asks health of unknown service "mitosis.v1.JobService"/),
        expect.stringMatching(/ingest container worker: livenessProbe asks "", which is NOT_SERVING during a NATS outage/),
        expect.stringMatching(/ingest container worker: readinessProbe port 8081 is not a containerPort of the container/),
      ]),
    );
    const off = mutate((o) => {
      const configMap = o.find((x) => x.kind === 'ConfigMap' && x.metadata.name.startsWith('mitosis-config')) as K8sObject;
      (configMap['data'] as Record<string, string>)['MITOSIS_HEALTH_GRPC_ADDR'] = 'off';
    });
    expect(serviceProblems(off, facts, dev)).toEqual(
      expect.arrayContaining([expect.stringMatching(/m1 container worker: readinessProbe is gRPC but MITOSIS_HEALTH_GRPC_ADDR is off/)]),
    );
  });

  it('a ScaledObject on another stage consumer, or none', () => {
    const swapped = mutate((o) => {
      const spec = find(o, 'ScaledObject', 'm1')['spec'] as { triggers: { metadata: Record<string, string> }[] };
      (spec.triggers[0] as { metadata: Record<string, string> }).metadata['consumer'] = 'mitosis_m2';
    });
    expect(autoscalingProblems(swapped, facts, dev)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/ScaledObject\/mitosis-dev\/m1: scales on consumers \[mitosis_m2\], but m1 consumes \[mitosis_m1\]/),
        expect.stringMatching(/consumer mitosis_m2 is also scaled/),
      ]),
    );
    const missing = mutate((o) => o.splice(o.indexOf(find(o, 'ScaledObject', 'm3')), 1));
    expect(autoscalingProblems(missing, facts, dev)).toEqual([expect.stringMatching(/Deployment\/mitosis-dev\/m3: 0 ScaledObjects target it/)]);
  });

  it('a Deployment without its PodDisruptionBudget', () => {
    const objects = mutate((o) => o.splice(o.indexOf(find(o, 'PodDisruptionBudget', 'ingest')), 1));
    expect(disruptionBudgetProblems(objects)).toEqual(['Deployment/mitosis-dev/ingest: no PodDisruptionBudget selects its pods']);
  });

  it('a grace period shorter than the drain, a misspelt variable, a wrong probe port, credentials MinIO does not know', () => {
    const objects = mutate((o) => {
      (podSpecs(find(o, 'Deployment', 'm1'))[0] as Record<string, unknown>)['terminationGracePeriodSeconds'] = 20;
      (container(find(o, 'Deployment', 'ingest'))['env'] as unknown[]).push({ name: 'MITOSIS_DRAIN_TIMEOUT', value: '1' });
      ((container(find(o, 'Deployment', 'gateway'))['readinessProbe'] as Record<string, Record<string, number>>)['grpc'] as Record<string, number>)['port'] = 50052;
      const secret = o.find((x) => x.kind === 'Secret') as K8sObject;
      (secret['data'] as Record<string, string>)['MINIO_ROOT_PASSWORD'] = Buffer.from('other').toString('base64');
    });
    expect(serviceProblems(objects, facts, dev)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/m1 container worker: terminationGracePeriodSeconds 20 is shorter than the drain timeout 25000 ms \+ 10 s/),
        expect.stringMatching(/ingest container worker: MITOSIS_DRAIN_TIMEOUT is not read by the services/),
        expect.stringMatching(/gateway container gateway: readinessProbe is not on the gRPC port 50051/),
        expect.stringMatching(/MITOSIS_STORE credentials are not MinIO's/),
      ]),
    );
  });

  it('a service without NATS credentials from a Secret, or with other ones than the NATS server reads', () => {
    type Env = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
    const env = (o: K8sObject[], name: string): Env => container(find(o, 'Deployment', name))['env'] as Env;
    const objects = mutate((o) => {
      const m2 = env(o, 'm2');
      m2.splice(0, m2.length, ...m2.filter((v) => !v.name.startsWith('MITOSIS_NATS_USER') && !v.name.startsWith('MITOSIS_NATS_PASSWORD')));
      const ingest = env(o, 'ingest').find((v) => v.name === 'MITOSIS_NATS_PASSWORD') as Env[number];
      delete ingest.valueFrom;
      ingest.value = 'in-the-manifest';
      const gateway = env(o, 'gateway').find((v) => v.name === 'MITOSIS_NATS_USER') as Env[number];
      (gateway.valueFrom as { secretKeyRef: { key: string } }).secretKeyRef.key = 'MINIO_ROOT_USER';
    });
    // The generated Secret's name carries kustomize's content hash.
    const secret = (base.find((x) => x.kind === 'Secret') as K8sObject).metadata.name;
    expect(natsCredentialProblems(objects)).toEqual([
      `Deployment/mitosis-dev/gateway container gateway: MITOSIS_NATS_USER is Secret ${secret} key MINIO_ROOT_USER, but NATS (StatefulSet/mitosis-dev/nats) reads its user from Secret ${secret} key MITOSIS_NATS_USER`,
      'Deployment/mitosis-dev/ingest container worker: MITOSIS_NATS_PASSWORD is a literal value in the manifest, not from a Secret',
      'Deployment/mitosis-dev/m2 container worker: no NATS credentials from a Secret (MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD by secretKeyRef, or MITOSIS_NATS_TOKEN, or MITOSIS_NATS_CREDS on a Secret volume)',
    ]);
    // The whole render reports them too (and loadConfig still accepts the literal password).
    expect(renderProblems(objects, facts, dev)).toEqual(expect.arrayContaining([expect.stringMatching(/m2 container worker: no NATS credentials from a Secret/)]));
  });

  it('a NATS server without authorization, or whose password it would parse as a number', () => {
    const open = mutate((o) => {
      const config = find(o, 'ConfigMap', 'nats-config')['data'] as Record<string, string>;
      config['nats.conf'] = (config['nats.conf'] ?? '').replace(/authorization \{[^}]*\}/, '');
    });
    expect(natsCredentialProblems(open)).toEqual(['StatefulSet/mitosis-dev/nats: nats.conf has no authorization block: any pod reaching port 4222 uses NATS without credentials']);
    const numeric = mutate((o) => {
      const secret = o.find((x) => x.kind === 'Secret') as K8sObject;
      (secret['data'] as Record<string, string>)['MITOSIS_NATS_PASSWORD'] = Buffer.from('123456').toString('base64');
    });
    expect(natsCredentialProblems(numeric)).toEqual([expect.stringMatching(/^Secret mitosis-credentials-\w+ key MITOSIS_NATS_PASSWORD: a NATS password must start with a letter/)]);
    const literal = mutate((o) => {
      const config = find(o, 'ConfigMap', 'nats-config')['data'] as Record<string, string>;
      config['nats.conf'] = (config['nats.conf'] ?? '').replace('$MITOSIS_NATS_PASSWORD', 'hunter2');
    });
    expect(natsCredentialProblems(literal)).toEqual(
      expect.arrayContaining(["StatefulSet/mitosis-dev/nats: nats.conf writes the password itself; take it from the Secret through a $VARIABLE of the container's environment"]),
    );
  });

  it('keeps the KEDA scalers on the NATS monitoring port, which has no authentication', () => {
    const config = (find(base, 'ConfigMap', 'nats-config')['data'] as Record<string, string>)['nats.conf'] ?? '';
    expect(config).toMatch(/\nhttp_port: 8222\n/);
    expect(config).toMatch(/authorization \{\s*user: \$MITOSIS_NATS_USER\s*password: \$MITOSIS_NATS_PASSWORD\s*\}/);
    const moved = mutate((o) => {
      const spec = find(o, 'ScaledObject', 'm2')['spec'] as { triggers: { metadata: Record<string, string> }[] };
      (spec.triggers[0] as { metadata: Record<string, string> }).metadata['natsServerMonitoringEndpoint'] = 'nats.mitosis-dev.svc.cluster.local:4222';
    });
    expect(autoscalingProblems(moved, facts, dev)).toEqual([
      expect.stringMatching(/ScaledObject\/mitosis-dev\/m2: triggers\[0\] endpoint nats.mitosis-dev.svc.cluster.local:4222, expected nats.mitosis-dev.svc.cluster.local:8222/),
    ]);
  });

  it('a GPU overlay whose GPU stage has no GPU or the CPU image', () => {
    const prod = (rendered['gpu-prod'] as { objects: K8sObject[] }).objects;
    const objects = deepClone(prod);
    const c = container(find(objects, 'Deployment', 'm2'));
    delete c.resources.limits['nvidia.com/gpu'];
    c['image'] = 'registry.example.com/mitosis/m2:0.1.0';
    expect(renderProblems(objects, facts, OVERLAYS['gpu-prod'] ?? dev)).toEqual(
      expect.arrayContaining([expect.stringMatching(/m2: no nvidia.com\/gpu limit/), expect.stringMatching(/m2: image .* is not a -gpu tag/)]),
    );
  });
});
