import { InvalidInputError, NotFoundError, exitCodeFor, exitCodes, isMitosisError } from './errors';

describe('errors', () => {
  it('carries a kind and maps it to a distinct exit code', () => {
    const e = new InvalidInputError('frame 3 is corrupt', { cause: new Error('zlib') });
    expect(isMitosisError(e)).toBe(true);
    expect(e.kind).toBe('INVALID_ARGUMENT');
    expect(e.name).toBe('InvalidInputError');
    expect(e.cause).toBeInstanceOf(Error);
    expect(exitCodeFor(e)).toBe(exitCodes.INVALID_ARGUMENT);
    expect(exitCodeFor(new NotFoundError('x'))).toBe(exitCodes.NOT_FOUND);
    expect(exitCodeFor(new Error('boom'))).toBe(exitCodes.INTERNAL);
    expect(new Set(Object.values(exitCodes)).size).toBe(Object.keys(exitCodes).length);
  });
});
