import { InvalidInputError } from '@mitosis/core';
import { DEFAULT_STAGE_DEFAULTS, loadConfig, parseByteSize, parseHostPort } from './config';
import { parseStoreUrl } from './store';

const minimal = { MITOSIS_NATS_URL: 'nats://nats:4222', MITOSIS_STORE: 'file:///var/mitosis' };

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error: unknown) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as Error).message;
  }
  throw new Error('loadConfig accepted a bad environment');
}

describe('loadConfig', () => {
  it('fills every default from the two required variables', () => {
    const config = loadConfig(minimal);
    expect(config).toEqual({
      natsServers: ['nats://nats:4222'],
      store: { kind: 'file', root: '/var/mitosis', location: 'file:///var/mitosis' },
      prefix: 'mitosis',
      backend: undefined,
      logLevel: 'info',
      grpcAddr: '0.0.0.0:50051',
      authTokens: [],
      tls: undefined,
      maxUploadBytes: 2 * 1024 ** 3,
      healthAddr: '0.0.0.0:8080',
      healthGrpcAddr: '0.0.0.0:8081',
      concurrency: 1,
      ackWaitMs: 30_000,
      maxDeliver: 5,
      heartbeatMs: 10_000,
      drainTimeoutMs: 25_000,
      progressIntervalMs: 1_000,
      stageIsolation: 'thread',
      stageDefaults: DEFAULT_STAGE_DEFAULTS,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      MITOSIS_NATS_URL: 'nats://a:4222, nats://b:4222',
      MITOSIS_STORE: 's3://key:se%2Fcret@minio:9000/tensors/runs/1?ssl=false',
      MITOSIS_PREFIX: 'test_1',
      MITOSIS_BACKEND: 'wasm',
      MITOSIS_LOG_LEVEL: 'debug',
      MITOSIS_GRPC_ADDR: '[::]:6000',
      MITOSIS_AUTH_TOKENS: 'abc, def',
      MITOSIS_TLS_CERT: '/tls/cert.pem',
      MITOSIS_TLS_KEY: '/tls/key.pem',
      MITOSIS_MAX_UPLOAD_BYTES: '512MiB',
      MITOSIS_HEALTH_ADDR: 'off',
      MITOSIS_HEALTH_GRPC_ADDR: '[::]:9000',
      MITOSIS_CONCURRENCY: '2',
      MITOSIS_ACK_WAIT_MS: '2000',
      MITOSIS_MAX_DELIVER: '3',
      MITOSIS_DRAIN_TIMEOUT_MS: '0',
      MITOSIS_PROGRESS_INTERVAL_MS: '100',
      MITOSIS_STAGE_ISOLATION: 'inline',
      MITOSIS_M1_ITERATIONS: '7',
      MITOSIS_M3_POSITIVE_WEIGHT: '2.5',
    });
    expect(config.natsServers).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(config.store).toMatchObject({ kind: 's3', location: 's3://minio:9000/tensors/runs/1' });
    expect(config.store.kind === 's3' && config.store.s3.secretKey).toBe('se/cret');
    expect(config).toMatchObject({
      prefix: 'test_1',
      backend: 'wasm',
      logLevel: 'debug',
      grpcAddr: '[::]:6000',
      authTokens: ['abc', 'def'],
      tls: { certFile: '/tls/cert.pem', keyFile: '/tls/key.pem' },
      maxUploadBytes: 512 * 1024 ** 2,
      healthAddr: undefined,
      healthGrpcAddr: '[::]:9000',
      concurrency: 2,
      ackWaitMs: 2000,
      maxDeliver: 3,
      heartbeatMs: 666,
      drainTimeoutMs: 0,
      progressIntervalMs: 100,
      stageIsolation: 'inline',
    });
    expect(config.stageDefaults).toEqual({ ...DEFAULT_STAGE_DEFAULTS, m1Iterations: 7, m3PositiveWeight: 2.5 });
  });

  it('puts the gRPC health server beside the HTTP one unless told otherwise', () => {
    const grpcOf = (env: Record<string, string>): string | undefined => loadConfig({ ...minimal, ...env }).healthGrpcAddr;
    expect(grpcOf({ MITOSIS_HEALTH_ADDR: '127.0.0.1:9090' })).toBe('127.0.0.1:8081');
    // Port 0 (several workers on one host, tests) stays 0; off stays off.
    expect(grpcOf({ MITOSIS_HEALTH_ADDR: '127.0.0.1:0' })).toBe('127.0.0.1:0');
    expect(grpcOf({ MITOSIS_HEALTH_ADDR: '[::1]:0' })).toBe('[::1]:0');
    expect(grpcOf({ MITOSIS_HEALTH_ADDR: 'off' })).toBeUndefined();
    expect(grpcOf({ MITOSIS_HEALTH_ADDR: 'off', MITOSIS_HEALTH_GRPC_ADDR: '0.0.0.0:8081' })).toBe('0.0.0.0:8081');
    expect(grpcOf({ MITOSIS_HEALTH_GRPC_ADDR: 'off' })).toBeUndefined();
    expect(loadConfig({ ...minimal, MITOSIS_HEALTH_GRPC_ADDR: 'off' }).healthAddr).toBe('0.0.0.0:8080');
    expect(configError({ ...minimal, MITOSIS_HEALTH_GRPC_ADDR: '8081' })).toContain('MITOSIS_HEALTH_GRPC_ADDR "8081" is not host:port');
    expect(configError({ ...minimal, MITOSIS_HEALTH_GRPC_ADDR: '0.0.0.0:8080' })).toContain(
      'MITOSIS_HEALTH_GRPC_ADDR (0.0.0.0:8080) and MITOSIS_HEALTH_ADDR (0.0.0.0:8080) use the same port',
    );
  });

  it('names each missing or bad variable, all in one error', () => {
    const message = configError({ MITOSIS_BACKEND: 'gpu', MITOSIS_CONCURRENCY: 'two', MITOSIS_HEALTH_ADDR: 'localhost' });
    expect(message).toContain('MITOSIS_NATS_URL is not set');
    expect(message).toContain('MITOSIS_STORE is not set');
    expect(message).toContain('MITOSIS_BACKEND "gpu" is not one of tensorflow, wasm, cpu');
    expect(message).toContain('MITOSIS_CONCURRENCY "two" is not a whole number');
    expect(message).toContain('MITOSIS_HEALTH_ADDR "localhost" is not host:port');
  });

  it.each([
    [{ MITOSIS_ACK_WAIT_MS: '5' }, 'MITOSIS_ACK_WAIT_MS 5 must be at least 1000'],
    [{ MITOSIS_ACK_WAIT_MS: '3000', MITOSIS_HEARTBEAT_MS: '3000' }, 'MITOSIS_HEARTBEAT_MS (3000) must be shorter than MITOSIS_ACK_WAIT_MS (3000)'],
    [{ MITOSIS_MAX_DELIVER: '0' }, 'MITOSIS_MAX_DELIVER 0 is outside 1..100'],
    [{ MITOSIS_PREFIX: 'a.b' }, `MITOSIS_PREFIX "a.b" must be 1-64 letters`],
    [{ MITOSIS_TLS_CERT: '/c.pem' }, 'MITOSIS_TLS_KEY is not set'],
    [{ MITOSIS_MAX_UPLOAD_BYTES: '2GB' }, 'MITOSIS_MAX_UPLOAD_BYTES "2GB" is not a size'],
    [{ MITOSIS_NATS_URL: 'http://nats:4222' }, 'MITOSIS_NATS_URL "http://nats:4222" is not a nats://host:port URL'],
    [{ MITOSIS_STORE: 'file://relative/dir' }, 'MITOSIS_STORE "file://relative/dir" is not a file URL of an absolute folder'],
    [{ MITOSIS_M3_POSITIVE_WEIGHT: '-1' }, 'MITOSIS_M3_POSITIVE_WEIGHT "-1" is not a number > 0'],
  ])('rejects %j', (env, expected) => {
    expect(configError({ ...minimal, ...env })).toContain(expected);
  });

  it('reads NATS credentials: user and password, token or creds file (one of them)', () => {
    expect(loadConfig(minimal).natsCredentials).toBeUndefined();
    expect(loadConfig({ ...minimal, MITOSIS_NATS_USER: 'mitosis', MITOSIS_NATS_PASSWORD: 'natspass' }).natsCredentials).toEqual({
      kind: 'user-password',
      user: 'mitosis',
      password: 'natspass',
    });
    expect(loadConfig({ ...minimal, MITOSIS_NATS_TOKEN: 'natstoken' }).natsCredentials).toEqual({ kind: 'token', token: 'natstoken' });
    expect(loadConfig({ ...minimal, MITOSIS_NATS_CREDS: '/run/secrets/nats.creds' }).natsCredentials).toEqual({ kind: 'creds-file', file: '/run/secrets/nats.creds' });
  });

  it('reports NATS credential problems with the others, never their values', () => {
    const message = configError({
      MITOSIS_NATS_URL: 'nats://mitosis:natspass@nats:4222',
      MITOSIS_STORE: 'file:///s',
      MITOSIS_NATS_PASSWORD: 'natspass',
      MITOSIS_NATS_TOKEN: 'natstoken',
      MITOSIS_CONCURRENCY: '0',
    });
    expect(message).toContain('MITOSIS_NATS_URL "nats://***@nats:4222" holds credentials');
    expect(message).toContain('MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD go together: MITOSIS_NATS_USER is not set');
    expect(message).toContain('NATS credentials are set in more than one way (MITOSIS_NATS_USER/MITOSIS_NATS_PASSWORD, MITOSIS_NATS_TOKEN)');
    expect(message).toContain('MITOSIS_CONCURRENCY 0 is outside 1..64');
    expect(message).not.toMatch(/natspass|natstoken/);
  });

  it('never shows secrets in its errors', () => {
    const message = configError({
      MITOSIS_NATS_URL: 'nats://user:natspass@',
      MITOSIS_STORE: 'minio://key:supersecret@host/bucket',
      MITOSIS_AUTH_TOKENS: 'tok1,,tok3',
    });
    expect(message).not.toMatch(/natspass|supersecret|tok1|tok3/);
    expect(message).toContain('MITOSIS_STORE has scheme minio:');
    expect(message).toContain('MITOSIS_AUTH_TOKENS: token 2 is empty');
    const s3 = configError({ ...minimal, MITOSIS_STORE: 's3://key:supersecret@host:9000/Bad_Bucket' });
    expect(s3).not.toContain('supersecret');
    expect(s3).toContain('MITOSIS_STORE: S3 bucket name "Bad_Bucket"');
  });
});

describe('parseStoreUrl', () => {
  it('parses s3 and file locations', () => {
    expect(parseStoreUrl('s3://k:s@127.0.0.1:9000/bucket?ssl=false')).toMatchObject({
      kind: 's3',
      s3: { endPoint: '127.0.0.1', port: 9000, useSSL: false, bucket: 'bucket', accessKey: 'k', secretKey: 's' },
    });
    expect(parseStoreUrl('file:///tmp/store%20dir')).toEqual({ kind: 'file', root: '/tmp/store dir', location: 'file:///tmp/store dir' });
  });
});

describe('parseHostPort and parseByteSize', () => {
  it('parses host:port, IPv6 in brackets, port 0', () => {
    expect(parseHostPort('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => parseHostPort('host:70000', 'X')).toThrow('X "host:70000" is not host:port');
    expect(() => parseHostPort(':80')).toThrow(InvalidInputError);
  });
  it('parses byte sizes with binary units', () => {
    expect(parseByteSize('S', '1024')).toBe(1024);
    expect(parseByteSize('S', '3KiB')).toBe(3072);
    expect(parseByteSize('S', '2GiB')).toBe(2 * 1024 ** 3);
    expect(() => parseByteSize('S', '0')).toThrow('S "0" must be between');
  });
});
