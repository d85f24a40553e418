// Config and wiring
export { loadConfig, parseHostPort, parseByteSize, DEFAULT_STAGE_DEFAULTS, SERVICE_ENV_NAMES, GATEWAY_ENV_NAMES } from './config';
export type { ServiceConfig, StageDefaults, BackendChoice, LogLevel, StageIsolation, Environment, ServiceEnvName, GatewayEnvName } from './config';
export { parseStoreUrl, createStore } from './store';
export type { StoreLocation, ServiceStore } from './store';
export { withTransientRetries, isTransientConnectionError } from './transient-retry';
export type { TransientRetryOptions } from './transient-retry';
export { keys, checkId, arrayMetadataKey } from './keys';
export { createLogger } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { installShutdown } from './shutdown';
export type { StopFn, Shutdown, ShutdownOptions, SignalSource } from './shutdown';
export { startHealthServer } from './health';
export type { HealthServer, HealthServerOptions, HealthReport } from './health';
export { createHealthService, startGrpcHealthServer, loadHealthProto, healthProtoDir, HEALTH_PROTO, HEALTH_SERVICE_NAME, WORKER_LIVENESS_SERVICE } from './health-grpc';
export type { HealthService, ServingStatus, GrpcHealthServer } from './health-grpc';
export { toServiceError, GRPC_STATUS_BY_KIND } from './service-error';
export type { ErrorLog } from './service-error';

// Contract and chaining
export { stageRequestCodec, checkStageRequest, toProtoStage, fromProtoStage, PARAMS_CASE } from './stage-codec';
export { JOB_KINDS, isJobKind, checkJobKind, checkJobParams, jobParamsJson } from './job-params';
export type { JobKind, JobParamsOf, AnalysisJobParams, TrainingJobParams, DetectionJobParams } from './job-params';
export { stagesFor, jobStages, nextStage, buildStageRequest, publishStage, startJob, completeStage, topologyConfig, PRIMARY_OUTPUT, DEFAULT_SEED } from './pipeline';
export type { ChainDeps, StartJobDeps, StartJobInput, CompleteStageInput, CompleteStageResult } from './pipeline';

// Running stages
export { resolveStageTask } from './task-resolution';
export { executeStage } from './stage-execution';
export type { ExecuteDeps } from './stage-execution';
export { isIngested, storedFrames } from './ingest-stage';
export type { StageTask, IngestTask, NormalCellMapTask, EventLengthTask, TrainTask, DetectTask, StageOutcome } from './stage-task';
export { readAnnotationSet } from './stored-files';
export type { DetectionsFile, AnnotationSetFile, VideoFile } from './stored-files';
export { detectSourceFormat, readFrameArchive, writeFrameArchive } from './frame-archive';
export { encodeOmeZarrReference, parseOmeZarrReference } from './ome-zarr-reference';
export type { OmeZarrReference } from './ome-zarr-reference';
export type { SourceFormat, ArchiveFrame } from './frame-archive';
export { createInlineRunner, createThreadRunner } from './stage-runner';
export type { StageRunner, ThreadRunnerOptions } from './stage-runner';
export { createStageProcessor } from './stage-processor';
export type { StageProcessorDeps } from './stage-processor';
export { startWorker } from './worker';
export type { Worker, WorkerOptions } from './worker';
export { runWorkerMain } from './worker-main';
export type { WorkerMainOptions } from './worker-main';
