import { createHash } from 'node:crypto';
import { isRecord } from '../yaml-files';
import type { K8sObject } from '../yaml-files';

/**
 * The suffix kustomize appends to a generated ConfigMap or Secret name, so that a change of
 * its content renames it and rolls the pods that use it: sha256 of the Go JSON encoding
 * (sorted keys, HTML-safe escapes) of {kind, name, data, type for Secrets}, first 10 hex
 * digits, with 0 1 3 a e spelled g h k m t (kustomize api/hasher). kustomize v5 looks the name
 * up with the single path token "metadata/name", which finds nothing, so the name it hashes is
 * always "" (checked against kubectl 1.32's kustomize v5.5: `A=1` gives cm-89g4tffbfk).
 */
export function nameHash(object: K8sObject): string {
  const encoded: Record<string, unknown> = { kind: object.kind, name: '', data: object['data'] ?? '' };
  if (object.kind === 'Secret') {
    encoded['type'] = object['type'] ?? '';
    if (isRecord(object['stringData'])) encoded['stringData'] = object['stringData'];
  } else if (isRecord(object['binaryData'])) {
    encoded['binaryData'] = object['binaryData'];
  }
  const hex = createHash('sha256').update(goJson(encoded)).digest('hex');
  const spelled: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((c) => spelled[c] ?? c).join('');
}

/** Go's encoding/json output for maps of strings: keys sorted, <, >, &, U+2028, U+2029 escaped. */
export function goJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${goJson(key)}:${goJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(String(value));
}
