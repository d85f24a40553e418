import { InvalidInputError } from '@mitosis/core';
import type { NatsCredentials } from '@mitosis/events';
import { parseNatsCredentials, parseNatsServers } from '@mitosis/events';
import { METHOD_DEFAULTS, WORK_LIMIT_ENV_NAMES } from '@mitosis/stages';
import type { StoreLocation } from './store';
import { parseStoreUrl } from './store';

/** Compute backends of @mitosis/models (MITOSIS_BACKEND). */
export type BackendChoice = 'tensorflow' | 'wasm' | 'cpu';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Where a worker runs the stage functions: a worker thread (default) or its main thread. */
export type StageIsolation = 'thread' | 'inline';

/**
 * Defaults of the stage parameters a request leaves at 0 / absent: @mitosis/stages'
 * METHOD_DEFAULTS, the table the CLI's options default to, so a job with no options gives what
 * `mitosis analyze/train` gives. MITOSIS_* variables override them per deployment.
 */
export interface StageDefaults {
  /** Spatial downscaling of ingest. */
  /** 'auto': from the cells' measured size (METHOD_DEFAULTS.factor). */
  readonly downscaleFactor: number | 'auto';
  readonly m1Iterations: number;
  readonly m2Iterations: number;
  /** M3 training updates. */
  readonly m3Iterations: number;
  /** Side of the square training crops of M1 and M2. */
  readonly crop: number;
  /** Side of the square training crops of M3. */
  readonly m3Crop: number;
  /** Frames per M2 training sequence. */
  readonly m2SequenceLength: number;
  /** Windows per M3 update. */
  readonly m3Batch: number;
  /** Weight of mitosis pixels in the M3 loss. */
  readonly m3PositiveWeight: number;
}

export const DEFAULT_STAGE_DEFAULTS: StageDefaults = {
  downscaleFactor: METHOD_DEFAULTS.factor,
  m1Iterations: METHOD_DEFAULTS.m1.iterations,
  m2Iterations: METHOD_DEFAULTS.m2.iterations,
  m3Iterations: METHOD_DEFAULTS.m3.iterations,
  crop: METHOD_DEFAULTS.m1.crop,
  m3Crop: METHOD_DEFAULTS.m3.crop,
  m2SequenceLength: METHOD_DEFAULTS.m2.sequenceLength,
  m3Batch: METHOD_DEFAULTS.m3.batch,
  m3PositiveWeight: METHOD_DEFAULTS.m3.positiveWeight,
};

/** Everything the services read from the environment, parsed and checked once in main. */
export interface ServiceConfig {
  /** MITOSIS_NATS_URL: one or more comma-separated `nats://host:port`. */
  readonly natsServers: readonly string[];
  /**
   * MITOSIS_NATS_USER + MITOSIS_NATS_PASSWORD, MITOSIS_NATS_TOKEN or MITOSIS_NATS_CREDS (one way
   * at most; @mitosis/events parseNatsCredentials); undefined: none.
   */
  readonly natsCredentials: NatsCredentials | undefined;
  /** MITOSIS_STORE */
  readonly store: StoreLocation;
  /** MITOSIS_PREFIX: prefix of subjects, streams and the job bucket; default `mitosis`. */
  readonly prefix: string;
  /** MITOSIS_BACKEND; absent: the fastest that loads. */
  readonly backend: BackendChoice | undefined;
  /** MITOSIS_WASM_THREADS (1-8): XNNPACK threads of the wasm backend; absent: the cores this process may use, up to 8. */
  readonly wasmThreads: number | undefined;
  /** MITOSIS_LOG_LEVEL; default info. */
  readonly logLevel: LogLevel;
  /** MITOSIS_GRPC_ADDR (gateway); default 0.0.0.0:50051. */
  readonly grpcAddr: string;
  /** MITOSIS_AUTH_TOKENS (gateway): accepted bearer tokens; empty means no authentication. */
  readonly authTokens: readonly string[];
  /** MITOSIS_TLS_CERT and MITOSIS_TLS_KEY (gateway): PEM files, both or neither. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** MITOSIS_MAX_UPLOAD_BYTES (gateway); default 2 GiB. */
  readonly maxUploadBytes: number;
  /** MITOSIS_HEALTH_ADDR: host:port of the HTTP health endpoint; default 0.0.0.0:8080, `off` for none. */
  readonly healthAddr: string | undefined;
  /**
   * MITOSIS_HEALTH_GRPC_ADDR: host:port of the grpc.health.v1 server of a worker, `off` for none;
   * default the host of MITOSIS_HEALTH_ADDR on port 8081 (0.0.0.0:8081), port 0 when that one's
   * port is 0 and off when it is off (so launchers of several workers on one host keep working).
   */
  readonly healthGrpcAddr: string | undefined;
  /** MITOSIS_CONCURRENCY: stage messages one worker processes at once; default 1. */
  readonly concurrency: number;
  /** MITOSIS_ACK_WAIT_MS: default 30 000. */
  readonly ackWaitMs: number;
  /** MITOSIS_MAX_DELIVER: default 5. */
  readonly maxDeliver: number;
  /** MITOSIS_HEARTBEAT_MS: in-progress heartbeat; default ackWaitMs / 3. */
  readonly heartbeatMs: number;
  /** MITOSIS_DRAIN_TIMEOUT_MS: how long shutdown waits for the message in hand; default 25 000. */
  readonly drainTimeoutMs: number;
  /** MITOSIS_PROGRESS_INTERVAL_MS: least time between two progress writes; default 1000. */
  readonly progressIntervalMs: number;
  /** MITOSIS_STAGE_ISOLATION: thread (default) or inline. */
  readonly stageIsolation: StageIsolation;
  /** MITOSIS_DOWNSCALE_FACTOR, MITOSIS_M1_ITERATIONS, ... (see README). */
  readonly stageDefaults: StageDefaults;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Every MITOSIS_* variable loadConfig reads itself (the NATS credentials are events'
 * NATS_CREDENTIAL_VARIABLES); loadConfig reads no name outside this list (its reader takes only
 * these), and deploy checks the manifests' variables against it.
 */
export const SERVICE_ENV_NAMES = [
  'MITOSIS_ACK_WAIT_MS',
  'MITOSIS_AUTH_TOKENS',
  'MITOSIS_BACKEND',
  'MITOSIS_CONCURRENCY',
  'MITOSIS_CROP',
  'MITOSIS_DOWNSCALE_FACTOR',
  'MITOSIS_DRAIN_TIMEOUT_MS',
  'MITOSIS_GRPC_ADDR',
  'MITOSIS_HEALTH_ADDR',
  'MITOSIS_HEALTH_GRPC_ADDR',
  'MITOSIS_HEARTBEAT_MS',
  'MITOSIS_LOG_LEVEL',
  'MITOSIS_M1_ITERATIONS',
  'MITOSIS_M2_ITERATIONS',
  'MITOSIS_M2_SEQUENCE_LENGTH',
  'MITOSIS_M3_BATCH',
  'MITOSIS_M3_CROP',
  'MITOSIS_M3_ITERATIONS',
  'MITOSIS_M3_POSITIVE_WEIGHT',
  'MITOSIS_MAX_DELIVER',
  'MITOSIS_MAX_UPLOAD_BYTES',
  'MITOSIS_NATS_URL',
  'MITOSIS_PREFIX',
  'MITOSIS_PROGRESS_INTERVAL_MS',
  'MITOSIS_STAGE_ISOLATION',
  'MITOSIS_STORE',
  'MITOSIS_TLS_CERT',
  'MITOSIS_TLS_KEY',
  'MITOSIS_WASM_THREADS',
] as const;
export type ServiceEnvName = (typeof SERVICE_ENV_NAMES)[number];
/** The upload folder, which apps/gateway's loadGatewayConfig reads on top of SERVICE_ENV_NAMES. */
export type GatewayEnvName = 'MITOSIS_UPLOAD_DIR';
/** Everything the gateway reads on top of SERVICE_ENV_NAMES: the upload folder, the work limits (MITOSIS_MAX_*) and the store's limits. */
export const GATEWAY_ENV_NAMES: readonly string[] = [
  'MITOSIS_UPLOAD_DIR' satisfies GatewayEnvName,
  ...WORK_LIMIT_ENV_NAMES,
  'MITOSIS_STORE_TIMEOUT_MS',
  'MITOSIS_UPLOAD_STAGING_MAX_AGE_S',
];

const GIB = 1024 ** 3;
const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Reads and checks every MITOSIS_* variable at once. All problems are reported together in one
 * InvalidInputError, each naming its variable (values of secrets are never shown).
 */
export function loadConfig(env: Environment = process.env): ServiceConfig {
  const problems: string[] = [];
  const read = (name: ServiceEnvName): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const attempt = <T>(name: ServiceEnvName, parse: (value: string) => T, fallback: T): T => {
    const value = read(name);
    if (value === undefined) return fallback;
    try {
      return parse(value);
    } catch (error: unknown) {
      problems.push(error instanceof Error ? error.message : `${name}: ${String(error)}`);
      return fallback;
    }
  };
  const required = <T>(name: ServiceEnvName, parse: (value: string) => T, what: string): T | undefined => {
    if (read(name) === undefined) {
      problems.push(`${name} is not set (${what})`);
      return undefined;
    }
    return attempt<T | undefined>(name, parse, undefined);
  };
  const integer = (name: ServiceEnvName, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number =>
    attempt(name, (value) => parseInteger(name, value, min, max), fallback);

  const natsServers = required('MITOSIS_NATS_URL', (value) => parseNatsServers(value), 'nats://host:4222, comma-separated for several');
  let natsCredentials: NatsCredentials | undefined;
  try {
    natsCredentials = parseNatsCredentials(env);
  } catch (error: unknown) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  const store = required('MITOSIS_STORE', (value) => parseStoreUrl(value, 'MITOSIS_STORE'), 's3://key:secret@host:port/bucket/prefix?ssl=false or file:///absolute/dir');
  const prefix = attempt(
    'MITOSIS_PREFIX',
    (value) => {
      if (!PREFIX_PATTERN.test(value)) throw new InvalidInputError(`MITOSIS_PREFIX "${value}" must be 1-64 letters, digits, '_' or '-'`);
      return value;
    },
    'mitosis',
  );
  const backend = attempt<BackendChoice | undefined>('MITOSIS_BACKEND', (value) => oneOf('MITOSIS_BACKEND', value, ['tensorflow', 'wasm', 'cpu'] as const), undefined);
  const wasmThreads = attempt<number | undefined>('MITOSIS_WASM_THREADS', (value) => parseInteger('MITOSIS_WASM_THREADS', value, 1, 8), undefined);
  const logLevel = attempt<LogLevel>('MITOSIS_LOG_LEVEL', (value) => oneOf('MITOSIS_LOG_LEVEL', value, ['debug', 'info', 'warn', 'error'] as const), 'info');
  const grpcAddr = attempt('MITOSIS_GRPC_ADDR', (value) => checkHostPort('MITOSIS_GRPC_ADDR', value), '0.0.0.0:50051');
  const authTokens = attempt(
    'MITOSIS_AUTH_TOKENS',
    (value) => {
      const tokens = value.split(',').map((t) => t.trim());
      // Never echo a token: say which position is wrong.
      const bad = tokens.findIndex((t) => t === '' || /\s/.test(t));
      if (bad >= 0) throw new InvalidInputError(`MITOSIS_AUTH_TOKENS: token ${bad + 1} is empty or holds white space`);
      return tokens;
    },
    [] as string[],
  );
  const certFile = read('MITOSIS_TLS_CERT');
  const keyFile = read('MITOSIS_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push(`MITOSIS_TLS_CERT and MITOSIS_TLS_KEY go together: ${certFile === undefined ? 'MITOSIS_TLS_CERT' : 'MITOSIS_TLS_KEY'} is not set`);
  }
  const tls = certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined;
  const maxUploadBytes = attempt('MITOSIS_MAX_UPLOAD_BYTES', (value) => parseByteSize('MITOSIS_MAX_UPLOAD_BYTES', value), 2 * GIB);
  const healthAddr = attempt<string | undefined>('MITOSIS_HEALTH_ADDR', (value) => (value === 'off' ? undefined : checkHostPort('MITOSIS_HEALTH_ADDR', value)), '0.0.0.0:8080');
  const healthGrpcAddr = attempt<string | undefined>(
    'MITOSIS_HEALTH_GRPC_ADDR',
    (value) => (value === 'off' ? undefined : checkHostPort('MITOSIS_HEALTH_GRPC_ADDR', value)),
    defaultGrpcHealthAddr(healthAddr),
  );
  if (healthAddr !== undefined && healthGrpcAddr !== undefined) {
    const http = parseHostPort(healthAddr);
    const grpc = parseHostPort(healthGrpcAddr);
    if (http.port !== 0 && http.port === grpc.port) problems.push(`MITOSIS_HEALTH_GRPC_ADDR (${healthGrpcAddr}) and MITOSIS_HEALTH_ADDR (${healthAddr}) use the same port`);
  }
  const concurrency = integer('MITOSIS_CONCURRENCY', 1, 1, 64);
  const ackWaitMs = integer('MITOSIS_ACK_WAIT_MS', 30_000, 1_000);
  const maxDeliver = integer('MITOSIS_MAX_DELIVER', 5, 1, 100);
  const heartbeatMs = integer('MITOSIS_HEARTBEAT_MS', Math.max(1, Math.floor(ackWaitMs / 3)), 1);
  if (heartbeatMs >= ackWaitMs) problems.push(`MITOSIS_HEARTBEAT_MS (${heartbeatMs}) must be shorter than MITOSIS_ACK_WAIT_MS (${ackWaitMs})`);
  const drainTimeoutMs = integer('MITOSIS_DRAIN_TIMEOUT_MS', 25_000, 0);
  const progressIntervalMs = integer('MITOSIS_PROGRESS_INTERVAL_MS', 1_000, 0);
  const stageIsolation = attempt<StageIsolation>('MITOSIS_STAGE_ISOLATION', (value) => oneOf('MITOSIS_STAGE_ISOLATION', value, ['thread', 'inline'] as const), 'thread');
  const d = DEFAULT_STAGE_DEFAULTS;
  const stageDefaults: StageDefaults = {
    downscaleFactor: attempt('MITOSIS_DOWNSCALE_FACTOR', (value) => (value === 'auto' ? 'auto' : parseInteger('MITOSIS_DOWNSCALE_FACTOR', value, 1, 64)), d.downscaleFactor),
    m1Iterations: integer('MITOSIS_M1_ITERATIONS', d.m1Iterations, 1),
    m2Iterations: integer('MITOSIS_M2_ITERATIONS', d.m2Iterations, 1),
    m3Iterations: integer('MITOSIS_M3_ITERATIONS', d.m3Iterations, 1),
    crop: integer('MITOSIS_CROP', d.crop, 4, 4096),
    m3Crop: integer('MITOSIS_M3_CROP', d.m3Crop, 4, 4096),
    m2SequenceLength: integer('MITOSIS_M2_SEQUENCE_LENGTH', d.m2SequenceLength, 2, 1024),
    m3Batch: integer('MITOSIS_M3_BATCH', d.m3Batch, 1, 256),
    m3PositiveWeight: attempt('MITOSIS_M3_POSITIVE_WEIGHT', (value) => parsePositiveNumber('MITOSIS_M3_POSITIVE_WEIGHT', value), d.m3PositiveWeight),
  };

  if (problems.length > 0 || natsServers === undefined || store === undefined) {
    throw new InvalidInputError(`configuration: ${problems.join('; ')}`);
  }
  return {
    natsServers,
    natsCredentials,
    store,
    prefix,
    backend,
    wasmThreads,
    logLevel,
    grpcAddr,
    authTokens,
    tls,
    maxUploadBytes,
    healthAddr,
    healthGrpcAddr,
    concurrency,
    ackWaitMs,
    maxDeliver,
    heartbeatMs,
    drainTimeoutMs,
    progressIntervalMs,
    stageIsolation,
    stageDefaults,
  };
}

function parseInteger(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new InvalidInputError(`${name} "${value}" is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) {
    throw new InvalidInputError(max === Number.MAX_SAFE_INTEGER ? `${name} ${value} must be at least ${min}` : `${name} ${value} is outside ${min}..${max}`);
  }
  return n;
}

function parsePositiveNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidInputError(`${name} "${value}" is not a number > 0`);
  return n;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidInputError(`${name} "${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}

/** `host:port` or `[v6]:port`, port 0..65535 (0: any free port, for tests). */
export function parseHostPort(value: string, name = 'address'): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (match === null || port > 65_535) throw new InvalidInputError(`${name} "${value}" is not host:port (port 0-65535)`);
  return { host: match[1] ?? match[2] ?? '', port };
}

/** The gRPC health server follows the HTTP one: same host, port 8081 (0 stays 0), off stays off. */
function defaultGrpcHealthAddr(healthAddr: string | undefined): string | undefined {
  if (healthAddr === undefined) return undefined;
  const { host, port } = parseHostPort(healthAddr);
  return `${host.includes(':') ? `[${host}]` : host}:${port === 0 ? 0 : 8081}`;
}

function checkHostPort(name: string, value: string): string {
  parseHostPort(value, name);
  return value;
}

/** `1048576`, `512MiB`, `2GiB`, `10KiB`. */
export function parseByteSize(name: string, value: string): number {
  const match = /^(\d+)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(value);
  if (match === null) throw new InvalidInputError(`${name} "${value}" is not a size (bytes, or a number with KiB, MiB, GiB or TiB)`);
  const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 }[match[2] ?? 'B'] ?? 1;
  const bytes = Number(match[1]) * unit;
  if (bytes < 1 || !Number.isSafeInteger(bytes)) throw new InvalidInputError(`${name} "${value}" must be between 1 byte and 2^53`);
  return bytes;
}
