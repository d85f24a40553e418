/** `<dir>/cluster.json`, which `up` writes and `status` and `down` read, and the table they print. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, PreconditionError } from '@mitosis/core';
import type { ProcessExit, ServiceName } from './process';

/** The S3 server of a cluster: where it listens, its credentials, bucket and folder. */
export interface S3Endpoint {
  readonly url: string;
  readonly port: number;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  readonly directory: string;
}

/** The content of `<dir>/cluster.json`, which `status` and `down` read. */
export interface ClusterFile {
  readonly startedAt: string;
  stoppedAt?: string;
  readonly dir: string;
  /** The process that started the cluster (the `up` command, or a test). */
  readonly supervisorPid: number;
  readonly grpc: string;
  readonly nats: string;
  readonly store: string;
  readonly prefix: string;
  readonly s3: S3Endpoint;
  readonly processes: readonly { id: string; name: ServiceName; replica: number; pid: number; endpoint: string; log: string; command: readonly string[] }[];
}

/** One row of the table `up` and `status` print. */
export interface ProcessRow {
  readonly id: string;
  readonly pid: number;
  readonly endpoint: string;
  readonly state: string;
  /** Relative to the cluster folder. */
  readonly log: string;
}

export const stateOf = (exit: ProcessExit | undefined): string =>
  exit === undefined ? 'running' : exit.signal !== null ? `killed (${exit.signal})` : `exited ${String(exit.code)}`;

export function describeProcesses(file: Pick<ClusterFile, 'dir' | 'grpc' | 'nats' | 'store'>, processes: readonly ProcessRow[]): string {
  const rows = processes.map((p) => [p.id, String(p.pid), p.endpoint, p.state, p.log]);
  const header = ['process', 'pid', 'endpoint', 'state', 'log'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    ...rows.map(line),
    '',
    `gRPC       ${file.grpc}`,
    `NATS       ${file.nats}`,
    `store      ${file.store}`,
    `logs       ${path.join(file.dir, 'logs')}/<process>.log`,
    `endpoints  ${path.join(file.dir, 'cluster.json')}`,
  ].join('\n');
}

export async function readClusterFile(dir: string): Promise<ClusterFile> {
  const file = path.join(path.resolve(dir), 'cluster.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error: unknown) {
    throw new PreconditionError(`no cluster in ${path.resolve(dir)}: ${file} does not exist (start one with cluster.ts up --dir ${dir})`, { cause: error });
  }
  const value = JSON.parse(text) as ClusterFile;
  if (!Array.isArray(value.processes)) throw new InvalidInputError(`${file}: no "processes" list`);
  return value;
}

export async function writeClusterFile(dir: string, file: ClusterFile): Promise<void> {
  await writeFile(path.join(dir, 'cluster.json'), `${JSON.stringify(file, null, 2)}\n`);
}
