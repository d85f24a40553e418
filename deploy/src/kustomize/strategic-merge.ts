import { InvalidInputError } from '@mitosis/core';
import { isRecord } from '../yaml-files';

/**
 * Strategic merge patch as kustomize applies it (kyaml merge2), for what our manifests need:
 * maps merge key by key, `null` deletes a key, lists of built-in kinds that Kubernetes declares
 * with a patch merge key (containers by name, env by name, ...) merge element by element, every
 * other list is replaced. Merged keyed lists keep kyaml's order: the patch's elements first, then
 * the target's elements the patch did not name. Patch directives ($patch, $setElementOrder,
 * $retainKeys, $deleteFromPrimitiveList) are refused rather than half-applied.
 */

/** x-kubernetes-patch-merge-key of the list fields of built-in kinds, by field name. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  readinessGates: 'conditionType',
  resourceClaims: 'name',
};

/** Built-in API groups: core ('v1'), the unqualified groups (apps, batch, policy) and *.k8s.io. */
export function isBuiltinApiVersion(apiVersion: string): boolean {
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return true;
  const group = apiVersion.slice(0, slash);
  return !group.includes('.') || group.endsWith('.k8s.io');
}

function mergeKeyOf(field: string, path: readonly string[], kind: string): string | undefined {
  // Service ports merge by port, container ports by containerPort.
  if (field === 'ports') return kind === 'Service' && path.join('.') === 'spec.ports' ? 'port' : 'containerPort';
  return MERGE_KEYS[field];
}

export function strategicMerge<T>(target: T, patch: unknown, options: { kind: string; apiVersion: string; source: string }): T {
  const builtin = isBuiltinApiVersion(options.apiVersion);
  return mergeValue(target, patch, [], { ...options, builtin }) as T;
}

interface Context {
  readonly kind: string;
  readonly builtin: boolean;
  readonly source: string;
}

function mergeValue(target: unknown, patch: unknown, path: string[], context: Context): unknown {
  if (isRecord(patch) && isRecord(target)) return mergeMap(target, patch, path, context);
  return withoutNulls(patch, path, context);
}

function mergeMap(target: Record<string, unknown>, patch: Record<string, unknown>, path: string[], context: Context): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    checkDirective(key, [...path, key], context);
    const here = [...path, key];
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value) && Array.isArray(result[key])) {
      result[key] = mergeList(result[key] as unknown[], value, key, here, context);
    } else {
      result[key] = mergeValue(result[key], value, here, context);
    }
  }
  return result;
}

function mergeList(target: unknown[], patch: unknown[], field: string, path: string[], context: Context): unknown[] {
  const key = context.builtin ? mergeKeyOf(field, path.slice(0, -1).concat(field), context.kind) : undefined;
  if (key === undefined) return withoutNulls(patch, path, context) as unknown[];
  const identity = (element: unknown, where: string): unknown => {
    if (!isRecord(element) || element[key] === undefined) {
      throw new InvalidInputError(`${context.source}: ${where} of ${path.join('.')} has no merge key "${key}"`);
    }
    return element[key];
  };
  const used = new Set<number>();
  const merged = patch.map((element, index) => {
    const id = identity(element, `patch element ${index + 1}`);
    const found = target.findIndex((candidate, at) => !used.has(at) && isRecord(candidate) && candidate[key] === id);
    if (found < 0) return withoutNulls(element, path, context);
    used.add(found);
    return mergeValue(target[found], element, path, context);
  });
  return [...merged, ...target.filter((_, at) => !used.has(at))];
}

/** A value the patch adds: its null fields mean nothing to delete, so they are dropped. */
function withoutNulls(value: unknown, path: string[], context: Context): unknown {
  if (Array.isArray(value)) return value.map((element) => withoutNulls(element, path, context));
  if (!isRecord(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    checkDirective(key, [...path, key], context);
    if (inner !== null) result[key] = withoutNulls(inner, [...path, key], context);
  }
  return result;
}

function checkDirective(key: string, path: string[], context: Context): void {
  if (key.startsWith('$')) {
    throw new InvalidInputError(`${context.source}: patch directive "${key}" at ${path.join('.')} is not supported by this renderer`);
  }
}
