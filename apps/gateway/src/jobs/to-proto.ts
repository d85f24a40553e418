import type { Job, JobState as JobStateName, Stage, StageStatus } from '@mitosis/events';
import { STAGES } from '@mitosis/events';
import type { AnalysisJobResult, DetectionJobResult, TrainingJobResult } from '@mitosis/proto';
import { Job as ProtoJob, JobKind, JobState, StageProgress } from '@mitosis/proto';
import { toProtoStage } from '@mitosis/service-kit';

export const PROTO_JOB_STATE: Readonly<Record<JobStateName, JobState>> = {
  QUEUED: JobState.JOB_STATE_QUEUED,
  RUNNING: JobState.JOB_STATE_RUNNING,
  SUCCEEDED: JobState.JOB_STATE_SUCCEEDED,
  FAILED: JobState.JOB_STATE_FAILED,
  CANCELLED: JobState.JOB_STATE_CANCELLED,
};

export const PROTO_JOB_KIND: Readonly<Record<string, JobKind>> = {
  analysis: JobKind.JOB_KIND_ANALYSIS,
  training: JobKind.JOB_KIND_TRAINING,
  detection: JobKind.JOB_KIND_DETECTION,
};

/** The summary of a SUCCEEDED job (Job.result), matching its kind. */
export type JobResult = { $case: 'analysis'; value: AnalysisJobResult } | { $case: 'training'; value: TrainingJobResult } | { $case: 'detection'; value: DetectionJobResult };

const date = (iso: string | undefined): Date | undefined => (iso === undefined ? undefined : new Date(iso));

/** The job's stages in the order they run (the STAGES order is the pipeline order of every kind). */
export function stagesInOrder(job: Job): [Stage, StageStatus][] {
  const out: [Stage, StageStatus][] = [];
  for (const stage of STAGES) {
    const status = job.stages[stage];
    if (status !== undefined) out.push([stage, status]);
  }
  return out;
}

function failureText(error: { kind: string; message: string; stage?: string } | undefined): string {
  if (error === undefined) return '';
  return error.stage === undefined ? error.message : `stage ${error.stage}: ${error.message}`;
}

export function stageProgressOf(job: Job, stage: Stage, status: StageStatus): StageProgress {
  return StageProgress.fromPartial({
    jobId: job.id,
    stage: toProtoStage(stage),
    state: PROTO_JOB_STATE[status.state],
    step: status.step ?? '',
    done: Math.max(0, Math.floor(status.done)),
    total: Math.max(0, Math.floor(status.total)),
    detail: status.detail ?? '',
    failureReason: status.state === 'FAILED' ? failureText(status.error) || failureText(job.error) : '',
    // Deliveries so far; a stage that has not been picked up yet is on its first attempt.
    attempt: Math.max(1, status.attempts),
    startTime: date(status.startedAt),
    updateTime: date(job.updatedAt),
    endTime: date(status.endedAt),
  });
}

/** The KV job record as the public mitosis.v1.Job. */
export function jobToProto(job: Job, result?: JobResult): ProtoJob {
  const videoId = job.params['videoId'];
  return ProtoJob.fromPartial({
    jobId: job.id,
    kind: PROTO_JOB_KIND[job.kind] ?? JobKind.JOB_KIND_UNSPECIFIED,
    videoId: typeof videoId === 'string' ? videoId : '',
    state: PROTO_JOB_STATE[job.state],
    stages: stagesInOrder(job).map(([stage, status]) => stageProgressOf(job, stage, status)),
    failureReason: job.state === 'FAILED' ? failureText(job.error) || 'failed' : '',
    createTime: date(job.createdAt),
    startTime: date(job.startedAt),
    endTime: date(job.endedAt),
    ...(job.state === 'SUCCEEDED' && result !== undefined ? { result } : {}),
  });
}
