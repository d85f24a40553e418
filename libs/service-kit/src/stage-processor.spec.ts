import { lossOf } from './stage-processor';

describe('lossOf', () => {
  it('reads the loss the training steps put in the progress detail', () => {
    expect(lossOf({ step: 'm1.train', done: 3, total: 100, detail: 'loss 0.6931' })).toBe(0.6931);
    expect(lossOf({ step: 'm3.train', done: 1, total: 3, detail: 'loss 1.2e-3' })).toBe(0.0012);
  });

  it('ignores progress without a finite loss', () => {
    expect(lossOf({ step: 'm1.maps', done: 1, total: 24 })).toBeUndefined();
    expect(lossOf({ step: 'ingest', done: 1, total: 3, detail: 'decoding frames' })).toBeUndefined();
    expect(lossOf({ step: 'm2.train', done: 1, total: 1, detail: 'loss NaN' })).toBeUndefined();
    expect(lossOf({ step: 'm2.train', done: 1, total: 1, detail: 'loss undefined' })).toBeUndefined();
  });
});
