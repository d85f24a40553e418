import type { Job } from '@mitosis/events';
import type { WatchJobResponse } from '@mitosis/proto';
import { PROTO_JOB_STATE, stageProgressOf, stagesInOrder } from './to-proto';

/**
 * The WatchJob messages one job snapshot gives after the previous one: with no previous snapshot
 * every stage (a late watcher catches up); afterwards one message per stage whose progress or
 * state changed. A change of the job's state alone (a cancel that touched no stage) is reported
 * on the stage it concerns: the first stage not yet ended, else the last one.
 */
export function watchMessages(previous: Job | undefined, job: Job): WatchJobResponse[] {
  const jobState = PROTO_JOB_STATE[job.state];
  const stages = stagesInOrder(job);
  const changed = stages.filter(([stage, status]) => previous === undefined || JSON.stringify(previous.stages[stage]) !== JSON.stringify(status));
  if (changed.length === 0 && previous !== undefined && previous.state !== job.state) {
    const concerned = stages.find(([, status]) => status.state === 'QUEUED' || status.state === 'RUNNING') ?? stages.at(-1);
    if (concerned !== undefined) changed.push(concerned);
  }
  return changed.map(([stage, status]) => ({ progress: stageProgressOf(job, stage, status), jobState }));
}
