import { tableIIMarkdown } from './table';

describe('tableIIMarkdown', () => {
  it('shows our F1 beside the paper for each (k, frames) cell and dashes where frames < k', () => {
    const md = tableIIMarkdown([{ k: 8, frames: 18, f1Th1: 0.5, f1Th3: 0.6, annotations: 12, detections: 30 }], [4, 8, 14], [10, 18], 8);
    const lines = md.split('\n');
    expect(lines[0]).toBe('| k | 10 frames | 18 frames |');
    expect(lines[2]).toBe('| 4 | not run (paper 0.788 / 0.812) | not run (paper 0.806 / 0.830) |');
    expect(lines[3]).toBe('| 8 (recommended) | not run (paper 0.836 / 0.877) | **0.500 / 0.600** (paper 0.880 / 0.907) |');
    expect(lines[4]).toBe('| 14 | - | not run (paper 0.850 / 0.888) |');
  });
});
