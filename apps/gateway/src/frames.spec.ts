import { resolveFrameRange } from './frames';

describe('resolveFrameRange', () => {
  it('absent means the whole video', () => {
    expect(resolveFrameRange(undefined, 12, 'frames')).toEqual({ first: 1, last: 12 });
  });
  it('keeps a range inside the video', () => {
    expect(resolveFrameRange({ first: 12, last: 12 }, 12, 'frames')).toEqual({ first: 12, last: 12 });
  });
  it.each([
    [{ first: 0, last: 3 }, 'frames 0:3 starts at frame 0'],
    [{ first: 5, last: 4 }, 'frames 5:4 is empty'],
    [{ first: 2, last: 13 }, "frames 2:13 ends after the video's last frame (12)"],
  ])('refuses %p naming the field', (range, message) => {
    expect(() => resolveFrameRange(range, 12, 'frames')).toThrow(expect.objectContaining({ kind: 'INVALID_ARGUMENT', message: expect.stringContaining(message) }));
  });
});
