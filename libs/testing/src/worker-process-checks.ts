import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { uniqueName } from './nats-server';
import type { WorkerProcessFixture } from './worker-process-fixture';

export interface WorkerProcessSubject {
  /** Service name the worker logs (`ingest`, `m1`...). */
  readonly service: string;
  /** Stages it consumes, in the order it reports them. */
  readonly stages: readonly string[];
  /** A phrase its `worker starting` description contains. */
  readonly description: string;
  /** The spec's NATS server, scratch folder and launcher (workerProcessFixture). */
  readonly worker: WorkerProcessFixture;
}

/**
 * The two checks every stage worker's process spec makes: it starts, consumes its stages, is ready
 * on /readyz and alive on /livez, and stops cleanly on SIGTERM; with bad variables it exits 1
 * naming each one. Declared inside the caller's describe block.
 */
export function itRunsAsWorkerProcess(subject: WorkerProcessSubject): void {
  it('starts, consumes its stages, is ready, and stops cleanly on SIGTERM', async () => {
    const run = subject.worker.start({
      MITOSIS_NATS_URL: subject.worker.nats().url,
      MITOSIS_STORE: pathToFileURL(path.join(subject.worker.dir(), 'store')).href,
      MITOSIS_PREFIX: uniqueName(subject.service),
      MITOSIS_BACKEND: 'cpu',
      MITOSIS_HEALTH_ADDR: '127.0.0.1:0',
    });
    const started = await run.line((l) => l['msg'] === 'worker started');
    expect(started).toMatchObject({ level: 'info', service: subject.service, stages: subject.stages, isolation: 'thread' });
    expect(run.lines.find((l) => l['msg'] === 'worker starting')).toMatchObject({ description: expect.stringContaining(subject.description) as unknown });
    expect(run.lines.find((l) => l['msg'] === 'compute backend')).toMatchObject({ backend: 'cpu' });
    const { url } = (await run.line((l) => l['msg'] === 'health endpoint')) as { url: string };
    const ready = await fetch(`${url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, expect.objectContaining({ ready: true, connected: true, stages: subject.stages })]);
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.lines.map((l) => l['msg'])).toEqual(expect.arrayContaining(['shutting down', 'worker stopped', 'stopped']));
  });

  it('exits 1 with one line naming each bad variable', async () => {
    const run = subject.worker.start({ MITOSIS_STORE: 'file:///tmp/x', MITOSIS_CONCURRENCY: '0' });
    expect(await run.exit).toEqual({ code: 1, signal: null });
    const failed = await run.line((l) => l['msg'] === 'worker failed');
    expect(failed['error']).toMatchObject({
      kind: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/MITOSIS_NATS_URL is not set.*MITOSIS_CONCURRENCY 0 is outside 1\.\.64/) as unknown,
    });
  });
}
