import { credentials } from '@grpc/grpc-js';
import type { ChannelCredentials, ClientOptions } from '@grpc/grpc-js';
import { AnalysisServiceClient, AnnotationServiceClient, DetectionServiceClient, JobServiceClient, ModelServiceClient, VideoServiceClient } from '@mitosis/proto';

/** A client of each public gRPC service of one gateway. */
export interface GatewayClients {
  readonly videos: VideoServiceClient;
  readonly jobs: JobServiceClient;
  readonly analyses: AnalysisServiceClient;
  readonly annotations: AnnotationServiceClient;
  readonly models: ModelServiceClient;
  readonly detections: DetectionServiceClient;
  /** Closes every client. */
  close(): void;
}

/** Connects a client of each public service to the gateway at `address` (plaintext unless `creds` says otherwise). */
export function gatewayClients(address: string, options: ClientOptions = {}, creds: ChannelCredentials = credentials.createInsecure()): GatewayClients {
  const clients = {
    videos: new VideoServiceClient(address, creds, options),
    jobs: new JobServiceClient(address, creds, options),
    analyses: new AnalysisServiceClient(address, creds, options),
    annotations: new AnnotationServiceClient(address, creds, options),
    models: new ModelServiceClient(address, creds, options),
    detections: new DetectionServiceClient(address, creds, options),
  };
  return {
    ...clients,
    close: () => {
      for (const client of Object.values(clients)) client.close();
    },
  };
}
