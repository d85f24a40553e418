export { STAGES, WORKER_STAGES, DEFAULT_PREFIX, HEADERS, isStage, eventNames, checkStage, checkJobId } from './names';
export type { Stage, EventNames, WorkerName } from './names';
export { jsonCodec, bytesCodec } from './codec';
export type { Codec } from './codec';
export { ensureTopology, ensureStageConsumer, DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_DELIVER } from './topology';
export type { TopologyConfig, StageDeliverySettings } from './topology';
export { publishWork, workMsgId, publishJobEvent, jobEventCodec } from './publish';
export type { PublishWorkOptions, PublishResult, JobEvent } from './publish';
export { isJob, isFinalJobState, FINAL_JOB_STATES } from './job';
export {
  IllegalTransitionError,
  newJob,
  jobStages,
  nextStage,
  startStage,
  reportStageProgress,
  retryStage,
  succeedStage,
  finishStage,
  failStage,
  cancelStage,
  cancelJob,
  failJob,
  recordTransition,
  recordNewJob,
} from './lifecycle';
export type { RefusalCode, Transition, TransitionResult } from './lifecycle';
export type { Job, JobState, JobError, StageStatus, JsonValue, NewJobInput } from './job';
export { createJobStore } from './job-store';
export type { JobStore, JobStoreOptions } from './job-store';
export { createStageConsumer } from './stage-consumer';
export type { StageConsumer, StageConsumerOptions, StageContext } from './stage-consumer';
export { NON_RETRYABLE_KINDS, errorKind, isRetryable, retryDelayMs } from './retry';
export { isNatsOutage } from './nats-errors';
export type { RetryBackoff } from './retry';
export { silentLogger } from './logger';
export type { EventsLogger } from './logger';
export { observeConsumerLag } from './consumer-metrics';
export type { ConsumerLagOptions } from './consumer-metrics';
export {
  NATS_CREDENTIAL_VARIABLES,
  connectNats,
  describeNatsCredentials,
  natsAuthOptions,
  parseNatsCredentials,
  parseNatsServers,
  readCredsFile,
  redactNatsUrl,
} from './nats-connection';
export type { NatsCredentials, ConnectNatsOptions } from './nats-connection';
