import type { Stage } from '@mitosis/events';
import { eventNames } from '@mitosis/events';
import type { ServiceConfig } from '@mitosis/service-kit';
import { loadConfig, parseHostPort } from '@mitosis/service-kit';
import { podSpecs, splitImage } from './pods';
import type { K8sObject } from './yaml-files';
import { isRecord, objectId } from './yaml-files';

/**
 * The deployment rules of issue 6, checked on a rendered overlay. Each returns plain messages
 * naming the object; an empty list means the render passes.
 */

export interface RenderFacts {
  /** Worker Deployment name -> stages it consumes (from apps/<name>/src/main.ts). */
  readonly workerStages: Readonly<Record<string, readonly Stage[]>>;
  /** Deployments that must scale with KEDA and, in a GPU overlay, hold a GPU. */
  readonly gpuWorkers: readonly string[];
  /** MITOSIS_* names the code reads. */
  readonly knownEnv: ReadonlySet<string>;
  /** Services the gateway reports in grpc.health.v1. */
  readonly gatewayHealthServices: ReadonlySet<string>;
  /** Services a stage worker reports in grpc.health.v1 ('' = ready, and its liveness service). */
  readonly workerHealthServices: ReadonlySet<string>;
}

export interface OverlayExpectations {
  /** Secrets the overlay expects the operator to create (not rendered). */
  readonly externalSecrets: readonly string[];
  /** Whether the GPU stages must request GPUs and run the GPU images. */
  readonly gpu: boolean;
}

type Obj = Record<string, unknown>;
const WORKLOADS = new Set(['Deployment', 'StatefulSet']);
const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;
/** Seconds the stop after the drain needs (nak, NATS drain, exit), on top of the drain timeout. */
export const SHUTDOWN_MARGIN_S = 10;
const DEFAULT_DRAIN_MS = 25_000;

function records(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function containersOf(object: K8sObject): Obj[] {
  return podSpecs(object).flatMap((pod) => records(pod['containers']));
}

/**
 * Probes, requests and limits, and a non-root, locked-down security context on every workload.
 * Every probe of a Deployment (the mitosis services) asks grpc.health.v1 (issue 6).
 */
export function workloadProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects.filter((o) => WORKLOADS.has(o.kind))) {
    const id = objectId(object);
    const pod = podSpecs(object)[0];
    if (pod === undefined) {
      problems.push(`${id}: no pod template`);
      continue;
    }
    const podContext = isRecord(pod['securityContext']) ? pod['securityContext'] : {};
    for (const container of records(pod['containers'])) {
      const where = `${id} container ${String(container['name'])}`;
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        if (!isRecord(container[probe])) problems.push(`${where}: no ${probe}`);
        else problems.push(...probePortProblems(container, container[probe] as Obj, `${where} ${probe}`));
      }
      if (object.kind === 'Deployment') {
        for (const probe of PROBES) {
          if (isRecord(container[probe]) && !isRecord(container[probe]['grpc'])) problems.push(`${where}: ${probe} is not a grpc probe (every service answers grpc.health.v1)`);
        }
      }
      const resources = isRecord(container['resources']) ? container['resources'] : {};
      for (const bound of ['requests', 'limits']) {
        const values = isRecord(resources[bound]) ? (resources[bound] as Obj) : {};
        for (const resource of ['cpu', 'memory']) if (values[resource] === undefined) problems.push(`${where}: no ${bound}.${resource}`);
      }
      const context = isRecord(container['securityContext']) ? container['securityContext'] : {};
      const effective = (key: string): unknown => context[key] ?? podContext[key];
      if (effective('runAsNonRoot') !== true) problems.push(`${where}: runAsNonRoot is not true`);
      const uid = effective('runAsUser');
      if (typeof uid !== 'number' || uid <= 0) problems.push(`${where}: runAsUser must be a non-zero uid (the kubelet can then check runAsNonRoot)`);
      if (context['allowPrivilegeEscalation'] !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
      if (context['readOnlyRootFilesystem'] !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
      const drop = isRecord(context['capabilities']) ? context['capabilities']['drop'] : undefined;
      if (!Array.isArray(drop) || !drop.includes('ALL')) problems.push(`${where}: capabilities.drop does not hold ALL`);
    }
  }
  return problems;
}

/** A probe's port is a number or the name of one of the container's ports. */
function probePortProblems(container: Obj, probe: Obj, where: string): string[] {
  const action = ['httpGet', 'grpc', 'tcpSocket'].map((k) => probe[k]).find(isRecord);
  if (action === undefined) return isRecord(probe['exec']) ? [] : [`${where}: no httpGet, grpc, tcpSocket or exec action`];
  const port = action['port'];
  if (typeof port === 'number') return [];
  const named = records(container['ports']).some((p) => p['name'] === port);
  return named ? [] : [`${where}: port "${String(port)}" is not a port of the container`];
}

export function containerPort(container: Obj, port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  const found = records(container['ports']).find((p) => p['name'] === port);
  return typeof found?.['containerPort'] === 'number' ? found['containerPort'] : undefined;
}

/** Every Deployment and StatefulSet is covered by a PodDisruptionBudget selecting its pods. */
export function disruptionBudgetProblems(objects: readonly K8sObject[]): string[] {
  const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  return objects
    .filter((o) => WORKLOADS.has(o.kind))
    .flatMap((object) => {
      const labels = (podSpecs(object).length > 0 ? dig(object, ['spec', 'template', 'metadata', 'labels']) : undefined) ?? {};
      const covered = budgets.some((budget) => {
        const match = dig(budget, ['spec', 'selector', 'matchLabels']);
        return (
          budget.metadata.namespace === object.metadata.namespace &&
          isRecord(match) &&
          Object.keys(match).length > 0 &&
          Object.entries(match).every(([k, v]) => isRecord(labels) && labels[k] === v)
        );
      });
      return covered ? [] : [`${objectId(object)}: no PodDisruptionBudget selects its pods`];
    });
}

function dig(value: unknown, keys: readonly string[]): unknown {
  let node = value;
  for (const key of keys) node = isRecord(node) ? node[key] : undefined;
  return node;
}

/** A ConfigMap's or Secret's values by key (Secret data base64-decoded); undefined when not rendered. */
function dataOf(objects: readonly K8sObject[], kind: 'ConfigMap' | 'Secret', name: string, namespace: string | undefined): Record<string, string> | undefined {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
  if (found === undefined) return undefined;
  const data = isRecord(found['data']) ? found['data'] : {};
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, kind === 'Secret' ? Buffer.from(String(v).replace(/\s/g, ''), 'base64').toString('utf8') : String(v)]));
}

/** What a container's environment resolves to; `external` lists variables whose Secret is not in the render. */
export interface ResolvedEnvironment {
  readonly env: Record<string, string>;
  readonly external: string[];
  readonly problems: string[];
}

export function resolveEnvironment(objects: readonly K8sObject[], owner: K8sObject, container: Obj, externalSecrets: readonly string[]): ResolvedEnvironment {
  const namespace = owner.metadata.namespace;
  const where = `${objectId(owner)} container ${String(container['name'])}`;
  const env: Record<string, string> = {};
  const external: string[] = [];
  const problems: string[] = [];
  const source = (kind: 'ConfigMap' | 'Secret', name: unknown, optional: boolean): Record<string, string> | undefined => {
    const data = dataOf(objects, kind, String(name), namespace);
    if (data === undefined && !optional && !(kind === 'Secret' && externalSecrets.includes(String(name)))) {
      problems.push(`${where}: ${kind} "${String(name)}" is neither rendered nor an expected external Secret`);
    }
    return data;
  };
  for (const from of records(container['envFrom'])) {
    const cm = from['configMapRef'];
    const secret = from['secretRef'];
    if (isRecord(cm)) Object.assign(env, source('ConfigMap', cm['name'], cm['optional'] === true) ?? {});
    if (isRecord(secret)) Object.assign(env, source('Secret', secret['name'], secret['optional'] === true) ?? {});
  }
  for (const variable of records(container['env'])) {
    const name = String(variable['name']);
    if (typeof variable['value'] === 'string') {
      env[name] = variable['value'];
      continue;
    }
    const from = isRecord(variable['valueFrom']) ? variable['valueFrom'] : {};
    for (const [field, kind] of [
      ['configMapKeyRef', 'ConfigMap'],
      ['secretKeyRef', 'Secret'],
    ] as const) {
      const ref = from[field];
      if (!isRecord(ref)) continue;
      const optional = ref['optional'] === true;
      const data = source(kind, ref['name'], optional);
      const key = String(ref['key']);
      if (data === undefined) {
        if (!optional) external.push(name);
      } else if (data[key] !== undefined) {
        env[name] = data[key];
      } else if (!optional) {
        problems.push(`${where}: ${name} reads key "${key}" that ${kind} "${String(ref['name'])}" does not hold`);
      }
    }
  }
  return { env, external, problems };
}

/** Placeholders for values that only the operator's Secret holds, so loadConfig can still check the rest. */
const EXTERNAL_PLACEHOLDERS: Readonly<Record<string, string>> = {
  MITOSIS_NATS_URL: 'nats://nats:4222',
  MITOSIS_NATS_USER: 'mitosis',
  MITOSIS_NATS_PASSWORD: 'placeholder',
  MITOSIS_STORE: 's3://key:secret@minio:9000/mitosis?ssl=false',
};

/**
 * The mitosis containers (those reading MITOSIS_* variables): known variable names, a
 * configuration service-kit's loadConfig accepts, probes on the ports the configuration
 * serves, a grace period covering the drain timeout, credentials consistent with MinIO's and
 * URLs pointing at rendered Services.
 */
export function serviceProblems(objects: readonly K8sObject[], facts: RenderFacts, expectations: OverlayExpectations): string[] {
  const problems: string[] = [];
  for (const object of objects.filter((o) => o.kind === 'Deployment')) {
    const pod = podSpecs(object)[0] ?? {};
    for (const container of records(pod['containers'])) {
      const where = `${objectId(object)} container ${String(container['name'])}`;
      const resolved = resolveEnvironment(objects, object, container, expectations.externalSecrets);
      problems.push(...resolved.problems);
      const names = Object.keys(resolved.env)
        .concat(resolved.external)
        .filter((n) => n.startsWith('MITOSIS_'));
      if (names.length === 0) continue;
      for (const name of names) if (!facts.knownEnv.has(name)) problems.push(`${where}: ${name} is not read by the services (libs/service-kit config.ts)`);
      const env: Record<string, string> = { ...resolved.env };
      for (const name of resolved.external) env[name] = EXTERNAL_PLACEHOLDERS[name] ?? '';
      let config: ServiceConfig;
      try {
        config = loadConfig(env);
      } catch (error: unknown) {
        problems.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      const drainMs = env['MITOSIS_DRAIN_TIMEOUT_MS'] === undefined ? DEFAULT_DRAIN_MS : Number(env['MITOSIS_DRAIN_TIMEOUT_MS']);
      const grace = typeof pod['terminationGracePeriodSeconds'] === 'number' ? pod['terminationGracePeriodSeconds'] : 30;
      if (grace < Math.ceil(drainMs / 1000) + SHUTDOWN_MARGIN_S) {
        problems.push(`${where}: terminationGracePeriodSeconds ${grace} is shorter than the drain timeout ${drainMs} ms + ${SHUTDOWN_MARGIN_S} s`);
      }
      problems.push(...probeTargetProblems(container, config, object.metadata.name in facts.workerStages, facts, where));
      problems.push(...urlProblems(objects, object, resolved.env, where));
    }
  }
  return problems;
}

/**
 * Each probe asks what the container serves: HTTP on MITOSIS_HEALTH_ADDR; gRPC health on
 * MITOSIS_HEALTH_GRPC_ADDR for a worker and on MITOSIS_GRPC_ADDR for the gateway, a service it
 * reports, on a port the container declares. Readiness asks '' (the whole server: NATS
 * connected), liveness a named service, which stays SERVING through a NATS outage.
 */
function probeTargetProblems(container: Obj, config: ServiceConfig, worker: boolean, facts: RenderFacts, where: string): string[] {
  const problems: string[] = [];
  for (const name of PROBES) {
    const probe = container[name];
    if (!isRecord(probe)) continue;
    if (isRecord(probe['httpGet'])) {
      if (config.healthAddr === undefined) {
        problems.push(`${where}: ${name} is HTTP but MITOSIS_HEALTH_ADDR is off`);
        continue;
      }
      const expected = parseHostPort(config.healthAddr).port;
      if (containerPort(container, probe['httpGet']['port']) !== expected) problems.push(`${where}: ${name} is not on the health port ${expected} (MITOSIS_HEALTH_ADDR)`);
      if (!['/livez', '/readyz', '/healthz'].includes(String(probe['httpGet']['path']))) problems.push(`${where}: ${name} path ${String(probe['httpGet']['path'])} is not served`);
    }
    if (isRecord(probe['grpc'])) {
      const variable = worker ? 'MITOSIS_HEALTH_GRPC_ADDR' : 'MITOSIS_GRPC_ADDR';
      const address = worker ? config.healthGrpcAddr : config.grpcAddr;
      if (address === undefined) {
        problems.push(`${where}: ${name} is gRPC but ${variable} is off`);
        continue;
      }
      const expected = parseHostPort(address).port;
      const port = probe['grpc']['port'];
      if (port !== expected) problems.push(`${where}: ${name} is not on the gRPC ${worker ? 'health ' : ''}port ${expected} (${variable})`);
      else if (!records(container['ports']).some((p) => p['containerPort'] === port)) problems.push(`${where}: ${name} port ${expected} is not a containerPort of the container`);
      const service = String(probe['grpc']['service'] ?? '');
      const known = worker ? facts.workerHealthServices : facts.gatewayHealthServices;
      if (!known.has(service)) problems.push(`${where}: ${name} asks health of unknown service "${service}" (known: ${[...known].map((s) => `"${s}"`).join(', ')})`);
      if (name === 'readinessProbe' && service !== '')
        problems.push(`${where}: readinessProbe asks "${service}", not "" (the server as a whole, NOT_SERVING without NATS or while draining)`);
      if (name === 'livenessProbe' && service === '') problems.push(`${where}: livenessProbe asks "", which is NOT_SERVING during a NATS outage: a restart would not fix that`);
    }
  }
  return problems;
}

function serviceHasPort(objects: readonly K8sObject[], name: string, namespace: string | undefined, port: number): boolean {
  const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === name && o.metadata.namespace === namespace);
  return records(dig(service, ['spec', 'ports'])).some((p) => p['port'] === port);
}

/** Rendered URLs: hosts are Services of the namespace on the right port, S3 keys are MinIO's root user. */
function urlProblems(objects: readonly K8sObject[], owner: K8sObject, env: Record<string, string>, where: string): string[] {
  const problems: string[] = [];
  const namespace = owner.metadata.namespace;
  const store = env['MITOSIS_STORE'];
  if (store !== undefined && store.startsWith('s3://')) {
    const url = new URL(store);
    if (!serviceHasPort(objects, url.hostname, namespace, Number(url.port || 443))) problems.push(`${where}: MITOSIS_STORE host ${url.host} is not a rendered Service port`);
    const minio = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === url.hostname && o.metadata.namespace === namespace);
    const minioContainer = minio === undefined ? undefined : containersOf(minio)[0];
    if (minio !== undefined && minioContainer !== undefined) {
      const root = resolveEnvironment(objects, minio, minioContainer, []).env;
      if (root['MINIO_ROOT_USER'] !== decodeURIComponent(url.username) || root['MINIO_ROOT_PASSWORD'] !== decodeURIComponent(url.password)) {
        problems.push(`${where}: MITOSIS_STORE credentials are not MinIO's MINIO_ROOT_USER/MINIO_ROOT_PASSWORD`);
      }
    }
  }
  for (const server of (env['MITOSIS_NATS_URL'] ?? '').split(',').filter((s) => s !== '')) {
    const url = new URL(server.trim());
    if (!serviceHasPort(objects, url.hostname, namespace, Number(url.port || 4222))) problems.push(`${where}: MITOSIS_NATS_URL host ${url.host} is not a rendered Service port`);
  }
  return problems;
}

/**
 * One ScaledObject per GPU stage worker, scaling it from zero on that worker's own durable
 * consumers of the work stream (and on nothing else), reading the NATS monitoring port of the
 * rendered NATS Service; no replicas field for KEDA to fight with. In a GPU overlay, each GPU
 * worker also holds a GPU, lands on GPU nodes, runs a -gpu image and insists on the tensorflow
 * backend.
 */
export function autoscalingProblems(objects: readonly K8sObject[], facts: RenderFacts, expectations: OverlayExpectations): string[] {
  const problems: string[] = [];
  const scaled = objects.filter((o) => o.kind === 'ScaledObject');
  const consumersSeen = new Map<string, string>();
  for (const worker of facts.gpuWorkers) {
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === worker);
    if (deployment === undefined) {
      problems.push(`Deployment ${worker}: missing`);
      continue;
    }
    const id = objectId(deployment);
    const namespace = deployment.metadata.namespace;
    if (dig(deployment, ['spec', 'replicas']) !== undefined) problems.push(`${id}: sets spec.replicas, which KEDA owns`);
    const mine = scaled.filter((s) => dig(s, ['spec', 'scaleTargetRef', 'name']) === worker && s.metadata.namespace === namespace);
    if (mine.length !== 1) {
      problems.push(`${id}: ${mine.length} ScaledObjects target it, expected exactly 1`);
      continue;
    }
    const scaledObject = mine[0] as K8sObject;
    const sid = objectId(scaledObject);
    if (dig(scaledObject, ['spec', 'minReplicaCount']) !== 0) problems.push(`${sid}: minReplicaCount is not 0 (no scale to zero)`);
    const container = containersOf(deployment)[0] ?? {};
    const env = resolveEnvironment(objects, deployment, container, expectations.externalSecrets).env;
    const names = eventNames(env['MITOSIS_PREFIX'] ?? 'mitosis');
    const expected = (facts.workerStages[worker] ?? []).map((stage) => names.stageConsumer(stage)).sort();
    const triggers = records(dig(scaledObject, ['spec', 'triggers']));
    const consumers: string[] = [];
    for (const [index, trigger] of triggers.entries()) {
      const metadata = isRecord(trigger['metadata']) ? trigger['metadata'] : {};
      if (trigger['type'] !== 'nats-jetstream') {
        problems.push(`${sid}: triggers[${index}] is ${String(trigger['type'])}, not nats-jetstream`);
        continue;
      }
      if (metadata['stream'] !== names.workStream) problems.push(`${sid}: triggers[${index}] reads stream ${String(metadata['stream'])}, not ${names.workStream}`);
      const endpoint = `nats.${namespace ?? 'default'}.svc.cluster.local:8222`;
      if (metadata['natsServerMonitoringEndpoint'] !== endpoint)
        problems.push(`${sid}: triggers[${index}] endpoint ${String(metadata['natsServerMonitoringEndpoint'])}, expected ${endpoint}`);
      if (!serviceHasPort(objects, 'nats', namespace, 8222)) problems.push(`${sid}: no Service nats with the monitoring port 8222 in ${namespace ?? 'default'}`);
      const consumer = String(metadata['consumer']);
      consumers.push(consumer);
      const other = consumersSeen.get(consumer);
      if (other !== undefined) problems.push(`${sid}: consumer ${consumer} is also scaled by ${other}`);
      consumersSeen.set(consumer, sid);
    }
    if (JSON.stringify(consumers.sort()) !== JSON.stringify(expected)) {
      problems.push(`${sid}: scales on consumers [${consumers.join(', ')}], but ${worker} consumes [${expected.join(', ')}]`);
    }
    if (expectations.gpu) problems.push(...gpuProblems(deployment, container, env));
  }
  for (const s of scaled) {
    const target = String(dig(s, ['spec', 'scaleTargetRef', 'name']));
    if (!facts.gpuWorkers.includes(target)) problems.push(`${objectId(s)}: scales ${target}, which is not a GPU stage worker`);
  }
  return problems;
}

function gpuProblems(deployment: K8sObject, container: Obj, env: Record<string, string>): string[] {
  const id = objectId(deployment);
  const problems: string[] = [];
  const limits = dig(container, ['resources', 'limits']);
  const requests = dig(container, ['resources', 'requests']);
  const gpus = isRecord(limits) ? Number(limits['nvidia.com/gpu']) : NaN;
  if (!(gpus >= 1)) problems.push(`${id}: no nvidia.com/gpu limit`);
  if (isRecord(requests) && requests['nvidia.com/gpu'] !== undefined && Number(requests['nvidia.com/gpu']) !== gpus) {
    problems.push(`${id}: nvidia.com/gpu request differs from its limit`);
  }
  const pod = podSpecs(deployment)[0] ?? {};
  if (!isRecord(pod['nodeSelector']) || Object.keys(pod['nodeSelector']).length === 0) problems.push(`${id}: no nodeSelector for GPU nodes`);
  if (!records(pod['tolerations']).some((t) => t['key'] === 'nvidia.com/gpu')) problems.push(`${id}: no toleration for the nvidia.com/gpu taint`);
  if (env['MITOSIS_BACKEND'] !== 'tensorflow') problems.push(`${id}: MITOSIS_BACKEND is not tensorflow (a GPU pod would silently train on the CPU)`);
  const image = typeof container['image'] === 'string' ? container['image'] : '';
  if (!splitImage(image).suffix.startsWith(':') || !splitImage(image).suffix.split('@')[0]?.endsWith('-gpu')) problems.push(`${id}: image ${image} is not a -gpu tag`);
  return problems;
}

/** Where a container's variable comes from; the last definition wins, as in the kubelet (env over envFrom). */
export type VariableSource =
  | { readonly from: 'secret'; readonly secret: string; readonly key: string }
  | { readonly from: 'configmap'; readonly configMap: string; readonly key: string }
  | { readonly from: 'value' };

export function variableSource(objects: readonly K8sObject[], owner: K8sObject, container: Obj, name: string): VariableSource | undefined {
  let source: VariableSource | undefined;
  for (const from of records(container['envFrom'])) {
    const prefix = typeof from['prefix'] === 'string' ? from['prefix'] : '';
    if (!name.startsWith(prefix)) continue;
    const key = name.slice(prefix.length);
    const secret = from['secretRef'];
    const cm = from['configMapRef'];
    if (isRecord(secret)) {
      const data = dataOf(objects, 'Secret', String(secret['name']), owner.metadata.namespace);
      // An external Secret's keys are unknown here: only a rendered one is known to hold the key.
      if (data?.[key] !== undefined) source = { from: 'secret', secret: String(secret['name']), key };
    }
    if (isRecord(cm) && dataOf(objects, 'ConfigMap', String(cm['name']), owner.metadata.namespace)?.[key] !== undefined) {
      source = { from: 'configmap', configMap: String(cm['name']), key };
    }
  }
  for (const variable of records(container['env'])) {
    if (variable['name'] !== name) continue;
    const valueFrom = isRecord(variable['valueFrom']) ? variable['valueFrom'] : {};
    const secretRef = valueFrom['secretKeyRef'];
    const cmRef = valueFrom['configMapKeyRef'];
    if (isRecord(secretRef)) source = { from: 'secret', secret: String(secretRef['name']), key: String(secretRef['key']) };
    else if (isRecord(cmRef)) source = { from: 'configmap', configMap: String(cmRef['name']), key: String(cmRef['key']) };
    else source = { from: 'value' };
  }
  return source;
}

function describeSource(source: VariableSource | undefined): string {
  if (source === undefined) return 'is not set';
  if (source.from === 'secret') return `is Secret ${source.secret} key ${source.key}`;
  return source.from === 'configmap' ? `comes from ConfigMap ${source.configMap}, not a Secret` : 'is a literal value in the manifest, not from a Secret';
}

const NATS_SERVER = 'nats';
const NATS_ENV_REFERENCE = /^\$([A-Za-z_][A-Za-z0-9_]*)$/;

/** What the rendered NATS server demands: its authorization block, and where each value comes from. */
interface NatsAuthorization {
  readonly id: string;
  readonly problems: string[];
  /** user and password as the server reads them, when it demands a user and password. */
  readonly user?: VariableSource;
  readonly password?: VariableSource;
}

function natsAuthorization(objects: readonly K8sObject[]): NatsAuthorization | undefined {
  const server = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === NATS_SERVER);
  const container = server === undefined ? undefined : containersOf(server)[0];
  if (server === undefined || container === undefined) return undefined;
  const id = objectId(server);
  const problems: string[] = [];
  const pod = podSpecs(server)[0] ?? {};
  const configMaps = records(pod['volumes'])
    .map((v) => v['configMap'])
    .filter(isRecord)
    .map((cm) => String(cm['name']));
  const config = configMaps.map((name) => dataOf(objects, 'ConfigMap', name, server.metadata.namespace)?.['nats.conf']).find((c) => c !== undefined);
  if (config === undefined) return { id, problems: [`${id}: no rendered ConfigMap holds its nats.conf`] };
  const block = /(?:^|\n)\s*authorization\s*[:=]?\s*\{([^}]*)\}/.exec(config)?.[1];
  if (block === undefined) return { id, problems: [`${id}: nats.conf has no authorization block: any pod reaching port 4222 uses NATS without credentials`] };
  const field = (key: string): string | undefined => new RegExp(`(?:^|\\n)\\s*${key}\\s*[:=]\\s*(\\S+)`).exec(block)?.[1];
  const user = field('user');
  const password = field('password') ?? field('pass');
  if (user === undefined || password === undefined)
    return { id, problems: [`${id}: nats.conf's authorization block has no user and password (the services log in with MITOSIS_NATS_USER/MITOSIS_NATS_PASSWORD)`] };
  const resolve = (what: string, value: string): VariableSource | undefined => {
    const variable = NATS_ENV_REFERENCE.exec(value)?.[1];
    if (variable === undefined) {
      problems.push(`${id}: nats.conf writes the ${what} itself; take it from the Secret through a $VARIABLE of the container's environment`);
      return undefined;
    }
    const source = variableSource(objects, server, container, variable);
    if (source?.from !== 'secret') problems.push(`${id}: ${variable} (the NATS ${what}) ${describeSource(source)}`);
    return source;
  };
  return { id, problems, user: resolve('user', user), password: resolve('password', password) };
}

/**
 * NATS demands credentials and every mitosis service presents them from a Secret: user and
 * password (the same Secret keys the NATS server reads), or a token, or a .creds file on a
 * Secret volume. A rendered password must also survive nats-server's parsing of `$VARIABLE`
 * values as config (digits first would read as a number).
 */
export function natsCredentialProblems(objects: readonly K8sObject[]): string[] {
  const server = natsAuthorization(objects);
  const problems: string[] = [...(server?.problems ?? [])];
  for (const object of objects.filter((o) => o.kind === 'Deployment')) {
    for (const container of records(podSpecs(object)[0]?.['containers'])) {
      // The mitosis containers: those reading MITOSIS_* variables (as in serviceProblems).
      const resolved = resolveEnvironment(objects, object, container, []);
      if (
        !Object.keys(resolved.env)
          .concat(resolved.external)
          .some((n) => n.startsWith('MITOSIS_'))
      )
        continue;
      const where = `${objectId(object)} container ${String(container['name'])}`;
      const source = (name: string): VariableSource | undefined => variableSource(objects, object, container, name);
      const user = source('MITOSIS_NATS_USER');
      const password = source('MITOSIS_NATS_PASSWORD');
      const token = source('MITOSIS_NATS_TOKEN');
      const creds = source('MITOSIS_NATS_CREDS');
      if (user === undefined && password === undefined && token === undefined && creds === undefined) {
        problems.push(
          `${where}: no NATS credentials from a Secret (MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD by secretKeyRef, or MITOSIS_NATS_TOKEN, or MITOSIS_NATS_CREDS on a Secret volume)`,
        );
        continue;
      }
      for (const [name, found] of [
        ['MITOSIS_NATS_USER', user],
        ['MITOSIS_NATS_PASSWORD', password],
        ['MITOSIS_NATS_TOKEN', token],
      ] as const) {
        if (found !== undefined && found.from !== 'secret') problems.push(`${where}: ${name} ${describeSource(found)}`);
      }
      if ((user === undefined) !== (password === undefined)) problems.push(`${where}: MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD go together`);
      if (creds !== undefined) problems.push(...credsFileProblems(objects, object, container, where));
      if (server?.user !== undefined && server.password !== undefined) {
        for (const [name, mine, theirs] of [
          ['MITOSIS_NATS_USER', user, server.user],
          ['MITOSIS_NATS_PASSWORD', password, server.password],
        ] as const) {
          // A source that is not a Secret is reported above already.
          if (mine?.from === 'secret' && JSON.stringify(mine) !== JSON.stringify(theirs))
            problems.push(
              `${where}: ${name} ${describeSource(mine)}, but NATS (${server.id}) reads its ${name === 'MITOSIS_NATS_USER' ? 'user' : 'password'} from ${describeSource(theirs).replace(/^is /, '')}`,
            );
        }
      }
    }
  }
  if (server?.password?.from === 'secret') {
    const namespace = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === NATS_SERVER)?.metadata.namespace;
    const value = dataOf(objects, 'Secret', server.password.secret, namespace)?.[server.password.key];
    // nats-server parses a $VARIABLE's value as config: "123" or "3e5" is a number and the server does not start.
    if (value !== undefined && !/^[A-Za-z][^\s"'#;,{}[\]]*$/.test(value)) {
      problems.push(
        `Secret ${server.password.secret} key ${server.password.key}: a NATS password must start with a letter and hold no white space, quotes or #;,{}[] (nats-server parses it as config)`,
      );
    }
  }
  return problems;
}

/** MITOSIS_NATS_CREDS must point into a mounted Secret volume. */
function credsFileProblems(objects: readonly K8sObject[], owner: K8sObject, container: Obj, where: string): string[] {
  const value = resolveEnvironment(objects, owner, container, []).env['MITOSIS_NATS_CREDS'];
  const volumes = records(podSpecs(owner)[0]?.['volumes']);
  const mounted = records(container['volumeMounts']).find((m) => value !== undefined && value.startsWith(`${String(m['mountPath']).replace(/\/$/, '')}/`));
  const volume = volumes.find((v) => v['name'] === mounted?.['name']);
  return volume !== undefined && isRecord(volume['secret']) ? [] : [`${where}: MITOSIS_NATS_CREDS is not a file on a mounted Secret volume`];
}

/** Every rule at once. */
export function renderProblems(objects: readonly K8sObject[], facts: RenderFacts, expectations: OverlayExpectations): string[] {
  return [
    ...workloadProblems(objects),
    ...disruptionBudgetProblems(objects),
    ...serviceProblems(objects, facts, expectations),
    ...natsCredentialProblems(objects),
    ...autoscalingProblems(objects, facts, expectations),
  ];
}
