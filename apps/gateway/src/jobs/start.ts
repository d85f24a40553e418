import type { BlobStore } from '@mitosis/core';
import { MitosisError } from '@mitosis/core';
import type { EventNames, Job, JobStore } from '@mitosis/events';
import { newJob } from '@mitosis/events';
import type { AnalysisJobParams, DetectionJobParams, JobKind, TrainingJobParams } from '@mitosis/service-kit';
import { buildStageRequest, checkJobParams, jobParamsJson, jobStages, nextStage, publishStage, stagesFor } from '@mitosis/service-kit';
import { trace } from '@opentelemetry/api';
import { ATTR, mitosisInstruments } from '@mitosis/telemetry';
import type { JetStreamClient } from 'nats';
import type { GatewayLogger } from '../logger';
import { newId } from '../storage/ids';
import { keys } from '../storage/keys';

/** What starting a job needs: the job bucket, the work stream and the store (for "is it ingested?"). */
export interface JobStarterDeps {
  readonly store: BlobStore;
  readonly jobs: JobStore;
  readonly js: JetStreamClient;
  readonly names: EventNames;
  readonly log: GatewayLogger;
}

export interface StartJobInput {
  readonly kind: JobKind;
  readonly params: AnalysisJobParams | TrainingJobParams | DetectionJobParams;
  /** Runs after the record exists and before the work is published (e.g. the model record). */
  readonly beforePublish?: (job: Job) => Promise<void>;
}

/** True once ingest stored the video's preprocessed frames (their metadata is written last). */
export async function isIngested(store: BlobStore, videoId: string): Promise<boolean> {
  return store.exists(keys.videoFramesMeta(videoId));
}

/**
 * Creates the job record (QUEUED, its stages in order, the request as params) and publishes the
 * first stage's work through service-kit's chaining (buildStageRequest: the same messages the
 * workers build for the stages after it; msg id `<jobId>:<stage>:1`). Ingest comes first when
 * the video has no preprocessed frames yet (the proto's "preceded by INGEST if the video was not
 * yet preprocessed"). If anything fails once the record exists, the job is marked FAILED with
 * the reason, so no job stays QUEUED with no work behind it.
 */
export async function startJob(deps: JobStarterDeps, input: StartJobInput): Promise<Job> {
  const params = checkJobParams(input.kind, input.params);
  const ingest = !(await isIngested(deps.store, params.videoId));
  const job = newJob({ id: newId('job'), kind: input.kind, stages: stagesFor(input.kind, { ingest }), params: jobParamsJson(params) });
  // Every stage's work message must build from these params, before anything is stored.
  for (const stage of jobStages(job)) buildStageRequest(job, stage);
  const created = await deps.jobs.create(job);
  // The call's span names the job: its stages' spans (other processes) join this trace.
  trace.getActiveSpan()?.setAttributes({ [ATTR.jobId]: created.id, [ATTR.jobKind]: created.kind, [ATTR.videoId]: params.videoId });
  mitosisInstruments().jobsStarted.add(1, { [ATTR.jobKind]: created.kind });
  const first = nextStage(created);
  try {
    await input.beforePublish?.(created);
    if (first !== undefined) await publishStage(deps, created, first);
  } catch (error: unknown) {
    deps.log.error('could not queue the first stage', { jobId: created.id, stage: first, error });
    const reason = `the gateway could not queue stage ${first ?? '(none)'}`;
    await deps.jobs
      .update(created.id, (record) => {
        record.state = 'FAILED';
        record.endedAt = new Date().toISOString();
        record.error = { kind: 'INTERNAL', message: reason, ...(first === undefined ? {} : { stage: first }) };
        for (const status of Object.values(record.stages)) {
          if (status !== undefined && status.state === 'QUEUED') status.state = 'FAILED';
        }
      })
      .catch((markError: unknown) => deps.log.error('could not mark the job FAILED', { jobId: created.id, error: markError }));
    throw new MitosisError('INTERNAL', reason, { cause: error });
  }
  deps.log.info('job queued', { jobId: created.id, kind: input.kind, stages: jobStages(created) });
  return created;
}
