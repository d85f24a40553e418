import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError, NotFoundError } from '@mitosis/core';
import type { K8sObject } from '../yaml-files';
import { asK8sObject, deepClone, isRecord, objectId, parseYamlDocuments, readText, readYamlDocuments } from '../yaml-files';
import { applyJsonPatch, parseJsonPatch } from './json-patch';
import { nameHash } from './name-hash';
import { strategicMerge } from './strategic-merge';

/**
 * A small kustomize (v5 semantics) for the manifests under deploy/k8s, so that CI renders and
 * checks them with no kubectl or kustomize binary. It covers what those manifests use and refuses
 * anything else by name: `resources` (files and nested kustomization folders), `namespace`,
 * `images`, `patches` (strategic merge or JSON6902, with or without `target`),
 * `configMapGenerator` / `secretGenerator` (literals and env files; behaviors create, merge,
 * replace; content hash suffix with references rewritten). Transformers run in kustomize's
 * order: patches, namespace, images; generated names get their hash at the end of the build.
 * deploy/src/kustomize/kubectl.spec.ts compares the output with `kubectl kustomize` when one is
 * installed.
 */

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches', 'configMapGenerator', 'secretGenerator']);
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** Kinds that have no namespace (kustomize's namespace transformer leaves them alone). */
const CLUSTER_SCOPED = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding',
  'PriorityClass', 'RuntimeClass', 'IngressClass', 'APIService', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
  'CSIDriver', 'CSINode', 'VolumeAttachment', 'ClusterIssuer', 'ClusterTriggerAuthentication',
]);

/** kustomize's legacy output order (kinds first in this list, the rest by group/version/kind). */
const KIND_ORDER = [
  'Namespace', 'ResourceQuota', 'StorageClass', 'CustomResourceDefinition', 'ServiceAccount', 'PodSecurityPolicy', 'Role',
  'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Endpoints', 'Service', 'LimitRange',
  'PriorityClass', 'PersistentVolume', 'PersistentVolumeClaim', 'Deployment', 'StatefulSet', 'CronJob', 'PodDisruptionBudget',
];
const KIND_LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

interface Resource {
  object: K8sObject;
  /** Set for generated ConfigMaps/Secrets: their name before the hash suffix. */
  generated?: { readonly baseName: string };
}

/** Renders the kustomization in `dir` (a folder holding kustomization.yaml). */
export function renderKustomization(dir: string): K8sObject[] {
  const resources = build(path.resolve(dir), []);
  applyNameHashes(resources);
  return sortResources(resources.map((r) => r.object));
}

function build(dir: string, stack: readonly string[]): Resource[] {
  if (stack.includes(dir)) throw new InvalidInputError(`kustomization cycle: ${[...stack, dir].join(' -> ')}`);
  const file = KUSTOMIZATION_FILES.map((name) => path.join(dir, name)).find((candidate) => existsSync(candidate));
  if (file === undefined) throw new NotFoundError(`${dir}: no kustomization.yaml`);
  const [spec, ...rest] = readYamlDocuments(file);
  if (!isRecord(spec) || rest.length > 0) throw new InvalidInputError(`${file}: a kustomization is one YAML mapping`);
  for (const field of Object.keys(spec)) {
    if (!SUPPORTED_FIELDS.has(field)) throw new InvalidInputError(`${file}: field "${field}" is not supported by this renderer`);
  }

  let resources: Resource[] = [];
  for (const entry of list(spec['resources'], 'resources', file)) {
    if (typeof entry !== 'string') throw new InvalidInputError(`${file}: resources entries are paths`);
    const target = path.resolve(dir, entry);
    if (!existsSync(target)) throw new NotFoundError(`${file}: resource "${entry}" does not exist`);
    if (statSync(target).isDirectory()) {
      resources.push(...build(target, [...stack, dir]));
    } else {
      resources.push(...readYamlDocuments(target).map((doc) => ({ object: asK8sObject(doc, target) })));
    }
  }
  checkUnique(resources, file);

  for (const generator of list(spec['configMapGenerator'], 'configMapGenerator', file)) {
    resources = generate(resources, generator, 'ConfigMap', dir, file);
  }
  for (const generator of list(spec['secretGenerator'], 'secretGenerator', file)) {
    resources = generate(resources, generator, 'Secret', dir, file);
  }
  for (const [index, patch] of list(spec['patches'], 'patches', file).entries()) {
    applyPatch(resources, patch, dir, `${file}: patches[${index}]`);
  }
  if (spec['namespace'] !== undefined) {
    if (typeof spec['namespace'] !== 'string' || spec['namespace'] === '') throw new InvalidInputError(`${file}: namespace must be a name`);
    for (const { object } of resources) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = spec['namespace'];
  }
  for (const image of list(spec['images'], 'images', file)) applyImage(resources, image, file);
  return resources;
}

function list(value: unknown, field: string, file: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidInputError(`${file}: ${field} must be a list`);
  return value;
}

function checkUnique(resources: readonly Resource[], file: string): void {
  const seen = new Set<string>();
  for (const { object } of resources) {
    const id = `${object.apiVersion} ${objectId(object)}`;
    if (seen.has(id)) throw new InvalidInputError(`${file}: ${objectId(object)} is defined twice`);
    seen.add(id);
  }
}

// ---- generators ---------------------------------------------------------------------------

function generate(resources: Resource[], spec: unknown, kind: 'ConfigMap' | 'Secret', dir: string, file: string): Resource[] {
  const field = kind === 'ConfigMap' ? 'configMapGenerator' : 'secretGenerator';
  if (!isRecord(spec) || typeof spec['name'] !== 'string') throw new InvalidInputError(`${file}: ${field} entries need a name`);
  const name = spec['name'];
  const where = `${file}: ${field} "${name}"`;
  for (const key of Object.keys(spec)) {
    if (!['name', 'behavior', 'literals', 'envs', 'type'].includes(key) || (key === 'type' && kind !== 'Secret')) {
      throw new InvalidInputError(`${where}: field "${key}" is not supported by this renderer`);
    }
  }
  const pairs: [string, string][] = [];
  for (const literal of list(spec['literals'], 'literals', where)) {
    if (typeof literal !== 'string') throw new InvalidInputError(`${where}: literals are KEY=VALUE strings`);
    pairs.push(splitPair(literal, `${where}: literal "${literal}"`));
  }
  for (const envFile of list(spec['envs'], 'envs', where)) {
    if (typeof envFile !== 'string') throw new InvalidInputError(`${where}: envs are file paths`);
    const envPath = path.resolve(dir, envFile);
    for (const [index, line] of readText(envPath).split(/\r?\n/).entries()) {
      const text = line.trim();
      if (text === '' || text.startsWith('#')) continue;
      pairs.push(splitPair(text, `${envPath}:${index + 1}`));
    }
  }
  const data: Record<string, string> = {};
  for (const [key, value] of pairs) {
    if (!/^[-._a-zA-Z0-9]+$/.test(key)) throw new InvalidInputError(`${where}: "${key}" is not a valid ${kind} key`);
    if (key in data) throw new InvalidInputError(`${where}: key "${key}" is given twice`);
    data[key] = kind === 'Secret' ? secretBase64(value) : value;
  }
  const behavior = spec['behavior'] ?? 'create';
  const existing = resources.find((r) => r.object.kind === kind && (r.generated?.baseName ?? r.object.metadata.name) === name);
  if (behavior === 'create') {
    if (existing !== undefined) throw new InvalidInputError(`${where}: ${kind} "${name}" exists already (use behavior: merge or replace)`);
    const object: K8sObject = { apiVersion: 'v1', kind, metadata: { name }, data };
    if (kind === 'Secret') object['type'] = typeof spec['type'] === 'string' ? spec['type'] : 'Opaque';
    return [...resources, { object, generated: { baseName: name } }];
  }
  if (behavior !== 'merge' && behavior !== 'replace') throw new InvalidInputError(`${where}: behavior "${String(behavior)}" is not create, merge or replace`);
  if (existing === undefined) throw new InvalidInputError(`${where}: behavior ${behavior} needs an existing ${kind} "${name}"`);
  const previous = isRecord(existing.object['data']) ? (existing.object['data'] as Record<string, string>) : {};
  existing.object['data'] = behavior === 'merge' ? { ...previous, ...data } : data;
  existing.generated ??= { baseName: name };
  return resources;
}

/** Base64 as kustomize writes Secret data: lines of 70 characters (kyaml encodeBase64), a final newline when wrapped. */
export function secretBase64(value: string): string {
  const encoded = Buffer.from(value, 'utf8').toString('base64');
  if (encoded.length <= 70) return encoded;
  return `${encoded.match(/.{1,70}/g)?.join('\n') ?? encoded}\n`;
}

function splitPair(text: string, where: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidInputError(`${where}: expected KEY=VALUE`);
  return [text.slice(0, at), text.slice(at + 1)];
}

// ---- patches ------------------------------------------------------------------------------

interface Target {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

function applyPatch(resources: Resource[], spec: unknown, dir: string, where: string): void {
  if (!isRecord(spec)) throw new InvalidInputError(`${where}: a patch is a mapping with path or patch`);
  for (const key of Object.keys(spec)) {
    if (!['path', 'patch', 'target'].includes(key)) throw new InvalidInputError(`${where}: field "${key}" is not supported by this renderer`);
  }
  const hasPath = typeof spec['path'] === 'string';
  const hasInline = typeof spec['patch'] === 'string';
  if (hasPath === hasInline) throw new InvalidInputError(`${where}: give exactly one of path and patch`);
  const source = hasPath ? path.resolve(dir, spec['path'] as string) : where;
  const documents = parseYamlDocuments(hasPath ? readText(source) : (spec['patch'] as string), source);
  const target = spec['target'] === undefined ? undefined : parseTarget(spec['target'], where);

  if (documents.length === 1 && Array.isArray(documents[0])) {
    if (target === undefined) throw new InvalidInputError(`${where}: a JSON6902 patch needs a target`);
    const operations = parseJsonPatch(documents[0], source);
    const matched = select(resources, target, where);
    for (const resource of matched) {
      const name = resource.object.metadata.name;
      const namespace = resource.object.metadata.namespace;
      resource.object = applyJsonPatch(resource.object, operations, `${source} on ${objectId(resource.object)}`);
      resource.object.metadata.name = name;
      if (namespace !== undefined) resource.object.metadata.namespace = namespace;
    }
    return;
  }
  for (const document of documents) {
    const patch = asK8sObject(document, source);
    const matched =
      target !== undefined
        ? select(resources, target, where)
        : select(resources, { kind: patch.kind, name: exact(patch.metadata.name), ...(patch.metadata.namespace ? { namespace: exact(patch.metadata.namespace) } : {}) }, where);
    for (const resource of matched) {
      const name = resource.object.metadata.name;
      const namespace = resource.object.metadata.namespace;
      // With a target the patch's own name and namespace only fill the schema.
      const body = deepClone(patch) as K8sObject;
      body.metadata = { ...body.metadata, name };
      if (namespace === undefined) delete body.metadata.namespace;
      else body.metadata.namespace = namespace;
      resource.object = strategicMerge(resource.object, body, { kind: resource.object.kind, apiVersion: resource.object.apiVersion, source });
    }
  }
}

function exact(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function parseTarget(value: unknown, where: string): Target {
  if (!isRecord(value)) throw new InvalidInputError(`${where}: target must be a mapping`);
  const target: Target = {};
  for (const [key, field] of Object.entries(value)) {
    if (!['group', 'version', 'kind', 'name', 'namespace'].includes(key)) throw new InvalidInputError(`${where}: target field "${key}" is not supported by this renderer`);
    if (typeof field !== 'string') throw new InvalidInputError(`${where}: target.${key} must be a string`);
    target[key as keyof Target] = field;
  }
  return target;
}

/** Resources a target selects; name and namespace are anchored regular expressions, as in kustomize. */
function select(resources: Resource[], target: Target, where: string): Resource[] {
  const matches = (pattern: string | undefined, value: string | undefined): boolean =>
    pattern === undefined || new RegExp(`^(?:${pattern})$`).test(value ?? '');
  const matched = resources.filter(({ object }) => {
    const slash = object.apiVersion.indexOf('/');
    const group = slash < 0 ? '' : object.apiVersion.slice(0, slash);
    const version = object.apiVersion.slice(slash + 1);
    return (
      (target.group === undefined || target.group === group) &&
      (target.version === undefined || target.version === version) &&
      (target.kind === undefined || target.kind === object.kind) &&
      matches(target.name, object.metadata.name) &&
      matches(target.namespace, object.metadata.namespace)
    );
  });
  if (matched.length === 0) throw new InvalidInputError(`${where}: no resource matches target ${JSON.stringify(target)}`);
  return matched;
}

// ---- images -------------------------------------------------------------------------------

function applyImage(resources: Resource[], spec: unknown, file: string): void {
  if (!isRecord(spec) || typeof spec['name'] !== 'string') throw new InvalidInputError(`${file}: images entries need a name`);
  for (const key of Object.keys(spec)) {
    if (!['name', 'newName', 'newTag', 'digest'].includes(key)) throw new InvalidInputError(`${file}: images field "${key}" is not supported`);
  }
  const { name, newName, newTag, digest } = spec as { name: string; newName?: unknown; newTag?: unknown; digest?: unknown };
  for (const { object } of resources) {
    visitContainers(object, (container) => {
      if (typeof container['image'] !== 'string') return;
      const image = splitImage(container['image']);
      if (image.name !== name) return;
      const next = typeof newName === 'string' ? newName : image.name;
      const suffix = typeof digest === 'string' ? `@${digest}` : typeof newTag === 'string' ? `:${newTag}` : image.suffix;
      container['image'] = `${next}${suffix}`;
    });
  }
}

/** `registry:5000/a/b:tag@sha256:...` -> name `registry:5000/a/b`, suffix `:tag@sha256:...`. */
export function splitImage(image: string): { name: string; suffix: string } {
  const at = image.indexOf('@');
  const beforeDigest = at < 0 ? image : image.slice(0, at);
  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.indexOf(':', lastSlash + 1);
  const end = colon < 0 ? beforeDigest.length : colon;
  return { name: image.slice(0, end), suffix: image.slice(end) };
}

/** Every container (and init container) of a workload's pod template or a Pod. */
export function visitContainers(object: K8sObject, visit: (container: Record<string, unknown>) => void): void {
  for (const pod of podSpecs(object)) {
    for (const field of ['initContainers', 'containers']) {
      const containers = pod[field];
      if (Array.isArray(containers)) for (const c of containers) if (isRecord(c)) visit(c);
    }
  }
}

export function podSpecs(object: K8sObject): Record<string, unknown>[] {
  const spec = object['spec'];
  if (!isRecord(spec)) return [];
  if (object.kind === 'Pod') return [spec];
  const template = object.kind === 'CronJob' ? dig(spec, ['jobTemplate', 'spec', 'template', 'spec']) : dig(spec, ['template', 'spec']);
  return isRecord(template) ? [template] : [];
}

function dig(value: unknown, keys: readonly string[]): unknown {
  let node = value;
  for (const key of keys) node = isRecord(node) ? node[key] : undefined;
  return node;
}

// ---- name hashes and references -----------------------------------------------------------

function applyNameHashes(resources: Resource[]): void {
  const renames = new Map<string, string>();
  const key = (kind: string, namespace: string | undefined, name: string): string => `${kind}|${namespace ?? ''}|${name}`;
  for (const resource of resources) {
    if (resource.generated === undefined) continue;
    const { object } = resource;
    const hashed = `${object.metadata.name}-${nameHash(object)}`;
    renames.set(key(object.kind, object.metadata.namespace, object.metadata.name), hashed);
    object.metadata.name = hashed;
  }
  if (renames.size === 0) return;
  for (const { object } of resources) {
    const namespace = object.metadata.namespace;
    const rename = (kind: 'ConfigMap' | 'Secret', holder: unknown, field: string): void => {
      if (!isRecord(holder) || typeof holder[field] !== 'string') return;
      const renamed = renames.get(key(kind, namespace, holder[field]));
      if (renamed !== undefined) holder[field] = renamed;
    };
    for (const pod of podSpecs(object)) {
      for (const field of ['initContainers', 'containers']) {
        const containers = pod[field];
        if (!Array.isArray(containers)) continue;
        for (const container of containers) {
          if (!isRecord(container)) continue;
          for (const source of Array.isArray(container['envFrom']) ? container['envFrom'] : []) {
            if (!isRecord(source)) continue;
            rename('ConfigMap', source['configMapRef'], 'name');
            rename('Secret', source['secretRef'], 'name');
          }
          for (const variable of Array.isArray(container['env']) ? container['env'] : []) {
            const from = isRecord(variable) ? variable['valueFrom'] : undefined;
            if (!isRecord(from)) continue;
            rename('ConfigMap', from['configMapKeyRef'], 'name');
            rename('Secret', from['secretKeyRef'], 'name');
          }
        }
      }
      for (const volume of Array.isArray(pod['volumes']) ? pod['volumes'] : []) {
        if (!isRecord(volume)) continue;
        rename('ConfigMap', volume['configMap'], 'name');
        rename('Secret', volume['secret'], 'secretName');
        const sources = dig(volume, ['projected', 'sources']);
        for (const source of Array.isArray(sources) ? sources : []) {
          if (!isRecord(source)) continue;
          rename('ConfigMap', source['configMap'], 'name');
          rename('Secret', source['secret'], 'name');
        }
      }
      for (const pull of Array.isArray(pod['imagePullSecrets']) ? pod['imagePullSecrets'] : []) rename('Secret', pull, 'name');
    }
  }
}

function sortResources(objects: K8sObject[]): K8sObject[] {
  const rank = (kind: string): number => {
    const first = KIND_ORDER.indexOf(kind);
    if (first >= 0) return first;
    const last = KIND_LAST.indexOf(kind);
    return last >= 0 ? KIND_ORDER.length + 1 + last : KIND_ORDER.length;
  };
  const gvk = (o: K8sObject): string => {
    const slash = o.apiVersion.indexOf('/');
    return `${slash < 0 ? '' : o.apiVersion.slice(0, slash)}_${o.apiVersion.slice(slash + 1)}_${o.kind}`;
  };
  return [...objects].sort(
    (a, b) =>
      rank(a.kind) - rank(b.kind) ||
      gvk(a).localeCompare(gvk(b)) ||
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}
