import { retryTransient } from './transient-retry';

const transient = (error: unknown): boolean => (error as Error).message === 'timeout';

/** An action failing with each of `errors` in turn, then answering 'done'; `calls` counts its calls. */
function failing(...errors: string[]): { action: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    action: () => {
      const error = errors[calls++];
      return error === undefined ? Promise.resolve('done') : Promise.reject(new Error(error));
    },
    calls: () => calls,
  };
}

describe('retryTransient', () => {
  it('tries again after transient failures, logging each, until the action answers', async () => {
    const warnings: unknown[] = [];
    const { action, calls } = failing('timeout', 'timeout');
    const log = { warn: (message: string, fields?: Record<string, unknown>) => warnings.push([message, fields?.['attempt'], fields?.['delayMs']]) };
    await expect(retryTransient(action, { isTransient: transient, attempts: 3, delayMs: 1, message: 'retrying', log })).resolves.toBe('done');
    expect(calls()).toBe(3);
    expect(warnings).toEqual([
      ['retrying', 1, 1],
      ['retrying', 2, 2],
    ]);
  });

  it('gives up after its attempts, at once on another failure, and once aborted', async () => {
    const bounded = failing('timeout', 'timeout', 'timeout');
    await expect(retryTransient(bounded.action, { isTransient: transient, attempts: 2, delayMs: 1, message: 'retrying' })).rejects.toThrow('timeout');
    expect(bounded.calls()).toBe(2);
    const answer = failing('bad request');
    await expect(retryTransient(answer.action, { isTransient: transient, attempts: 5, delayMs: 1, message: 'retrying' })).rejects.toThrow('bad request');
    expect(answer.calls()).toBe(1);
    const aborted = failing('timeout');
    await expect(retryTransient(aborted.action, { isTransient: transient, attempts: 5, delayMs: 1, message: 'retrying', signal: AbortSignal.abort() })).rejects.toThrow('timeout');
    expect(aborted.calls()).toBe(1);
  });

  it('caps each delay at maxDelayMs', async () => {
    const delays: unknown[] = [];
    const { action } = failing('timeout', 'timeout', 'timeout');
    const log = { warn: (_: string, fields?: Record<string, unknown>) => delays.push(fields?.['delayMs']) };
    await retryTransient(action, { isTransient: transient, attempts: 4, delayMs: 2, maxDelayMs: 5, message: 'retrying', log });
    expect(delays).toEqual([2, 4, 5]);
  });
});
