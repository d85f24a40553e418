import { InvalidInputError } from '@mitosis/core';
import { annealedRate, checkAnnealFrom } from './sampling';

describe('annealedRate', () => {
  it('keeps the base rate up to annealFrom, then decays linearly to 2% at the last update', () => {
    const rates = Array.from({ length: 10 }, (_, i) => annealedRate(1e-3, i, 10, 0.5));
    // Updates 1-5 of 10 (progressed 0.1-0.5) at the base rate.
    expect(rates.slice(0, 5)).toEqual([1e-3, 1e-3, 1e-3, 1e-3, 1e-3]);
    // Update 6 (progressed 0.6): (1 - 0.6) / (1 - 0.5) = 0.8 of it, then 0.6, 0.4, 0.2.
    expect(rates[5]).toBeCloseTo(0.8e-3, 12);
    expect(rates[8]).toBeCloseTo(0.2e-3, 12);
    // The last update: floored at 2%, never 0.
    expect(rates[9]).toBeCloseTo(0.02e-3, 12);
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeLessThanOrEqual(rates[i - 1] as number);
  });

  it('is constant with annealFrom 1 (the paper)', () => {
    for (let i = 0; i < 7; i++) expect(annealedRate(2e-3, i, 7, 1)).toBe(2e-3);
  });

  it('rejects annealFrom outside (0, 1]', () => {
    for (const bad of [0, -0.5, 1.5, Number.NaN]) expect(() => checkAnnealFrom(bad)).toThrow(InvalidInputError);
    expect(checkAnnealFrom(0.25)).toBe(0.25);
  });
});
