import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NatsServerFixture } from './nats-server';
import { startNatsServer } from './nats-server';
import type { WorkerRun } from './worker-process';
import { workerLauncher } from './worker-process';

/** What a worker process spec runs against; `nats` and `dir` may be read once beforeAll ran. */
export interface WorkerProcessFixture {
  readonly nats: () => NatsServerFixture;
  /** The spec's scratch folder; the workers run in it. */
  readonly dir: () => string;
  /** Starts the worker's launcher with exactly these variables. */
  readonly start: (env: Record<string, string>) => WorkerRun;
}

/**
 * The set-up of a stage worker's process spec, declared at the top of the file: a NATS server and
 * a scratch folder in beforeAll, the launcher `script` started from that folder (the launcher must
 * not depend on the working directory), and in afterAll every worker killed, the server stopped
 * and the folder removed. A spec's own afterAll that needs NATS must be declared before this call:
 * Jest runs afterAll hooks in the order they were declared.
 */
export function workerProcessFixture(service: string, script: string): WorkerProcessFixture {
  const workers = workerLauncher(script);
  let nats: NatsServerFixture | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(path.join(tmpdir(), `${service}-main-`));
  });
  afterAll(async () => {
    workers.killAll();
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error(`the ${service} worker process fixture is read before its beforeAll ran`);
    return value;
  };
  return {
    nats: () => ready(nats),
    dir: () => ready(dir),
    start: (env) => workers.start(env, ready(dir)),
  };
}
