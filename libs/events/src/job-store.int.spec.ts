import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { MitosisError, NotFoundError, PreconditionError } from '@mitosis/core';
import { startNatsServer, uniqueName } from '@mitosis/testing';
import type { Job, JobState } from './job';
import { newJob } from './lifecycle';
import type { JobStore } from './job-store';
import { createJobStore } from './job-store';
import type { EventNames } from './names';
import { ensureTopology } from './topology';

let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;
let names: EventNames;
let jobs: JobStore;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  names = await ensureTopology(nc, { prefix: uniqueName('jobs'), storage: 'memory' });
  jobs = await createJobStore(nc.jetstream(), names.jobsBucket);
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe('createJobStore', () => {
  it('creates, reads and lists jobs, newest first', async () => {
    const older = newJob({ id: uniqueName('j'), kind: 'analysis', stages: ['ingest'], now: new Date('2024-01-01T00:00:00Z') });
    const newer = newJob({ id: uniqueName('j'), kind: 'detection', stages: ['m3-detect'], now: new Date('2024-02-01T00:00:00Z') });
    await jobs.create(older);
    await jobs.create(newer);
    expect(await jobs.get(older.id)).toEqual(older);
    const listed = (await jobs.list()).filter((j) => j.id === older.id || j.id === newer.id);
    expect(listed.map((j) => j.id)).toEqual([newer.id, older.id]);
  });

  it('refuses a second job with the same id and answers NotFoundError for an unknown one', async () => {
    const job = newJob({ id: uniqueName('j'), kind: 'analysis', stages: [] });
    await jobs.create(job);
    const again = jobs.create(job);
    await expect(again).rejects.toBeInstanceOf(MitosisError);
    await expect(again).rejects.toMatchObject({ kind: 'ALREADY_EXISTS' });
    await expect(jobs.get('nobody')).rejects.toThrow(NotFoundError);
    await expect(jobs.update('nobody', () => undefined)).rejects.toThrow(NotFoundError);
  });

  it('loses no update when two workers, on two connections, update one job at once', async () => {
    const job = newJob({ id: uniqueName('j'), kind: 'analysis', stages: ['m1', 'm2'], params: { count: 0 } });
    await jobs.create(job);
    const nc2 = await connect({ servers: server.url });
    try {
      const other = await createJobStore(nc2.jetstream(), names.jobsBucket);
      let mutateCalls = 0;
      const increment = (store: JobStore) =>
        store.update(job.id, (j) => {
          mutateCalls++;
          j.params['count'] = (j.params['count'] as number) + 1;
        });
      // 25 concurrent increments from each store: most compare-and-sets lose at least once.
      await Promise.all([...Array.from({ length: 25 }, () => increment(jobs)), ...Array.from({ length: 25 }, () => increment(other))]);
      expect((await jobs.get(job.id)).params['count']).toBe(50);
      expect(mutateCalls).toBeGreaterThan(50); // conflicts did happen and were re-applied
    } finally {
      await nc2.close();
    }
  });

  it('writes nothing for a mutation that changes nothing, and refuses to change the id', async () => {
    const job = await jobs.create(newJob({ id: uniqueName('j'), kind: 'analysis', stages: [] }));
    const same = await jobs.update(job.id, () => undefined);
    expect(same.updatedAt).toBe(job.updatedAt);
    await expect(jobs.update(job.id, (j) => ({ ...j, id: 'other' }))).rejects.toThrow(/may not change its id/);
  });

  it('watch yields the current snapshot, then every update in order, and ends at the final state', async () => {
    const job = await jobs.create(newJob({ id: uniqueName('j'), kind: 'analysis', stages: ['m1'] }));
    const watch = jobs.watch(job.id);
    const first = await watch.next();
    expect(first.value).toMatchObject({ state: 'QUEUED' });

    const seen: Job[] = [];
    const collecting = (async () => {
      for await (const snapshot of watch) seen.push(snapshot);
    })();
    const set = (mutate: (j: Job) => void) => jobs.update(job.id, mutate);
    await set((j) => {
      j.state = 'RUNNING';
    });
    for (const done of [1, 2, 3]) {
      await set((j) => {
        j.stages.m1 = { state: 'RUNNING', done, total: 3, attempts: 1 };
      });
    }
    await set((j) => {
      j.state = 'SUCCEEDED';
    });
    await collecting; // ends by itself after SUCCEEDED
    expect(seen.map((j) => [j.state, j.stages.m1?.done])).toEqual([
      ['RUNNING', 0],
      ['RUNNING', 1],
      ['RUNNING', 2],
      ['RUNNING', 3],
      ['SUCCEEDED', 3],
    ]);
  });

  it('watch of an ended job gives its final snapshot and ends; of an unknown job, NotFoundError', async () => {
    const job = await jobs.create(newJob({ id: uniqueName('j'), kind: 'analysis', stages: [] }));
    await jobs.update(job.id, (j) => {
      j.state = 'CANCELLED';
    });
    const states: JobState[] = [];
    for await (const snapshot of jobs.watch(job.id)) states.push(snapshot.state);
    expect(states).toEqual(['CANCELLED']);
    await expect(jobs.watch('nobody').next()).rejects.toThrow(NotFoundError);
  });

  it('watch stops when its signal aborts (a WatchJob client went away)', async () => {
    const job = await jobs.create(newJob({ id: uniqueName('j'), kind: 'analysis', stages: [] }));
    const controller = new AbortController();
    const states: JobState[] = [];
    const watching = (async () => {
      for await (const snapshot of jobs.watch(job.id, { signal: controller.signal })) {
        states.push(snapshot.state);
        if (snapshot.state === 'RUNNING') controller.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await jobs.update(job.id, (j) => {
      j.state = 'RUNNING';
    });
    await watching;
    expect(states).toEqual(['QUEUED', 'RUNNING']);
  });

  it('needs the bucket made by ensureTopology', async () => {
    await expect(createJobStore(nc.jetstream(), uniqueName('missing'))).rejects.toThrow(PreconditionError);
  });
});
