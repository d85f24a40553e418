import type { K8sObject } from './yaml-files';
import { isRecord } from './yaml-files';

/** `registry:5000/a/b:tag@sha256:...` -> name `registry:5000/a/b`, suffix `:tag@sha256:...`. */
export function splitImage(image: string): { name: string; suffix: string } {
  const at = image.indexOf('@');
  const beforeDigest = at < 0 ? image : image.slice(0, at);
  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.indexOf(':', lastSlash + 1);
  const end = colon < 0 ? beforeDigest.length : colon;
  return { name: image.slice(0, end), suffix: image.slice(end) };
}

/** The pod spec of a Pod, of a workload's pod template or of a CronJob's job template (none otherwise). */
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
