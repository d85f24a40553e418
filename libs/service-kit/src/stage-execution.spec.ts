import { createMemoryBlobStore } from '@mitosis/core';
import { keys } from './keys';
import { executeStage } from './stage-execution';

describe('executeStage', () => {
  it('runs a stage other than ingest only on frames ingest has stored', async () => {
    const m1 = { stage: 'm1', jobId: 'j', videoId: 'v9', framesKey: keys.videoFrames('v9'), prefix: 'analyses/j', iterations: 1, crop: 8, seed: 1 } as const;
    await expect(executeStage(m1, { store: createMemoryBlobStore() })).rejects.toMatchObject({
      kind: 'FAILED_PRECONDITION',
      message: 'video v9 has no preprocessed frames (videos/v9/frames): ingest it first (a job with an ingest stage)',
    });
  });
});
