import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MitosisError } from '@mitosis/core';
import { generateSyntheticVideo } from '@mitosis/synth';
import { writeTiffStack } from '@mitosis/video';
import { keys } from './keys';
import type { StageRunner } from './stage-runner';
import { createThreadRunner } from './stage-runner';
import type { NormalCellMapTask } from './stage-task';
import { ingestTask as ingest } from './stage-task.testing';
import { createStore, parseStoreUrl } from './store';

/** The stage threads themselves: results, errors with their kinds, and cancellation that stops a training at once. */
let dir: string;
let runner: StageRunner;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stage-runner-'));
  await writeTiffStack(path.join(dir, 'v.tif'), generateSyntheticVideo({ frames: 8, width: 64, height: 48 }).volume);
  const location = parseStoreUrl(`file://${path.join(dir, 'store')}`);
  const store = await createStore(location);
  await store.put(keys.videoSource('v1'), new Uint8Array(await readFile(path.join(dir, 'v.tif'))));
  runner = createThreadRunner({ store: location, backend: 'wasm' });
});

afterAll(async () => {
  await runner?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('createThreadRunner', () => {
  it('runs a stage in a thread and relays its progress', async () => {
    const steps: string[] = [];
    const outcome = await runner.run(ingest('v1'), { progress: (e) => steps.push(`${e.step} ${e.done}/${e.total}`) });
    expect(outcome).toMatchObject({ stage: 'ingest', outputs: { frames: 'videos/v1/frames' }, metrics: { frames: 8, downscaledWidth: 32 } });
    expect(steps).toEqual(['ingest 0/3', 'ingest 1/3', 'ingest 2/3', 'ingest 3/3']);
  });

  it('rejects with the error kind and message the stage threw', async () => {
    const error = await runner.run(ingest('nothing')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MitosisError);
    expect(error).toMatchObject({ kind: 'NOT_FOUND', message: 'video nothing has no uploaded source (videos/nothing/source)' });
  });

  it('ends a training at once when cancelled, and runs the next task on a fresh thread', async () => {
    const m1: NormalCellMapTask = {
      stage: 'm1',
      jobId: 'j',
      videoId: 'v1',
      framesKey: keys.videoFrames('v1'),
      prefix: 'analyses/j',
      iterations: 100_000,
      crop: 16,
      seed: 1,
      normalMap: 0,
    };
    const controller = new AbortController();
    let iterations = 0;
    const running = runner.run(m1, {
      signal: controller.signal,
      progress: (e) => {
        if (e.step === 'm1.train') iterations = e.done;
        if (iterations === 3) controller.abort(new MitosisError('CANCELLED', 'job j was cancelled'));
      },
    });
    expect(runner.threads).toBe(1);
    await expect(running).rejects.toMatchObject({ kind: 'CANCELLED', message: 'job j was cancelled' });
    expect(iterations).toBe(3);
    // The thread is gone (terminated mid-training), not left computing in the background.
    for (const deadline = Date.now() + 5_000; runner.threads > 0 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(runner.threads).toBe(0);
    expect((await runner.run(ingest('v1'))).metrics).toMatchObject({ reused: 1 });
    expect(runner.threads).toBe(1);
  });
});
