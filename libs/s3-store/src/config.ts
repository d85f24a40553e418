import { InvalidInputError } from '@mitosis/core';

export interface S3StoreConfig {
  /** Host name or IP of the S3 endpoint (MinIO in deployment), without scheme or port. */
  readonly endPoint: string;
  /** Default 443 with TLS, 80 without. */
  readonly port?: number;
  readonly useSSL: boolean;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  /** Folder inside the bucket under which every key lives ('runs/42'); default: the bucket root. */
  readonly prefix?: string;
  /** Objects larger than this go up as a multipart upload of parts this size; 5 MiB..5 GiB, default 64 MiB. */
  readonly partSize?: number;
  /** Region used for signing; default 'us-east-1' (MinIO's), which also spares a GetBucketLocation round trip. */
  readonly region?: string;
  /** Compare the ETag the server returns with the MD5 of the bytes sent; default true. Turn off for buckets that encrypt objects (SSE-KMS/SSE-C change ETags). */
  readonly checkEtag?: boolean;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 64 * 1024 * 1024;

const BUCKET_NAME = /^(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Validates a configuration and fills the defaults; errors name the field and never the secret. */
export function normalizeS3Config(config: S3StoreConfig): Required<S3StoreConfig> {
  const { endPoint, bucket } = config;
  if (typeof endPoint !== 'string' || endPoint === '' || /[/:\s]/.test(endPoint.replace(/^\[.*\]$/, 'ipv6'))) {
    throw new InvalidInputError(`S3 endPoint "${String(endPoint)}" is not a host name (no scheme, port or path)`);
  }
  const port = config.port ?? (config.useSSL ? 443 : 80);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidInputError(`S3 port ${String(config.port)} is not an integer in 1..65535`);
  }
  if (typeof bucket !== 'string' || !BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    throw new InvalidInputError(`S3 bucket name "${String(bucket)}" is not 3-63 lowercase letters, digits, '.' or '-'`);
  }
  if (!config.accessKey || !config.secretKey) {
    throw new InvalidInputError(`S3 credentials for bucket "${bucket}" are missing (accessKey and secretKey are both required)`);
  }
  const prefix = config.prefix ?? '';
  if (prefix !== '' && (prefix.startsWith('/') || prefix.endsWith('/') || prefix.split('/').some((p) => p === '' || p === '.' || p === '..'))) {
    throw new InvalidInputError(`S3 prefix "${prefix}" is not a relative path without leading/trailing '/', '.' or '..' parts`);
  }
  const partSize = config.partSize ?? DEFAULT_PART_SIZE;
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new InvalidInputError(`S3 partSize ${partSize} is outside 5 MiB..5 GiB (S3's limits on a multipart part)`);
  }
  return {
    endPoint,
    port,
    useSSL: config.useSSL,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    bucket,
    prefix,
    partSize,
    region: config.region ?? 'us-east-1',
    checkEtag: config.checkEtag ?? true,
  };
}

/** `s3://host:port/bucket/prefix`, without credentials: for messages and logs. */
export function describeS3Location(config: S3StoreConfig): string {
  const port = config.port === undefined ? '' : `:${config.port}`;
  return `s3://${config.endPoint}${port}/${config.bucket}${config.prefix ? `/${config.prefix}` : ''}`;
}

const flag = (name: string, value: string): boolean => {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new InvalidInputError(`S3 URL parameter ${name}=${value} is not true/false`);
};

/**
 * Parses a configuration string `s3://accessKey:secretKey@host:port/bucket/prefix?ssl=false`
 * (credentials URL-encoded; query: ssl (default true), partSize (bytes, or with MiB/GiB),
 * region, checkEtag). The secret never appears in an error message.
 */
export function parseS3Url(text: string): S3StoreConfig {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error: unknown) {
    throw new InvalidInputError(`S3 URL "${text.replace(/\/\/[^@/]*@/, '//***@')}" is not a URL (expected s3://key:secret@host:port/bucket/prefix)`, {
      cause: error,
    });
  }
  const shown = `s3://${url.host}${url.pathname}`;
  if (url.protocol !== 's3:') throw new InvalidInputError(`S3 URL ${shown}: scheme "${url.protocol}" is not s3:`);
  if (url.hostname === '') throw new InvalidInputError(`S3 URL ${shown}: no host`);
  const [bucket = '', ...rest] = url.pathname.replace(/^\/+/, '').split('/');
  if (bucket === '') throw new InvalidInputError(`S3 URL ${shown}: no bucket (expected s3://host:port/bucket/prefix)`);
  const prefix = rest
    .filter((part) => part !== '')
    .map((part) => decodeURIComponent(part))
    .join('/');
  let useSSL = true;
  let partSize: number | undefined;
  let region: string | undefined;
  let checkEtag: boolean | undefined;
  for (const [name, value] of url.searchParams) {
    if (name === 'ssl') useSSL = flag(name, value);
    else if (name === 'checkEtag') checkEtag = flag(name, value);
    else if (name === 'region') region = value;
    else if (name === 'partSize') {
      const match = /^(\d+)\s*(|b|kib|mib|gib)$/i.exec(value.trim());
      if (!match) throw new InvalidInputError(`S3 URL ${shown}: partSize=${value} is not a byte count (e.g. 16777216 or 16MiB)`);
      const unit = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }[match[2].toLowerCase() as '' | 'b' | 'kib' | 'mib' | 'gib'];
      partSize = Number(match[1]) * unit;
    } else throw new InvalidInputError(`S3 URL ${shown}: unknown parameter "${name}" (known: ssl, partSize, region, checkEtag)`);
  }
  const config: S3StoreConfig = {
    endPoint: url.hostname,
    ...(url.port !== '' ? { port: Number(url.port) } : {}),
    useSSL,
    accessKey: decodeURIComponent(url.username),
    secretKey: decodeURIComponent(url.password),
    bucket: decodeURIComponent(bucket),
    ...(prefix !== '' ? { prefix } : {}),
    ...(partSize !== undefined ? { partSize } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(checkEtag !== undefined ? { checkEtag } : {}),
  };
  normalizeS3Config(config); // fail now, with the field named, rather than at the first request
  return config;
}
