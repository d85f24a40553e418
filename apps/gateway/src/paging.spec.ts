import { decodePageToken, encodePageToken, pageSize } from './paging';

const isOffset = (value: unknown): value is { o: number } => typeof value === 'object' && value !== null && typeof (value as { o: unknown }).o === 'number';

describe('page tokens', () => {
  it('round-trip', () => {
    const token = encodePageToken({ o: 42 });
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, isOffset)).toEqual({ o: 42 });
  });

  it.each(['not a token', 'e30', encodePageToken({ c: 'x', i: 'y' }), '%%%'])('refuses %p as INVALID_ARGUMENT', (token) => {
    expect(() => decodePageToken(token, isOffset)).toThrow(expect.objectContaining({ kind: 'INVALID_ARGUMENT', message: expect.stringContaining('page_token') }));
  });

  it('page_size: 0 is the default, above the maximum is refused', () => {
    expect(pageSize(0, 100, 1000)).toBe(100);
    expect(pageSize(1000, 100, 1000)).toBe(1000);
    expect(() => pageSize(1001, 100, 1000)).toThrow(/page_size 1001 is above the maximum of 1000/);
  });
});
