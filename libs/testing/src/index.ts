export { startNatsServer, uniqueName } from './nats-server';
export type { NatsServerFixture, NatsServerOptions, NatsServerAuth } from './nats-server';
export { startS3Server, uniqueBucketName } from './s3-server';
export type { S3ServerFixture, S3ServerOptions, S3RequestRecord, S3InterruptOptions } from './s3-server';
export { workspaceRoot, sharedPath, cetres } from './shared-data';
export { workerLauncher } from './worker-process';
export type { WorkerLauncher, WorkerRun, WorkerExit, LogLine } from './worker-process';
export { itRunsAsWorkerProcess } from './worker-process-checks';
export type { WorkerProcessSubject } from './worker-process-checks';
