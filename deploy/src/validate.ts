import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { K8sObject } from './yaml-files';
import { isRecord, objectId } from './yaml-files';

/** A model class of kubernetes-models: constructing it and calling validate() checks the schema. */
type ModelClass = new (data: never) => { validate(): void };

/**
 * The OpenAPI schemas (kubernetes-models, Kubernetes 1.30 API; @kubernetes-models/keda for
 * KEDA's CRD) of every kind the manifests use. A kind missing here is an error, not a pass.
 */
const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

/** Schema problems of one object (empty when it validates). */
export function schemaProblems(object: K8sObject): string[] {
  const model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (model === undefined) return [`${objectId(object)}: no schema known for ${object.apiVersion} ${object.kind}`];
  try {
    new model(forSchema(object) as never).validate();
    return [];
  } catch (error: unknown) {
    return [`${objectId(object)}: ${error instanceof Error ? error.message : String(error)}`];
  }
}

/**
 * kustomize wraps long Secret values at 70 characters; the API server's base64 decoder (Go's
 * encoding/json) skips the line breaks, the schema's "byte" pattern does not: check unwrapped.
 */
function forSchema(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' || !isRecord(object['data'])) return object;
  const data = Object.fromEntries(Object.entries(object['data']).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v]));
  return { ...object, data };
}

/** KEDA's nats-jetstream trigger metadata keys (keda.sh/docs/scalers/nats-jetstream). */
const NATS_JETSTREAM_KEYS = new Set(['natsServerMonitoringEndpoint', 'account', 'stream', 'consumer', 'lagThreshold', 'activationLagThreshold', 'useHttps']);

/**
 * What KEDA's admission and its nats-jetstream scaler need of a ScaledObject beyond the CRD
 * schema: trigger metadata is a map of strings (numbers quoted), the scaler's required keys,
 * integer thresholds, sensible replica bounds and a target that exists in the same render.
 */
export function scaledObjectProblems(object: K8sObject, all: readonly K8sObject[]): string[] {
  const id = objectId(object);
  const problems: string[] = [];
  if (object.apiVersion !== 'keda.sh/v1alpha1' || object.kind !== 'ScaledObject') return [`${id}: not a keda.sh/v1alpha1 ScaledObject`];
  const spec = object['spec'];
  if (!isRecord(spec)) return [`${id}: spec is missing`];
  const target = spec['scaleTargetRef'];
  if (!isRecord(target) || typeof target['name'] !== 'string') {
    problems.push(`${id}: spec.scaleTargetRef.name is missing`);
  } else {
    const kind = typeof target['kind'] === 'string' ? target['kind'] : 'Deployment';
    const found = all.some((o) => o.kind === kind && o.metadata.name === target['name'] && o.metadata.namespace === object.metadata.namespace);
    if (!found) problems.push(`${id}: scaleTargetRef ${kind}/${String(target['name'])} is not in the render`);
  }
  const integer = (field: string, min: number): number | undefined => {
    const value = spec[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) problems.push(`${id}: spec.${field} must be an integer >= ${min}`);
    return typeof value === 'number' ? value : undefined;
  };
  const min = integer('minReplicaCount', 0) ?? 0;
  const max = integer('maxReplicaCount', 1) ?? 100;
  if (min > max) problems.push(`${id}: minReplicaCount ${min} is above maxReplicaCount ${max}`);
  integer('pollingInterval', 1);
  integer('cooldownPeriod', 0);
  const triggers = spec['triggers'];
  if (!Array.isArray(triggers) || triggers.length === 0) return [...problems, `${id}: spec.triggers is empty`];
  for (const [index, trigger] of triggers.entries()) {
    const where = `${id}: triggers[${index}]`;
    if (!isRecord(trigger) || typeof trigger['type'] !== 'string') {
      problems.push(`${where}: type is missing`);
      continue;
    }
    const metadata = trigger['metadata'];
    if (!isRecord(metadata)) {
      problems.push(`${where}: metadata is missing`);
      continue;
    }
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') problems.push(`${where}: metadata.${key} must be a string (KEDA metadata is map[string]string), got ${typeof value}`);
    }
    if (trigger['type'] !== 'nats-jetstream') continue;
    for (const key of Object.keys(metadata)) if (!NATS_JETSTREAM_KEYS.has(key)) problems.push(`${where}: unknown nats-jetstream metadata "${key}"`);
    for (const key of ['natsServerMonitoringEndpoint', 'account', 'stream', 'consumer']) {
      if (typeof metadata[key] !== 'string' || metadata[key] === '') problems.push(`${where}: nats-jetstream needs metadata.${key}`);
    }
    const endpoint = metadata['natsServerMonitoringEndpoint'];
    if (typeof endpoint === 'string' && !/^[a-z0-9.-]+:\d{1,5}$/.test(endpoint)) problems.push(`${where}: natsServerMonitoringEndpoint "${endpoint}" is not host:port`);
    const threshold = (key: string, least: number): void => {
      const value = metadata[key];
      if (value === undefined) return;
      if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < least) problems.push(`${where}: ${key} must be a whole number >= ${least} in a string`);
    };
    threshold('lagThreshold', 1);
    threshold('activationLagThreshold', 0);
    if (metadata['useHttps'] !== undefined && !['true', 'false'].includes(String(metadata['useHttps']))) problems.push(`${where}: useHttps must be "true" or "false"`);
  }
  return problems;
}

/** Schema problems of every object, plus the ScaledObject checks. */
export function validateObjects(objects: readonly K8sObject[]): string[] {
  return objects.flatMap((object) => [...schemaProblems(object), ...(object.kind === 'ScaledObject' ? scaledObjectProblems(object, objects) : [])]);
}
