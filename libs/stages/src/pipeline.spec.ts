import * as tf from '@tensorflow/tfjs';
import { createMemoryBlobStore } from '@mitosis/core';
import type { ProgressEvent } from '@mitosis/core';
import { generateSyntheticVideo } from '@mitosis/synth';
import { preprocessVideo } from '@mitosis/video';
import { readArray } from '@mitosis/tensor-store';
import { runEventLengthStage, runNormalCellMapStage } from './analysis';
import { analysisKeys, runTrainingStage, storePreprocessedVideo } from './pipeline';

describe('the M2 stage on a stored analysis', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
  });

  it('re-measures with the stored M2 instead of training one when asked, and trains when none is stored', async () => {
    const store = createMemoryBlobStore();
    const video = generateSyntheticVideo({ frames: 12, width: 48, height: 40, seed: 3, initialCells: 4 });
    const raw = { volume: video.volume, bitDepth: video.bitDepth, source: 'synthetic', kind: 'tiff-stack' as const, frameNames: [] };
    await storePreprocessedVideo(store, 'video', preprocessVideo(raw, { factor: 2 }), 'synthetic');
    // Map 0 whatever M1 learns in 2 updates: the test is about the stage's plumbing.
    await runNormalCellMapStage(
      store,
      { videoKey: 'video', prefix: 'a' },
      { training: { iterations: 2, crop: 16, seed: 1, model: { encoderWidths: [2, 2], decoderWidths: [2, 2] } }, normalMap: 0, erosions: 1 },
    );
    const steps = (): { sink: (e: ProgressEvent) => void; seen: Set<string> } => {
      const seen = new Set<string>();
      return { sink: (e) => seen.add(e.step), seen };
    };
    const options = {
      training: { iterations: 1, crop: 16, seed: 1, sequenceLength: 4, model: { hidden: 2, encoderWidths: [2, 2], decoderWidth: 2 } },
      lengths: { minVoxels: 1 },
      inference: { window: 0 },
      runs: 1,
    };
    const measure = async (reuse: boolean, sink: (e: ProgressEvent) => void): Promise<unknown> =>
      runEventLengthStage(store, { videoKey: 'video', prefix: 'a' }, { ...options, reuseStoredModel: reuse, onProgress: sink }).then(
        (r) => r.stats,
        (error: unknown) => (error as Error).message,
      );
    const first = steps();
    const firstResult = await measure(true, first.sink);
    expect(first.seen.has('m2.train')).toBe(true);
    expect(await store.exists(`${analysisKeys('a').m2}/model.json`)).toBe(true);
    const second = steps();
    expect(await measure(true, second.sink)).toEqual(firstResult);
    expect(second.seen.has('m2.train')).toBe(false);
    expect(second.seen.has('m2.infer')).toBe(true);
  });

  it("applies another analysis's M1 and M2 by inference only: same maps and lengths, nothing trained or stored", async () => {
    const trained = createMemoryBlobStore();
    const video = generateSyntheticVideo({ frames: 12, width: 48, height: 40, seed: 3, initialCells: 4 });
    const raw = { volume: video.volume, bitDepth: video.bitDepth, source: 'synthetic', kind: 'tiff-stack' as const, frameNames: [] };
    const frames = preprocessVideo(raw, { factor: 2 });
    await storePreprocessedVideo(trained, 'video', frames, 'synthetic');
    const m1 = { training: { iterations: 2, crop: 16, seed: 1, model: { encoderWidths: [2, 2], decoderWidths: [2, 2] } }, normalMap: 0, erosions: 1 };
    const m2 = {
      training: { iterations: 1, crop: 16, seed: 1, sequenceLength: 4, model: { hidden: 2, encoderWidths: [2, 2], decoderWidth: 2 } },
      lengths: { minVoxels: 1 },
      inference: { window: 0 },
      runs: 1,
    };
    const a = analysisKeys('a');
    await runNormalCellMapStage(trained, { videoKey: 'video', prefix: 'a' }, m1);
    const outcome = (run: Promise<{ stats: unknown }>): Promise<unknown> =>
      run.then(
        (r) => r.stats,
        (error: unknown) => (error as Error).message,
      );
    const trainedStats = await outcome(runEventLengthStage(trained, { videoKey: 'video', prefix: 'a' }, m2));

    // The same frames in another store, with a's models: the same feature maps, y_t and lengths.
    const other = createMemoryBlobStore();
    await storePreprocessedVideo(other, 'video', frames, 'synthetic');
    const seen = new Set<string>();
    const onProgress = (e: ProgressEvent): void => void seen.add(e.step);
    await runNormalCellMapStage(other, { videoKey: 'video', prefix: 'b' }, { ...m1, model: { store: trained, prefix: a.m1 }, onProgress });
    const b = analysisKeys('b');
    expect(Array.from((await readArray(other, b.featureMaps)).data)).toEqual(Array.from((await readArray(trained, a.featureMaps)).data));
    expect(Array.from((await readArray(other, b.normalCellMap)).data)).toEqual(Array.from((await readArray(trained, a.normalCellMap)).data));
    expect(await outcome(runEventLengthStage(other, { videoKey: 'video', prefix: 'b' }, { ...m2, model: { store: trained, prefix: a.m2 }, onProgress }))).toEqual(trainedStats);
    expect([...seen].filter((step) => step.endsWith('.train'))).toEqual([]);
    expect(seen.has('m2.infer')).toBe(true);
    expect(await other.exists(`${b.m1}/model.json`)).toBe(false);
    expect(await other.exists(`${b.m2}/model.json`)).toBe(false);
  });

  it("trains M3 on several videos' annotated frames at one scale, refusing another factor", async () => {
    const store = createMemoryBlobStore();
    const raw = (seed: number) => {
      const video = generateSyntheticVideo({ frames: 6, width: 48, height: 40, seed, initialCells: 4 });
      return { volume: video.volume, bitDepth: video.bitDepth, source: 'synthetic', kind: 'tiff-stack' as const, frameNames: [] };
    };
    await storePreprocessedVideo(store, 'a', preprocessVideo(raw(3), { factor: 2 }), 'a');
    await storePreprocessedVideo(store, 'b', preprocessVideo(raw(4), { factor: 2 }), 'b');
    await storePreprocessedVideo(store, 'c', preprocessVideo(raw(5), { factor: 1 }), 'c');
    const video = (videoKey: string, frame: number) => ({ videoKey, range: { first: 1, last: 6 }, annotations: [{ frame, x: 20, y: 16 }], annotationSource: `${videoKey}.csv` });
    const options = { k: 2, iterations: 1, crop: 16, model: { hidden: 2, decoderWidth: 2 } };
    const meta = await runTrainingStage(store, { ...video('a', 3), modelPrefix: 'models/ab', more: [video('b', 4)] }, options);
    expect(meta).toMatchObject({ annotations: 2, videos: 2, factor: 2, trainingFrames: { first: 1, last: 6 } });
    await expect(runTrainingStage(store, { ...video('a', 3), modelPrefix: 'models/ac', more: [video('c', 4)] }, options)).rejects.toThrow(
      'training video 2 (c.csv) is stored at factor 1, the first at 2: M3 learns one scale',
    );
    expect(await store.exists('models/ac/model.json')).toBe(false);
  });

  it('stores the labels M3 trained against beside the model, chunked by frames', async () => {
    const store = createMemoryBlobStore();
    const video = generateSyntheticVideo({ frames: 6, width: 48, height: 40, seed: 3, initialCells: 4 });
    const raw = { volume: video.volume, bitDepth: video.bitDepth, source: 'synthetic', kind: 'tiff-stack' as const, frameNames: [] };
    await storePreprocessedVideo(store, 'video', preprocessVideo(raw, { factor: 2 }), 'synthetic');
    const annotations = [{ frame: 3, x: 20, y: 16 }];
    const meta = await runTrainingStage(
      store,
      { videoKey: 'video', range: { first: 1, last: 6 }, annotations, annotationSource: 'test.csv', modelPrefix: 'models/m' },
      { k: 2, iterations: 1, crop: 16, model: { hidden: 2, decoderWidth: 2 } },
    );
    expect(meta.annotations).toBe(1);
    const labels = await readArray(store, 'models/m/labels');
    expect(labels.shape).toEqual([6, 20, 24]);
    // The mitosis at frame 3 (1-based), (20, 16) original = (10, 8) downscaled, is labelled there.
    expect(labels.data[(2 * 20 + 8) * 24 + 10]).toBe(1);
    expect(await store.exists('models/m/model.json')).toBe(true);
  });
});
