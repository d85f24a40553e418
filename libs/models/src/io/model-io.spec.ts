import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InvalidInputError, NotFoundError, createLocalBlobStore } from '@mitosis/core';
import type { BlobStore } from '@mitosis/core';
import { createM1 } from '../nets/m1';
import { createM2 } from '../nets/m2';
import { createM3 } from '../nets/m3';
import { blobWindows, cellFrames, eventSequences, maxAbsDiff, useBackend } from '../nets/spec-utils';
import { loadModel, saveModel } from './model-io';
import type { SavedModelJson } from './model-io';

let dir: string;
let store: BlobStore;

beforeAll(async () => {
  await useBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'models-io-'));
  store = createLocalBlobStore(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readJson(key: string): Promise<SavedModelJson> {
  return JSON.parse(new TextDecoder().decode(await store.get(key))) as SavedModelJson;
}

async function writeJson(key: string, json: unknown): Promise<void> {
  await store.put(key, new TextEncoder().encode(JSON.stringify(json)));
}

describe('saveModel / loadModel', () => {
  it('round-trips M3 with identical predictions, in the tfjs weights format', async () => {
    const m3 = createM3({ hidden: 3, decoderWidth: 2, seed: 5, positiveWeight: 4 });
    const { windows, labels } = blobWindows(1, 1, 3, 6);
    m3.trainStep(windows, labels); // weights no longer those the seed alone gives
    await saveModel(store, 'runs/a/m3', m3);

    const json = await readJson('runs/a/m3/model.json');
    expect(json).toMatchObject({ format: 'mitosis-model', formatVersion: 1, kind: 'm3', config: m3.config });
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0]!.paths).toEqual(['weights.bin']);
    expect(json.weightsManifest[0]!.weights.map((w) => w.name)).toEqual([...m3.params.keys()]);
    const weightCount = [...m3.params.values()].reduce((sum, v) => sum + v.size, 0);
    expect((await store.get('runs/a/m3/weights.bin')).byteLength).toBe(weightCount * 4);

    const before = tf.memory().numTensors;
    const loaded = await loadModel(store, 'runs/a/m3', 'm3');
    expect(tf.memory().numTensors).toBe(before + m3.params.size);
    expect(loaded.config).toEqual(m3.config);
    const [a, b] = [m3.predict(windows), loaded.predict(windows)];
    expect(maxAbsDiff(a, b)).toBe(0);
    const fresh = createM3(m3.config);
    const c = fresh.predict(windows);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0);
    tf.dispose([a, b, c, windows, labels]);
    for (const m of [m3, loaded, fresh]) m.dispose();
  });

  it('round-trips M1 and M2, and loads by kind without being told', async () => {
    const m1 = createM1({ encoderWidths: [3, 3], decoderWidths: [3, 3], kernel: 3, seed: 2 });
    const frames = cellFrames(1, 1, 8);
    m1.trainStep(frames);
    await saveModel(store, 'm1', m1);
    const m2 = createM2({ hidden: 2, encoderWidths: [2, 2], decoderWidth: 2, seed: 2 });
    const { context, events } = eventSequences(1, 1, 3, 6, 1);
    m2.trainStep(context, events);
    await saveModel(store, 'm2/', m2);

    const loaded1 = await loadModel(store, 'm1');
    const loaded2 = await loadModel(store, 'm2');
    expect(loaded1.kind).toBe('m1');
    expect(loaded2.kind).toBe('m2');
    if (loaded1.kind !== 'm1' || loaded2.kind !== 'm2') throw new Error('wrong kinds');
    const [r1, r2] = [m1.reconstruct(frames), loaded1.reconstruct(frames)];
    expect(maxAbsDiff(r1, r2)).toBe(0);
    const [w1, w2] = [m1.featureMaps(frames), loaded1.featureMaps(frames)];
    expect(Array.from(w2.winner.dataSync())).toEqual(Array.from(w1.winner.dataSync()));
    const [e1, e2] = [m2.predict(context), loaded2.predict(context)];
    expect(maxAbsDiff(e1, e2)).toBe(0);
    tf.dispose([frames, context, events, r1, r2, w1.winner, w1.activation, w2.winner, w2.activation, e1, e2]);
    for (const m of [m1, m2, loaded1, loaded2]) m.dispose();
  });

  describe('errors', () => {
    const prefix = 'broken';
    let good: SavedModelJson;
    let goodBin: Uint8Array;

    beforeAll(async () => {
      const m3 = createM3({ hidden: 2, decoderWidth: 2 });
      await saveModel(store, 'good', m3);
      m3.dispose();
      good = await readJson('good/model.json');
      goodBin = await store.get('good/weights.bin');
    });

    beforeEach(async () => {
      await store.put(`${prefix}/weights.bin`, goodBin);
      await writeJson(`${prefix}/model.json`, good);
    });

    async function expectInvalid(message: RegExp): Promise<void> {
      const before = tf.memory().numTensors;
      const attempt = loadModel(store, prefix);
      await expect(attempt).rejects.toThrow(InvalidInputError);
      await expect(loadModel(store, prefix)).rejects.toThrow(message);
      expect(tf.memory().numTensors).toBe(before);
    }

    it('a missing model is NotFoundError', async () => {
      await expect(loadModel(store, 'nothing/here')).rejects.toThrow(NotFoundError);
      await expect(loadModel(store, 'nothing/here')).rejects.toThrow('no saved model under "nothing/here" (nothing/here/model.json not found)');
      await store.delete(`${prefix}/weights.bin`);
      await expect(loadModel(store, prefix)).rejects.toThrow(NotFoundError);
      await expect(loadModel(store, prefix)).rejects.toThrow(/lists weights.bin, which is missing/);
    });

    it('the wrong kind', async () => {
      await expect(loadModel(store, prefix, 'm2')).rejects.toThrow('broken/model.json holds an m3 model, expected m2');
      await writeJson(`${prefix}/model.json`, { ...good, kind: 'm4' });
      await expectInvalid(/has kind "m4", expected "m1", "m2" or "m3"/);
    });

    it('weights whose shapes do not fit the config', async () => {
      await writeJson(`${prefix}/model.json`, { ...good, config: { ...(good.config as object), hidden: 3 } });
      await expectInvalid(/weight "forward\/kernel" has shape \[3, 3, 3, 8\], the config needs \[3, 3, 4, 12\]/);
    });

    it('truncated or overlong weights', async () => {
      await store.put(`${prefix}/weights.bin`, goodBin.subarray(0, goodBin.byteLength - 10));
      await expectInvalid(new RegExp(`weights of broken/model.json are truncated: weights.bin hold ${goodBin.byteLength - 10} bytes, the manifest needs ${goodBin.byteLength}`));
      await store.put(`${prefix}/weights.bin`, new Uint8Array(goodBin.byteLength + 4));
      await expectInvalid(/are too long/);
    });

    it('missing, unknown, duplicated or odd weights in the manifest', async () => {
      const weights = good.weightsManifest[0]!.weights;
      await writeJson(`${prefix}/model.json`, { ...good, weightsManifest: [{ paths: ['weights.bin'], weights: weights.slice(0, -1) }] });
      await expectInvalid(/lacks weights "output\/bias"/);
      await writeJson(`${prefix}/model.json`, { ...good, weightsManifest: [{ paths: ['weights.bin'], weights: [...weights, { name: 'extra', shape: [1], dtype: 'float32' }] }] });
      await expectInvalid(/lists weight "extra", which an m3 model with this config does not have/);
      await writeJson(`${prefix}/model.json`, { ...good, weightsManifest: [{ paths: ['weights.bin'], weights: [...weights, weights[0]] }] });
      await expectInvalid(/lists weight "forward\/kernel" twice/);
      await writeJson(`${prefix}/model.json`, { ...good, weightsManifest: [{ paths: ['weights.bin'], weights: [{ ...weights[0], dtype: 'int32' }, ...weights.slice(1)] }] });
      await expectInvalid(/has dtype int32, expected float32/);
      await writeJson(`${prefix}/model.json`, { ...good, weightsManifest: [{ paths: ['../weights.bin'], weights }] });
      await expectInvalid(/weights path "..\/weights.bin" is not a relative path inside the model/);
    });

    it('a model.json that is not ours', async () => {
      await store.put(`${prefix}/model.json`, new TextEncoder().encode('{"format": '));
      await expectInvalid(/broken\/model.json is not valid JSON/);
      await writeJson(`${prefix}/model.json`, { ...good, format: 'layers-model' });
      await expectInvalid(/has format "layers-model", expected "mitosis-model"/);
      await writeJson(`${prefix}/model.json`, { ...good, config: { ...(good.config as object), dropout: 2 } });
      await expectInvalid(/bad m3 config: dropout must be in \[0, 1\)/);
      await writeJson(`${prefix}/model.json`, [1, 2]);
      await expectInvalid(/must hold a JSON object/);
    });
  });
});
