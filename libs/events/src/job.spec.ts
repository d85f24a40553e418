import { InvalidInputError } from '@mitosis/core';
import { isFinalJobState, isJob } from './job';
import { newJob } from './lifecycle';

describe('newJob', () => {
  it('starts QUEUED with each listed stage QUEUED and nothing done', () => {
    const job = newJob({ id: 'j1', kind: 'analysis', stages: ['ingest', 'm1', 'm2'], params: { seed: 7 }, now: new Date(0) });
    expect(job).toEqual({
      id: 'j1',
      kind: 'analysis',
      state: 'QUEUED',
      createdAt: '1970-01-01T00:00:00.000Z',
      updatedAt: '1970-01-01T00:00:00.000Z',
      stages: {
        ingest: { state: 'QUEUED', done: 0, total: 0, attempts: 0 },
        m1: { state: 'QUEUED', done: 0, total: 0, attempts: 0 },
        m2: { state: 'QUEUED', done: 0, total: 0, attempts: 0 },
      },
      outputs: {},
      params: { seed: 7 },
    });
    expect(isJob(JSON.parse(JSON.stringify(job)))).toBe(true);
  });

  it('rejects an id that cannot be a subject token and an unknown stage', () => {
    expect(() => newJob({ id: 'a.b', kind: 'x', stages: [] })).toThrow(InvalidInputError);
    expect(() => newJob({ id: 'a', kind: 'x', stages: ['m9' as never] })).toThrow(/unknown stage/);
  });
});

describe('job states', () => {
  it('knows the final ones', () => {
    expect(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'].map((s) => isFinalJobState(s as never))).toEqual([false, false, true, true, true]);
  });

  it('refuses records of the wrong shape', () => {
    expect(isJob(null)).toBe(false);
    expect(isJob({ id: 'x' })).toBe(false);
    const job = newJob({ id: 'a', kind: 'x', stages: [] });
    expect(isJob({ ...job, state: 'DONE' })).toBe(false);
  });
});
