import { InvalidInputError } from './errors';
import { frameRangeLength, parseFrameRange } from './frame-range';

describe('parseFrameRange', () => {
  it('reads A:B and open-ended A:', () => {
    expect(parseFrameRange('1:110')).toEqual({ first: 1, last: 110 });
    expect(parseFrameRange('111:', 200)).toEqual({ first: 111, last: 200 });
    expect(frameRangeLength(parseFrameRange('93:110'))).toBe(18);
  });

  it.each(['', '5', '0:3', '7:3', 'a:b', '1:300'])('rejects %p with a clear error', (text) => {
    expect(() => parseFrameRange(text, 200)).toThrow(InvalidInputError);
  });
});
