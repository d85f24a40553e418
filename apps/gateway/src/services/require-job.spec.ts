import type { Job } from '@mitosis/events';
import type { ServiceContext } from './context';
import { requireSucceededJob } from './require-job';

const contextWith = (job: Pick<Job, 'id' | 'kind' | 'state'>): ServiceContext => ({ jobs: { get: () => Promise.resolve(job) } }) as unknown as ServiceContext;

describe('requireSucceededJob', () => {
  it('names the kinds with the right article', async () => {
    const training = contextWith({ id: 'job-t', kind: 'training', state: 'SUCCEEDED' });
    await expect(requireSucceededJob(training, 'job-t', 'analysis')).rejects.toMatchObject({
      kind: 'FAILED_PRECONDITION',
      message: 'job "job-t" is a training job, not an analysis job',
    });
    const analysis = contextWith({ id: 'job-a', kind: 'analysis', state: 'SUCCEEDED' });
    await expect(requireSucceededJob(analysis, 'job-a', 'detection')).rejects.toMatchObject({ message: 'job "job-a" is an analysis job, not a detection job' });
  });
});
