import { readFileSync } from 'node:fs';
import { InvalidInputError, NotFoundError } from '@mitosis/core';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as rendered: plain JSON-like data with the type meta every object has. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error: unknown) {
    throw new NotFoundError(`${file}: cannot read (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
}

/** Every non-empty YAML document of a text, as plain data; `source` names it in errors. */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) throw new InvalidInputError(`${source}: not a YAML stream`);
  const values: unknown[] = [];
  for (const [index, document] of documents.entries()) {
    const error = document.errors[0];
    if (error !== undefined) {
      const line = error.linePos?.[0].line;
      throw new InvalidInputError(`${source}${line === undefined ? '' : `:${line}`}: invalid YAML in document ${index + 1}: ${error.message.split('\n')[0] ?? ''}`);
    }
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the type meta of a resource read from `source`. */
export function asK8sObject(value: unknown, source: string): K8sObject {
  if (!isRecord(value)) throw new InvalidInputError(`${source}: a resource must be a mapping`);
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || apiVersion === '') throw new InvalidInputError(`${source}: resource without apiVersion`);
  if (typeof kind !== 'string' || kind === '') throw new InvalidInputError(`${source}: resource without kind`);
  if (!isRecord(metadata) || typeof metadata['name'] !== 'string' || metadata['name'] === '') {
    throw new InvalidInputError(`${source}: ${kind} without metadata.name`);
  }
  return value as K8sObject;
}

/** `Kind/namespace/name` (namespace omitted when unset): how objects are named in messages. */
export function objectId(object: K8sObject): string {
  const ns = object.metadata.namespace;
  return `${object.kind}/${ns === undefined ? '' : `${ns}/`}${object.metadata.name}`;
}

export function deepClone<T>(value: T): T {
  return structuredClone(value);
}
