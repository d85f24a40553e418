import type { Job } from '@mitosis/events';
import { cancelJob as cancelJobRecord, recordTransition } from '@mitosis/events';
import type { JobServiceServer, ListJobsRequest, ListJobsResponse } from '@mitosis/proto';
import { JobKind, JobState } from '@mitosis/proto';
import { checkAlive, serverStreaming, unary } from '../grpc/calls';
import { PROTO_JOB_KIND, PROTO_JOB_STATE, jobToProto } from '../jobs/to-proto';
import { watchMessages } from '../jobs/watch';
import { decodePageToken, encodePageToken, pageSize } from '../paging';
import { checkId } from '../storage/keys';
import type { ServiceContext } from './context';

interface JobCursor {
  /** createdAt and id of the last job of the previous page. */
  c: string;
  i: string;
}
const isJobCursor = (value: unknown): value is JobCursor =>
  typeof value === 'object' && value !== null && typeof (value as JobCursor).c === 'string' && typeof (value as JobCursor).i === 'string';

/** Newest first; ties (same millisecond) by id, so the order is total and pages never overlap. */
function newestFirst(a: Job, b: Job): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * One page of jobs. The token holds the position (creation time and id) of the last job sent,
 * not an offset, so jobs created while a client pages through do not shift the pages.
 */
export async function listJobs(ctx: ServiceContext, request: ListJobsRequest): Promise<ListJobsResponse> {
  const size = pageSize(request.pageSize, 100, 1000);
  const after = request.pageToken === '' ? undefined : decodePageToken(request.pageToken, isJobCursor);
  const matching = (await ctx.jobs.list())
    .filter(
      (job) =>
        (request.videoId === '' || job.params['videoId'] === request.videoId) &&
        (request.state === JobState.JOB_STATE_UNSPECIFIED || PROTO_JOB_STATE[job.state] === request.state) &&
        (request.kind === JobKind.JOB_KIND_UNSPECIFIED || PROTO_JOB_KIND[job.kind] === request.kind),
    )
    .sort(newestFirst);
  const start = after === undefined ? 0 : matching.findIndex((job) => newestFirst(job, { createdAt: after.c, id: after.i } as Job) > 0);
  const page = start < 0 ? [] : matching.slice(start, start + size);
  const last = page.at(-1);
  const more = start >= 0 && start + size < matching.length;
  const jobs = await Promise.all(page.map(async (job) => jobToProto(job, await ctx.results.resultOf(job))));
  return { jobs, nextPageToken: more && last !== undefined ? encodePageToken({ c: last.createdAt, i: last.id }) : '' };
}

/**
 * Records the cancel through the lifecycle (cancelJob): the job and every stage not yet ended
 * become CANCELLED. Queued work is dropped by the consumer when it sees the job cancelled; a
 * running stage stops at its next progress report (the events lib aborts its signal). An ended
 * job is returned unchanged.
 */
export async function cancelJob(ctx: ServiceContext, jobId: string): Promise<Job> {
  return (await recordTransition(ctx.jobs, checkId(jobId, 'job_id'), (job) => cancelJobRecord(job), ['job-ended'])).job;
}

export function jobService(ctx: ServiceContext): JobServiceServer {
  const withResult = async (job: Job) => jobToProto(job, await ctx.results.resultOf(job));
  return {
    getJob: unary(ctx.log, async (request) => ({ job: await withResult(await ctx.jobs.get(checkId(request.jobId, 'job_id'))) })),
    listJobs: unary(ctx.log, (request) => listJobs(ctx, request)),
    cancelJob: unary(ctx.log, async (request) => {
      const job = await cancelJob(ctx, request.jobId);
      ctx.log.info('job cancel requested', { jobId: job.id, state: job.state });
      return { job: await withResult(job) };
    }),
    // The KV watch replays the current record, then every update, and ends after a final state.
    watchJob: serverStreaming(ctx.log, async (request, send, call) => {
      let previous: Job | undefined;
      for await (const job of ctx.jobs.watch(checkId(request.jobId, 'job_id'), { signal: call.signal })) {
        for (const message of watchMessages(previous, job)) await send(message);
        previous = job;
      }
      // The watch also ends quietly when the call is cancelled or expires: that is no success.
      checkAlive(call.signal);
    }),
  };
}
