/**
 * The cluster's object store as a process of its own: the S3-compatible server of the
 * integration tests (s3rver plus the shim of @mitosis/testing, which fills in what minio-js
 * needs), storing into a folder that outlives the process.
 *
 *   npx tsx tools/cluster/s3-server.ts --dir tmp/cluster/s3 [--bucket mitosis]...
 *
 * Prints one JSON line `{"msg":"s3 listening","url":...,"port":...}` once it serves (the port
 * is free, chosen by the system), then serves until SIGTERM or SIGINT. Log lines are JSON, like
 * the services' (`{time, level, service, msg, ...}`).
 */
import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import { startS3Server } from '@mitosis/testing';

function log(level: 'info' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, service: 's3', msg, ...fields })}\n`);
}

/** `--dir D` (required) and `--bucket B` (repeatable, default `mitosis`). */
export function parseS3ServerArgs(argv: readonly string[]): { directory: string; buckets: string[] } {
  let directory: string | undefined;
  const buckets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag === '--dir' || flag === '--bucket') && (value === undefined || value.startsWith('--'))) {
      throw new InvalidInputError(`s3-server: ${flag} needs a value`);
    }
    if (flag === '--dir') directory = path.resolve(value ?? '');
    else if (flag === '--bucket') buckets.push(value ?? '');
    else throw new InvalidInputError(`s3-server: unknown argument "${flag}" (expected --dir DIR [--bucket NAME]...)`);
    i++;
  }
  if (directory === undefined) throw new InvalidInputError('s3-server: --dir DIR is required (the folder the objects are stored in)');
  return { directory, buckets: buckets.length > 0 ? buckets : ['mitosis'] };
}

async function main(): Promise<void> {
  const { directory, buckets } = parseS3ServerArgs(process.argv.slice(2));
  const server = await startS3Server({ directory, buckets });
  log('info', 's3 listening', { url: server.url, port: server.port, accessKey: server.accessKey, secretKey: server.secretKey, buckets, directory });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log('info', 'shutting down', { signal });
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  // Closes every connection (keep-alive ones included); the folder is kept: it is the data.
  await server.stop();
  log('info', 'stopped');
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      log('error', 's3 server failed', { error: error instanceof Error ? error.message : String(error) });
      process.exit(1);
    },
  );
}
