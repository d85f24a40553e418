import { PreconditionError } from '@mitosis/core';
import type { Job } from '@mitosis/events';
import { checkId } from '../storage/keys';
import type { ServiceContext } from './context';

/** "an analysis", "a training": the article goes by the sound of the kind's first letter. */
const withArticle = (kind: string): string => `${/^[aeiou]/i.test(kind) ? 'an' : 'a'} ${kind}`;

/**
 * The job whose results a call reads: NOT_FOUND when unknown, FAILED_PRECONDITION when it is of
 * another kind or has not SUCCEEDED (the message says its state, and why it failed if it did).
 */
export async function requireSucceededJob(ctx: ServiceContext, jobId: string, kind: string): Promise<Job> {
  const job = await ctx.jobs.get(checkId(jobId, 'job_id'));
  if (job.kind !== kind) throw new PreconditionError(`job "${job.id}" is ${withArticle(job.kind)} job, not ${withArticle(kind)} job`);
  if (job.state !== 'SUCCEEDED') {
    const why = job.state === 'FAILED' && job.error !== undefined ? `: ${job.error.message}` : '';
    throw new PreconditionError(`${kind} job "${job.id}" is ${job.state}${why}; its results are ready once it has SUCCEEDED`);
  }
  return job;
}
