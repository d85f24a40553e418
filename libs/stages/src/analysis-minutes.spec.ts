import { inMinutes } from './analysis';

describe('inMinutes', () => {
  it('turns event lengths and k into minutes at the stated frame interval', () => {
    expect(inMinutes({ mean: 6.5, p50: 6, p75: 8 }, 8, 300)).toEqual({ frameInterval: 5, mean: 32.5, p50: 30, p75: 40, k: 40 });
    expect(inMinutes({ mean: 1, p50: 1, p75: 1 }, 1, 7)).toEqual({ frameInterval: 0.117, mean: 0.117, p50: 0.117, p75: 0.117, k: 0.117 });
  });
});
