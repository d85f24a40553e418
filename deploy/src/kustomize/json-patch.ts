import { InvalidInputError } from '@mitosis/core';
import { deepClone, isRecord } from '../yaml-files';

/** One RFC 6902 operation; this renderer applies add, remove, replace and test. */
export interface JsonPatchOperation {
  readonly op: string;
  readonly path: string;
  readonly value?: unknown;
}

export function parseJsonPatch(value: unknown, source: string): JsonPatchOperation[] {
  if (!Array.isArray(value)) throw new InvalidInputError(`${source}: a JSON6902 patch is a list of operations`);
  return value.map((op, index) => {
    if (!isRecord(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') {
      throw new InvalidInputError(`${source}: operation ${index + 1} needs "op" and "path"`);
    }
    if (!['add', 'remove', 'replace', 'test'].includes(op['op'])) {
      throw new InvalidInputError(`${source}: operation ${index + 1}: "${op['op']}" is not supported (add, remove, replace, test)`);
    }
    if (op['op'] !== 'remove' && !('value' in op)) throw new InvalidInputError(`${source}: operation ${index + 1} (${op['op']}) needs a value`);
    return { op: op['op'], path: op['path'], ...('value' in op ? { value: op['value'] } : {}) };
  });
}

/** RFC 6901: '' is the whole document, '/a/0/b~1c' the tokens a, 0, b/c. */
function tokens(pointer: string, source: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new InvalidInputError(`${source}: JSON pointer "${pointer}" must start with '/'`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Applies the operations in order to a copy of `document`; any failing one fails the patch. */
export function applyJsonPatch<T>(document: T, operations: readonly JsonPatchOperation[], source: string): T {
  let root: unknown = deepClone(document);
  for (const [index, operation] of operations.entries()) {
    const where = `${source}: operation ${index + 1} (${operation.op} ${operation.path})`;
    const path = tokens(operation.path, where);
    if (path.length === 0) {
      if (operation.op === 'remove') throw new InvalidInputError(`${where}: cannot remove the whole document`);
      if (operation.op === 'test') {
        if (!sameJson(root, operation.value)) throw new InvalidInputError(`${where}: test failed`);
        continue;
      }
      root = deepClone(operation.value);
      continue;
    }
    const parent = resolve(root, path.slice(0, -1), where);
    const last = path[path.length - 1] ?? '';
    if (Array.isArray(parent)) {
      const index = last === '-' && operation.op === 'add' ? parent.length : arrayIndex(last, where);
      const limit = operation.op === 'add' ? parent.length : parent.length - 1;
      if (index > limit) throw new InvalidInputError(`${where}: index ${index} is out of range (length ${parent.length})`);
      if (operation.op === 'add') parent.splice(index, 0, deepClone(operation.value));
      else if (operation.op === 'remove') parent.splice(index, 1);
      else if (operation.op === 'replace') parent[index] = deepClone(operation.value);
      else if (!sameJson(parent[index], operation.value)) throw new InvalidInputError(`${where}: test failed`);
    } else if (isRecord(parent)) {
      const exists = Object.prototype.hasOwnProperty.call(parent, last);
      if (operation.op !== 'add' && !exists) throw new InvalidInputError(`${where}: "${last}" does not exist`);
      if (operation.op === 'remove') delete parent[last];
      else if (operation.op === 'test') {
        if (!sameJson(parent[last], operation.value)) throw new InvalidInputError(`${where}: test failed`);
      } else parent[last] = deepClone(operation.value);
    } else {
      throw new InvalidInputError(`${where}: the parent is neither a mapping nor a list`);
    }
  }
  return root as T;
}

function resolve(root: unknown, path: readonly string[], where: string): unknown {
  let node = root;
  for (const token of path) {
    if (Array.isArray(node)) {
      const index = arrayIndex(token, where);
      if (index >= node.length) throw new InvalidInputError(`${where}: index ${index} is out of range (length ${node.length})`);
      node = node[index];
    } else if (isRecord(node) && Object.prototype.hasOwnProperty.call(node, token)) {
      node = node[token];
    } else {
      throw new InvalidInputError(`${where}: "${token}" does not exist`);
    }
  }
  return node;
}

function arrayIndex(token: string, where: string): number {
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new InvalidInputError(`${where}: "${token}" is not a list index`);
  return Number(token);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}
