import { PreconditionError } from '@mitosis/core';
import { checkFramesFor } from './frame-needs';

describe('checkFramesFor', () => {
  it('needs 2 frames for an analysis and k for training or detection', () => {
    expect(() => checkFramesFor('video "v"', 2, { job: 'analysis' })).not.toThrow();
    expect(() => checkFramesFor('video "v"', 5, { job: 'training', k: 5 })).not.toThrow();
    expect(() => checkFramesFor('video "v"', 1, { job: 'analysis' })).toThrow(
      new PreconditionError('video "v" has 1 frame; an analysis needs at least 2 (M2 learns how cells change from frame to frame)'),
    );
    expect(() => checkFramesFor('video "v"', 4, { job: 'detection', k: 5 })).toThrow(
      new PreconditionError('video "v" has 4 frames; detection with k = 5 needs at least 5 (one window of k consecutive frames)'),
    );
  });
});
