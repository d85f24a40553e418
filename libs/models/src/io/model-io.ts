import * as tf from '@tensorflow/tfjs';
import { InvalidInputError, MitosisError, NotFoundError, checkKey } from '@mitosis/core';
import type { BlobStore } from '@mitosis/core';
import type { ModelKind } from '../nets/common';
import { createM1 } from '../nets/m1';
import type { M1Model, M1Options } from '../nets/m1';
import { createM2 } from '../nets/m2';
import type { M2Model, M2Options } from '../nets/m2';
import { createM3 } from '../nets/m3';
import type { M3Model, M3Options } from '../nets/m3';

/**
 * Saving and loading M1/M2/M3 in the tfjs weights format through a BlobStore: `<prefix>/model.json`
 * names the network kind and its config and lists the weights (a tfjs `weightsManifest`);
 * `<prefix>/weights.bin` holds them as little-endian float32 in manifest order. Only the weights
 * are kept: a loaded model predicts exactly as the saved one, and further training starts with
 * fresh RMSProp statistics.
 */

export type AnyModel = M1Model | M2Model | M3Model;
export type ModelOfKind<K extends ModelKind> = K extends 'm1' ? M1Model : K extends 'm2' ? M2Model : M3Model;

export const modelFormat = 'mitosis-model';
export const modelFormatVersion = 1;
const weightsFile = 'weights.bin';

/** The content of model.json. */
export interface SavedModelJson {
  format: typeof modelFormat;
  formatVersion: number;
  generatedBy: string;
  kind: ModelKind;
  config: unknown;
  weightsManifest: tf.io.WeightsManifestConfig;
}

function keyOf(prefix: string, file: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return checkKey(trimmed === '' ? file : `${trimmed}/${file}`);
}

/** Writes the model under `prefix`; weights first, so a model.json always has its weights. */
export async function saveModel(store: BlobStore, prefix: string, model: AnyModel): Promise<void> {
  const named = [...model.params.entries()].map(([name, tensor]) => ({ name, tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const bytes = new Uint8Array(Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data);
  const json: SavedModelJson = {
    format: modelFormat,
    formatVersion: modelFormatVersion,
    generatedBy: `@mitosis/models (tfjs ${tf.version_core})`,
    kind: model.kind,
    config: model.config,
    weightsManifest: [{ paths: [weightsFile], weights: specs }],
  };
  await store.put(keyOf(prefix, weightsFile), bytes);
  await store.put(keyOf(prefix, 'model.json'), new TextEncoder().encode(JSON.stringify(json, null, 2)));
}

/**
 * Reads a model saved by `saveModel`. Throws NotFoundError when there is no model under
 * `prefix`, InvalidInputError naming the problem when the files do not make a valid model of
 * the expected kind (bad JSON, wrong kind, bad config, missing/extra/misshapen weights,
 * truncated weights.bin).
 */
export async function loadModel(store: BlobStore, prefix: string): Promise<AnyModel>;
export async function loadModel<K extends ModelKind>(store: BlobStore, prefix: string, kind: K): Promise<ModelOfKind<K>>;
export async function loadModel(store: BlobStore, prefix: string, kind?: ModelKind): Promise<AnyModel> {
  const jsonKey = keyOf(prefix, 'model.json');
  const json = parseModelJson(await getOrNotFound(store, jsonKey, `no saved model under "${prefix}"`), jsonKey);
  if (kind !== undefined && json.kind !== kind) {
    throw new InvalidInputError(`${jsonKey} holds an ${json.kind} model, expected ${kind}`);
  }
  const specs = manifestEntries(json.weightsManifest, jsonKey);
  const model = createFromConfig(json.kind, json.config, jsonKey);
  try {
    checkSpecsMatch(model, specs, jsonKey);
    const paths = json.weightsManifest.flatMap((group) => group.paths);
    const parts: Uint8Array[] = [];
    for (const file of paths) parts.push(await getOrNotFound(store, keyOf(prefix, file), `model ${jsonKey} lists ${file}, which is missing`));
    const bytes = concatBytes(parts);
    const needed = specs.reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * 4, 0);
    if (bytes.byteLength !== needed) {
      const what = bytes.byteLength < needed ? 'truncated' : 'too long';
      throw new InvalidInputError(`weights of ${jsonKey} are ${what}: ${paths.join(' + ')} hold ${bytes.byteLength} bytes, the manifest needs ${needed}`);
    }
    const decoded = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, specs);
    try {
      for (const [name, variable] of model.params) {
        const value = decoded[name];
        if (value === undefined) throw new InvalidInputError(`${jsonKey}: weight "${name}" could not be decoded`);
        variable.assign(value);
      }
    } finally {
      tf.dispose(Object.values(decoded));
    }
    return model;
  } catch (error: unknown) {
    model.dispose();
    throw error;
  }
}

async function getOrNotFound(store: BlobStore, key: string, message: string): Promise<Uint8Array> {
  try {
    return await store.get(key);
  } catch (error: unknown) {
    if (error instanceof NotFoundError) throw new NotFoundError(`${message} (${key} not found)`, { cause: error });
    throw error;
  }
}

function parseModelJson(bytes: Uint8Array, key: string): SavedModelJson {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error: unknown) {
    throw new InvalidInputError(`${key} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidInputError(`${key} must hold a JSON object`);
  const json = value as Record<string, unknown>;
  if (json['format'] !== modelFormat) throw new InvalidInputError(`${key} has format ${JSON.stringify(json['format'])}, expected "${modelFormat}"`);
  if (json['formatVersion'] !== modelFormatVersion) {
    throw new InvalidInputError(`${key} has formatVersion ${JSON.stringify(json['formatVersion'])}, this build reads ${modelFormatVersion}`);
  }
  if (json['kind'] !== 'm1' && json['kind'] !== 'm2' && json['kind'] !== 'm3') {
    throw new InvalidInputError(`${key} has kind ${JSON.stringify(json['kind'])}, expected "m1", "m2" or "m3"`);
  }
  if (typeof json['config'] !== 'object' || json['config'] === null || Array.isArray(json['config'])) throw new InvalidInputError(`${key} has no config object`);
  if (!Array.isArray(json['weightsManifest'])) throw new InvalidInputError(`${key} has no weightsManifest array`);
  return json as unknown as SavedModelJson;
}

function manifestEntries(manifest: unknown[], key: string): tf.io.WeightsManifestEntry[] {
  const specs: tf.io.WeightsManifestEntry[] = [];
  manifest.forEach((group, g) => {
    const entry = group as { paths?: unknown; weights?: unknown };
    if (typeof group !== 'object' || group === null || !Array.isArray(entry.paths) || !Array.isArray(entry.weights)) {
      throw new InvalidInputError(`${key}: weightsManifest[${g}] needs "paths" and "weights" arrays`);
    }
    for (const file of entry.paths) {
      if (typeof file !== 'string') throw new InvalidInputError(`${key}: weightsManifest[${g}].paths holds a non-string`);
      try {
        checkKey(file);
      } catch (error: unknown) {
        throw new InvalidInputError(`${key}: weights path "${file}" is not a relative path inside the model`, { cause: error });
      }
    }
    (entry.weights as unknown[]).forEach((weight, w) => {
      const spec = weight as Partial<tf.io.WeightsManifestEntry>;
      const where = `${key}: weightsManifest[${g}].weights[${w}]`;
      if (typeof weight !== 'object' || weight === null || typeof spec.name !== 'string') throw new InvalidInputError(`${where} has no name`);
      if (!Array.isArray(spec.shape) || spec.shape.some((d) => !Number.isInteger(d) || d < 0)) throw new InvalidInputError(`${where} ("${spec.name}") has a bad shape`);
      if (spec.dtype !== 'float32') throw new InvalidInputError(`${where} ("${spec.name}") has dtype ${String(spec.dtype)}, expected float32`);
      if (spec.quantization !== undefined) throw new InvalidInputError(`${where} ("${spec.name}") is quantized, which this format does not use`);
      specs.push({ name: spec.name, shape: spec.shape, dtype: 'float32' });
    });
  });
  return specs;
}

function createFromConfig(kind: ModelKind, config: unknown, key: string): AnyModel {
  try {
    switch (kind) {
      case 'm1':
        return createM1(config as M1Options);
      case 'm2':
        return createM2(config as M2Options);
      case 'm3':
        return createM3(config as M3Options);
    }
  } catch (error: unknown) {
    if (error instanceof MitosisError) throw new InvalidInputError(`${key}: bad ${kind} config: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Every parameter of the model exactly once, with its shape; nothing else. */
function checkSpecsMatch(model: AnyModel, specs: readonly tf.io.WeightsManifestEntry[], key: string): void {
  const seen = new Set<string>();
  for (const spec of specs) {
    const variable = model.params.get(spec.name);
    if (variable === undefined) throw new InvalidInputError(`${key} lists weight "${spec.name}", which an ${model.kind} model with this config does not have`);
    if (seen.has(spec.name)) throw new InvalidInputError(`${key} lists weight "${spec.name}" twice`);
    seen.add(spec.name);
    if (spec.shape.length !== variable.shape.length || spec.shape.some((d, i) => d !== variable.shape[i])) {
      throw new InvalidInputError(`${key}: weight "${spec.name}" has shape [${spec.shape.join(', ')}], the config needs [${variable.shape.join(', ')}]`);
    }
  }
  const missing = [...model.params.keys()].filter((name) => !seen.has(name));
  if (missing.length > 0) throw new InvalidInputError(`${key} lacks weights ${missing.map((name) => `"${name}"`).join(', ')}`);
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const [first] = parts;
  if (parts.length === 1 && first !== undefined) return first;
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
