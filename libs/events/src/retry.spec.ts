import { InvalidInputError, MitosisError, NotFoundError, PreconditionError, ResourceExhaustedError } from '@mitosis/core';
import { errorKind, isRetryable, retryDelayMs } from './retry';

describe('isRetryable', () => {
  it('gives up at once on bad input, missing things and broken preconditions', () => {
    expect(isRetryable(new InvalidInputError('frame 3 is empty'))).toBe(false);
    expect(isRetryable(new NotFoundError('no video v1'))).toBe(false);
    expect(isRetryable(new PreconditionError('k > frames'))).toBe(false);
  });

  it('retries everything else, plain errors included', () => {
    expect(isRetryable(new ResourceExhaustedError('GPU memory'))).toBe(true);
    expect(isRetryable(new MitosisError('INTERNAL', 'bug'))).toBe(true);
    expect(isRetryable(new Error('ECONNRESET'))).toBe(true);
    expect(isRetryable('a string')).toBe(true);
  });

  it('reads the kind by shape, so an error from another copy of core still counts', () => {
    expect(errorKind({ kind: 'NOT_FOUND', message: 'x' })).toBe('NOT_FOUND');
    expect(isRetryable({ kind: 'FAILED_PRECONDITION' })).toBe(false);
    expect(errorKind(new Error('x'))).toBe('INTERNAL');
    expect(errorKind(null)).toBe('INTERNAL');
  });
});

describe('retryDelayMs', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    const backoff = { initialMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, backoff))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('defaults to 1 s doubling up to a minute, and stays finite for huge counts', () => {
    expect(retryDelayMs(1)).toBe(1_000);
    expect(retryDelayMs(3)).toBe(4_000);
    expect(retryDelayMs(1_000)).toBe(60_000);
  });
});
