import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metadata, credentials, loadPackageDefinition, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, ClientReadableStream, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { HEALTH_SERVICE_NAME, loadHealthProto } from '@mitosis/service-kit';
import type { Backends, GatewayFixture } from './testing/harness';
import { bearer, call, startBackends, startGateway, syntheticTiff, upload } from './testing/harness';

const TOKEN = 'spec-token-0123456789abcdef';

let backends: Backends;

beforeAll(async () => {
  backends = await startBackends();
});

afterAll(async () => {
  await backends?.stop();
});

type Unary = (request: object, metadata: Metadata, callback: (error: ServiceError | null, response: Record<string, unknown>) => void) => void;
interface HealthClient extends Client {
  Check: Unary;
  Watch(request: object, metadata?: Metadata): ClientReadableStream<{ status: string }>;
}

function healthClient(address: string): HealthClient {
  const Health = makeGenericClientConstructor(loadHealthProto()[HEALTH_SERVICE_NAME] as ServiceDefinition, 'Health');
  return new Health(address, credentials.createInsecure()) as unknown as HealthClient;
}

const reflectionProto = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');

/** One request on the server reflection stream (what grpcurl sends), and its answer. */
function reflect(address: string, request: object, metadata = new Metadata()): Promise<Record<string, unknown>> {
  const loaded = loadPackageDefinition(loadSync(reflectionProto, { keepCase: true, oneofs: true })) as unknown as {
    grpc: {
      reflection: {
        v1: {
          ServerReflection: new (
            address: string,
            creds: ReturnType<typeof credentials.createInsecure>,
          ) => Client & { ServerReflectionInfo(metadata: Metadata): ClientDuplexStream<object, Record<string, unknown>> };
        };
      };
    };
  };
  const client = new loaded.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const stream = client.ServerReflectionInfo(metadata);
    stream.on('data', (response: Record<string, unknown>) => {
      resolve(response);
      stream.end();
    });
    stream.on('error', (error) => {
      client.close();
      reject(error);
    });
    stream.on('end', () => client.close());
    stream.write(request);
  });
}

/** The services reflection lists (`grpcurl list`). */
async function listServices(address: string, metadata = new Metadata()): Promise<string[]> {
  const response = (await reflect(address, { list_services: '' }, metadata)) as { list_services_response?: { service: { name: string }[] } };
  return (response.list_services_response?.service ?? []).map((s) => s.name).sort();
}

describe('bearer tokens (MITOSIS_AUTH_TOKENS)', () => {
  let gateway: GatewayFixture;
  beforeAll(async () => {
    gateway = await startGateway(backends, { authTokens: ['other-token-0123456789', TOKEN] });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('refuses calls without a token or with a wrong one, and serves calls with an accepted one', async () => {
    const getJob = gateway.clients.job.getJob.bind(gateway.clients.job);
    await expect(call(getJob, { jobId: 'job-x' })).rejects.toMatchObject({ code: status.UNAUTHENTICATED, details: expect.stringContaining('missing') });
    await expect(call(getJob, { jobId: 'job-x' }, bearer('wrong-token-0123456789'))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const basic = new Metadata();
    basic.set('authorization', `Basic ${TOKEN}`);
    await expect(call(getJob, { jobId: 'job-x' }, basic)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    // Authenticated: the call reaches the service, which does not know the job.
    await expect(call(getJob, { jobId: 'job-x' }, bearer(TOKEN))).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('guards streaming calls too, uploads before any byte is taken', async () => {
    const before = await gateway.keys();
    await expect(upload(gateway.clients.video, syntheticTiff())).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect(await gateway.keys()).toEqual(before);
    const response = await upload(gateway.clients.video, syntheticTiff(), { metadata: bearer(TOKEN) });
    expect(response.info?.frameCount).toBe(6);
    await expect(
      new Promise((resolve, reject) => {
        const stream = gateway.clients.job.watchJob({ jobId: 'job-x' });
        stream.on('error', reject);
        stream.on('end', resolve);
        stream.on('data', () => undefined);
      }),
    ).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it('answers health checks without a token, and reflection only with one', async () => {
    const health = healthClient(gateway.address);
    try {
      const response = await new Promise((resolve, reject) => health.Check({ service: '' }, new Metadata(), (e, r) => (e ? reject(e) : resolve(r))));
      expect(response).toEqual({ status: 'SERVING' });
    } finally {
      health.close();
    }
    await expect(listServices(gateway.address)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect(await listServices(gateway.address, bearer(TOKEN))).toContain('mitosis.v1.JobService');
  });
});

describe('health and reflection', () => {
  let gateway: GatewayFixture;
  beforeAll(async () => {
    gateway = await startGateway(backends);
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('Check says SERVING for the server and each service, NOT_FOUND for an unknown one; Watch follows changes', async () => {
    const health = healthClient(gateway.address);
    try {
      const check = (service: string) => new Promise((resolve, reject) => health.Check({ service }, new Metadata(), (e, r) => (e ? reject(e) : resolve(r))));
      expect(await check('mitosis.v1.VideoService')).toEqual({ status: 'SERVING' });
      await expect(check('mitosis.v1.Nope')).rejects.toMatchObject({ code: status.NOT_FOUND });
      const seen: string[] = [];
      const stream = health.Watch({ service: 'mitosis.v1.JobService' });
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.on('data', (message: { status: string }) => {
          seen.push(message.status);
          if (seen.length === 1) gateway.health.setStatus('mitosis.v1.JobService', 'NOT_SERVING');
          if (seen.length === 2) resolve();
        });
      });
      stream.cancel();
      expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
      gateway.health.setStatus('mitosis.v1.JobService', 'SERVING');
    } finally {
      health.close();
    }
  });

  it('reflection lists every public service and health, not the internal stage events', async () => {
    expect(await listServices(gateway.address)).toEqual([
      'grpc.health.v1.Health',
      'mitosis.v1.AnalysisService',
      'mitosis.v1.AnnotationService',
      'mitosis.v1.DetectionService',
      'mitosis.v1.JobService',
      'mitosis.v1.ModelService',
      'mitosis.v1.VideoService',
    ]);
  });

  it('reflection describes a service with its methods and message types (`grpcurl describe`)', async () => {
    const response = (await reflect(gateway.address, { file_containing_symbol: 'mitosis.v1.JobService' })) as {
      file_descriptor_response?: { file_descriptor_proto: Buffer[] };
    };
    // proto-loader hands reflection one descriptor per package, with its dependencies.
    const files = (response.file_descriptor_response?.file_descriptor_proto ?? []).map((bytes) => bytes.toString('latin1')).join('\n');
    for (const name of ['mitosis.v1', 'JobService', 'GetJob', 'ListJobs', 'CancelJob', 'WatchJob', '.mitosis.v1.WatchJobResponse', 'google.protobuf.Timestamp'])
      expect(files).toContain(name);
  });
});

describe('TLS (MITOSIS_TLS_CERT / MITOSIS_TLS_KEY)', () => {
  it('serves over TLS with the given certificate', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gateway-tls-'));
    try {
      const certFile = path.join(dir, 'cert.pem');
      const keyFile = path.join(dir, 'key.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          keyFile,
          '-out',
          certFile,
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost',
        ],
        { stdio: 'ignore' },
      );
      const gateway = await startGateway(backends, {
        tls: { certFile, keyFile },
        clientCredentials: credentials.createSsl(await readFile(certFile)),
        channelOptions: { 'grpc.ssl_target_name_override': 'localhost' },
      });
      try {
        await expect(call(gateway.clients.job.getJob.bind(gateway.clients.job), { jobId: 'job-x' })).rejects.toMatchObject({ code: status.NOT_FOUND });
        // A plaintext client cannot talk to it.
        const { JobServiceClient } = await import('@mitosis/proto');
        const plain = new JobServiceClient(gateway.address, credentials.createInsecure());
        await expect(call(plain.getJob.bind(plain), { jobId: 'job-x' }, new Metadata(), { deadline: Date.now() + 2000 })).rejects.toMatchObject({
          code: expect.any(Number),
        });
        plain.close();
      } finally {
        await gateway.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
