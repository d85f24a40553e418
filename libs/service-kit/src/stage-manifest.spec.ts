import { createHash } from 'node:crypto';
import { createMemoryBlobStore } from '@mitosis/core';
import { keys } from './keys';
import { hasManifest, recordOutputs, storedStage, writeStageManifest } from './stage-manifest';
import type { StageOutcome } from './stage-task';

const task = { jobId: 'j1', stage: 'm1' } as const;
const outcome: StageOutcome = { stage: 'm1', outputs: { normalCellMap: 'analyses/j1/normal-cell-map' }, metrics: { seconds: 2 } };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A store holding a finished m1: two files written through the recorder, then the manifest. */
async function finishedStage() {
  const store = createMemoryBlobStore();
  const recorder = recordOutputs(store);
  await recorder.store.put('analyses/j1/normal-cell-map/zarr.json', bytes('{"shape":[2]}'));
  await recorder.store.put('analyses/j1/normal-cell-map/c/0', bytes('first try'));
  await recorder.store.put('analyses/j1/normal-cell-map/c/0', bytes('chunk'));
  await recorder.store.put('analyses/j1/scratch/a', bytes('gone'));
  await recorder.store.delete('analyses/j1/scratch/');
  await writeStageManifest(store, task, outcome, recorder.files());
  return store;
}

describe('the stage manifest', () => {
  it('lists what the stage wrote last, and makes the stage complete with its outcome', async () => {
    const store = await finishedStage();
    const manifest = JSON.parse(new TextDecoder().decode(await store.get(keys.stageManifest('j1', 'm1')))) as { files: unknown[] };
    expect(manifest.files).toEqual([
      { key: 'analyses/j1/normal-cell-map/c/0', size: 5, sha256: sha256('chunk') },
      { key: 'analyses/j1/normal-cell-map/zarr.json', size: 13, sha256: sha256('{"shape":[2]}') },
    ]);
    expect(await storedStage(store, task)).toEqual({ state: 'complete', outcome: { ...outcome, metrics: { seconds: 2, reused: 1 } } });
  });

  it('is absent before the stage wrote it, and for ingest, which has none', async () => {
    const store = createMemoryBlobStore();
    await store.put('analyses/j1/normal-cell-map/zarr.json', bytes('{"shape":[2]}'));
    expect(await storedStage(store, task)).toEqual({ state: 'absent' });
    expect(hasManifest('ingest')).toBe(false);
    expect(await storedStage(await finishedStage(), { jobId: 'j1', stage: 'ingest' })).toEqual({ state: 'absent' });
  });

  it('does not make the stage complete when a file it lists is missing, shorter or changed', async () => {
    const missing = await finishedStage();
    await missing.delete('analyses/j1/normal-cell-map/c/0');
    expect(await storedStage(missing, task)).toEqual({ state: 'mismatch', reason: 'analyses/j1/normal-cell-map/c/0 is missing' });
    const shorter = await finishedStage();
    await shorter.put('analyses/j1/normal-cell-map/c/0', bytes('chu'));
    expect(await storedStage(shorter, task)).toEqual({ state: 'mismatch', reason: 'analyses/j1/normal-cell-map/c/0 has 3 bytes, not 5' });
    const changed = await finishedStage();
    await changed.put('analyses/j1/normal-cell-map/c/0', bytes('CHUNK'));
    await changed.put('analyses/j1/normal-cell-map/zarr.json', bytes('{"shape":[3]}'));
    expect(await storedStage(changed, task)).toEqual({
      state: 'mismatch',
      reason: 'analyses/j1/normal-cell-map/c/0 does not match its SHA-256 (and 1 more)',
    });
  });

  it('does not take a manifest of another job or stage, or one that is not a manifest', async () => {
    const store = await finishedStage();
    await store.put(keys.stageManifest('j1', 'm2'), await store.get(keys.stageManifest('j1', 'm1')));
    expect(await storedStage(store, { jobId: 'j1', stage: 'm2' })).toEqual({ state: 'mismatch', reason: 'manifests/j1/m2.json is not the manifest of stage m2 of job j1' });
    await store.put(keys.stageManifest('j1', 'm1'), bytes('{"version":1,"jobId":"j1"'));
    expect(await storedStage(store, task)).toMatchObject({ state: 'mismatch' });
  });

  it('throws when the store does not answer, rather than taking the outputs for missing', async () => {
    const store = await finishedStage();
    const down = Object.assign(Object.create(store) as typeof store, { get: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) });
    await expect(storedStage(down, task)).rejects.toThrow('ECONNREFUSED');
  });
});
