import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { CallOptions, ChannelCredentials, ChannelOptions, ClientUnaryCall, Server, ServiceError } from '@grpc/grpc-js';
import { Metadata, credentials } from '@grpc/grpc-js';
import type { BlobStore } from '@mitosis/core';
import type { EventNames, JobStore } from '@mitosis/events';
import { AnalysisServiceClient, AnnotationServiceClient, DetectionServiceClient, JobServiceClient, ModelServiceClient, StageRequest, VideoServiceClient } from '@mitosis/proto';
import type { UploadVideoRequest, UploadVideoResponse } from '@mitosis/proto';
import type { S3BlobStore } from '@mitosis/s3-store';
import type { HealthService } from '@mitosis/service-kit';
import { createS3BlobStore } from '@mitosis/s3-store';
import { generateSyntheticVideo } from '@mitosis/synth';
import type { NatsServerFixture, S3ServerFixture } from '@mitosis/testing';
import { startNatsServer, startS3Server, uniqueBucketName, uniqueName } from '@mitosis/testing';
import { encodeTiff } from '@mitosis/video';
import { frameOf } from '@mitosis/volume';
import type { JetStreamClient, NatsConnection } from 'nats';
import { connect } from 'nats';
import { shutdownGateway, startGatewayServer } from '../server';

/**
 * Real servers for the gateway's integration specs: a nats-server with JetStream and an S3 server
 * (s3rver) per spec file, a gateway on 127.0.0.1:0 per suite with a fresh prefix, bucket and
 * staging folder, and the generated clients of @mitosis/proto pointed at it.
 */
export interface Backends {
  readonly nats: NatsServerFixture;
  readonly s3: S3ServerFixture;
  stop(): Promise<void>;
}

export async function startBackends(): Promise<Backends> {
  const [nats, s3] = await Promise.all([startNatsServer(), startS3Server()]);
  return { nats, s3, stop: async () => void (await Promise.all([nats.stop(), s3.stop()])) };
}

export interface GatewayOptions {
  readonly authTokens?: readonly string[];
  readonly maxUploadBytes?: number;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Client credentials; default insecure. */
  readonly clientCredentials?: ChannelCredentials;
  /** Client channel options (e.g. grpc.ssl_target_name_override). */
  readonly channelOptions?: ChannelOptions;
  /** The store the gateway is given, made from the bucket's (e.g. one the spec can hold); `store` stays the bucket's. */
  readonly wrapStore?: (store: BlobStore) => BlobStore;
  readonly storeTimeoutMs?: number;
  readonly stagingMaxAgeMs?: number;
  readonly stagingSweepIntervalMs?: number;
  readonly storeProbeIntervalMs?: number;
}

export interface Clients {
  readonly video: VideoServiceClient;
  readonly job: JobServiceClient;
  readonly analysis: AnalysisServiceClient;
  readonly annotation: AnnotationServiceClient;
  readonly model: ModelServiceClient;
  readonly detection: DetectionServiceClient;
}

export interface GatewayFixture {
  readonly address: string;
  readonly server: Server;
  readonly health: HealthService;
  readonly store: S3BlobStore;
  readonly jobs: JobStore;
  readonly names: EventNames;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly uploadDir: string;
  readonly clients: Clients;
  /** Sweeps abandoned upload staging now. */
  sweepStaging(): Promise<number>;
  /** Every key in the bucket, sorted. */
  keys(): Promise<string[]>;
  /** Folders left in the upload staging folder (should be none between calls). */
  staged(): Promise<string[]>;
  /** Work messages stored in the work stream. */
  workCount(): Promise<number>;
  /** The last work message for `stage`, decoded. */
  lastWork(stage: string): Promise<{ request: StageRequest; headers: Record<string, string> }>;
  stop(): Promise<void>;
}

export async function startGateway(backends: Backends, options: GatewayOptions = {}): Promise<GatewayFixture> {
  const bucket = uniqueBucketName('gateway');
  await backends.s3.createBucket(bucket);
  const store = createS3BlobStore({ ...backends.s3.connection, bucket });
  const nc = await connect({ servers: backends.nats.url });
  const uploadDir = await mkdtemp(path.join(tmpdir(), 'gateway-spec-'));
  const { names, js, jobs, health, server, port, sweepStaging, stopBackground } = await startGatewayServer({
    nc,
    topology: { prefix: uniqueName('gw'), storage: 'memory' },
    store: options.wrapStore === undefined ? store : options.wrapStore(store),
    config: {
      maxUploadBytes: options.maxUploadBytes ?? 64 * 1024 * 1024,
      uploadDir,
      authTokens: options.authTokens ?? [],
      ...(options.storeTimeoutMs === undefined ? {} : { storeTimeoutMs: options.storeTimeoutMs }),
      ...(options.stagingMaxAgeMs === undefined ? {} : { stagingMaxAgeMs: options.stagingMaxAgeMs }),
      ...(options.stagingSweepIntervalMs === undefined ? {} : { stagingSweepIntervalMs: options.stagingSweepIntervalMs }),
      ...(options.storeProbeIntervalMs === undefined ? {} : { storeProbeIntervalMs: options.storeProbeIntervalMs }),
    },
    address: '127.0.0.1:0',
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  const address = `127.0.0.1:${port}`;
  const creds = options.clientCredentials ?? credentials.createInsecure();
  const channel = options.channelOptions ?? {};
  const clients: Clients = {
    video: new VideoServiceClient(address, creds, channel),
    job: new JobServiceClient(address, creds, channel),
    analysis: new AnalysisServiceClient(address, creds, channel),
    annotation: new AnnotationServiceClient(address, creds, channel),
    model: new ModelServiceClient(address, creds, channel),
    detection: new DetectionServiceClient(address, creds, channel),
  };
  const jsm = await nc.jetstreamManager();
  return {
    address,
    server,
    health,
    store,
    jobs,
    names,
    nc,
    js,
    uploadDir,
    clients,
    sweepStaging,
    keys: () => store.list(''),
    staged: () => readdir(uploadDir),
    workCount: async () => (await jsm.streams.info(names.workStream)).state.messages,
    lastWork: async (stage) => {
      const message = await jsm.streams.getMessage(names.workStream, { last_by_subj: `${names.prefix}.work.${stage}` });
      const headers: Record<string, string> = {};
      for (const [key, values] of message.header ?? []) headers[key] = values[0] ?? '';
      return { request: StageRequest.decode(message.data), headers };
    },
    stop: async () => {
      stopBackground();
      for (const client of Object.values(clients)) client.close();
      await shutdownGateway(server, 2000, health);
      await nc.close();
      await rm(uploadDir, { recursive: true, force: true });
    },
  };
}

/**
 * The set-up of a spec against one gateway, declared at the top of the file: backends and the
 * gateway start in beforeAll and stop in afterAll. The fixture returned stands for that gateway
 * once beforeAll ran (reading it sooner throws).
 */
export function gatewayForSpec(options: GatewayOptions = {}): GatewayFixture {
  let backends: Backends | undefined;
  let gateway: GatewayFixture | undefined;
  beforeAll(async () => {
    backends = await startBackends();
    gateway = await startGateway(backends, options);
  });
  afterAll(async () => {
    await gateway?.stop();
    await backends?.stop();
  });
  return new Proxy({} as GatewayFixture, {
    get: (_, key) => {
      if (gateway === undefined) throw new Error('the gateway of this spec is read before its beforeAll ran');
      return Reflect.get(gateway, key) as unknown;
    },
  });
}

type Callback<Res> = (error: ServiceError | null, response: Res) => void;

/** A generated unary method as a promise: `call(client.getJob.bind(client), request)`. */
export function call<Req, Res>(
  method: (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: Callback<Res>) => ClientUnaryCall,
  request: Req,
  metadata: Metadata = new Metadata(),
  options: Partial<CallOptions> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

export function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export interface UploadOptions {
  readonly filename?: string;
  /** Declared size; default the real one. */
  readonly sizeBytes?: number;
  /** Declared digest; default the real one. */
  readonly sha256?: string;
  readonly chunkSize?: number;
  /** header.channel: the channel of a multi-channel file that is the video. */
  readonly channel?: string;
  readonly metadata?: Metadata;
  /** Send these messages instead of header + chunks. */
  readonly messages?: readonly UploadVideoRequest[];
}

/** Streams `bytes` to UploadVideo: the header, then chunks of `chunkSize` (default 16 KiB). */
export function upload(client: VideoServiceClient, bytes: Uint8Array, options: UploadOptions = {}): Promise<UploadVideoResponse> {
  return new Promise((resolve, reject) => {
    const stream = client.uploadVideo(options.metadata ?? new Metadata(), (error, response) => (error ? reject(error) : resolve(response)));
    // A server that refused early closes the call; later writes then fail, which is expected.
    stream.on('error', () => undefined);
    const messages: UploadVideoRequest[] = options.messages
      ? [...options.messages]
      : [
          {
            content: {
              $case: 'header',
              value: {
                filename: options.filename ?? 'video.tif',
                sizeBytes: options.sizeBytes ?? bytes.length,
                sha256: options.sha256 ?? sha256(bytes),
                ...(options.channel === undefined ? {} : { channel: options.channel }),
              },
            },
          },
        ];
    if (!options.messages) {
      const size = options.chunkSize ?? 16 * 1024;
      for (let at = 0; at < bytes.length; at += size) messages.push({ content: { $case: 'chunk', value: Buffer.from(bytes.subarray(at, at + size)) } });
    }
    for (const message of messages) stream.write(message);
    stream.end();
  });
}

/** A small synthetic phase-contrast video as a multi-page 8-bit TIFF (SPEC: the generator with ground truth). */
export function syntheticTiff(options: { frames?: number; width?: number; height?: number; seed?: number } = {}): Uint8Array {
  const video = generateSyntheticVideo({ frames: options.frames ?? 6, width: options.width ?? 48, height: options.height ?? 40, seed: options.seed ?? 7, bitDepth: 8 });
  const pages = [];
  for (let t = 0; t < video.volume.frames; t++) pages.push({ data: frameOf(video.volume, t), width: video.volume.width, height: video.volume.height });
  return encodeTiff(pages);
}
