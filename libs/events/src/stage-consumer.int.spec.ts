import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { InvalidInputError } from '@mitosis/core';
import { startNatsServer, uniqueName } from '@mitosis/testing';
import { jsonCodec } from './codec';
import type { Job } from './job';
import { cancelJob, newJob, recordTransition } from './lifecycle';
import type { JobStore } from './job-store';
import { createJobStore } from './job-store';
import type { EventNames, Stage } from './names';
import { HEADERS } from './names';
import type { JobEvent } from './publish';
import { jobEventCodec, publishWork } from './publish';
import type { StageConsumer, StageConsumerOptions, StageContext } from './stage-consumer';
import { createStageConsumer } from './stage-consumer';
import { ensureTopology } from './topology';

interface Work {
  n: number;
}
const codec = jsonCodec<Work>();
const encode = (n: number): Uint8Array => codec.encode({ n });

let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;
const opened: NatsConnection[] = [];
const consumers: StageConsumer[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop({ timeoutMs: 0 })));
  await Promise.all(opened.splice(0).map((c) => (c.isClosed() ? undefined : c.close())));
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function newConnection(): Promise<NatsConnection> {
  const c = await connect({ servers: server.url });
  opened.push(c);
  return c;
}

/** Options of a consumer of the test's stage; its topology, stage, ack wait and delivery limit are the test's. */
type ConsumeOptions = Omit<StageConsumerOptions<Work>, 'codec' | 'names' | 'stage' | 'nc' | 'ackWaitMs' | 'maxDeliver'> & { nc?: NatsConnection };

/**
 * A fresh prefix, its topology and job store: each test sees only its own messages. `consume`
 * starts a consumer of `stage` there, on a connection of its own unless the options give one.
 */
async function setUp(
  stage: Stage,
  ackWaitMs: number,
  maxDeliver: number,
): Promise<{ names: EventNames; jobs: JobStore; consume: (options: ConsumeOptions) => Promise<StageConsumer> }> {
  const names = await ensureTopology(nc, { prefix: uniqueName('sc'), storage: 'memory', stages: { [stage]: { ackWaitMs, maxDeliver } } });
  const jobs = await createJobStore(nc.jetstream(), names.jobsBucket);
  const consume = async (options: ConsumeOptions): Promise<StageConsumer> => {
    const log = process.env['EVENTS_DEBUG'] === '1' ? { info: console.log, warn: console.log, error: console.log } : undefined;
    const c = await createStageConsumer({
      codec,
      pullExpiresMs: 1_000,
      backoff: { initialMs: 50 },
      log,
      names,
      stage,
      ackWaitMs,
      maxDeliver,
      ...options,
      nc: options.nc ?? (await newConnection()),
    });
    consumers.push(c);
    return c;
  };
  return { names, jobs, consume };
}

async function workLeft(names: EventNames): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return (await jsm.streams.info(names.workStream)).state.messages;
}

async function deadLetters(names: EventNames): Promise<{ subject: string; headers: Record<string, string>; data: Uint8Array }[]> {
  const jsm = await nc.jetstreamManager();
  const { state } = await jsm.streams.info(names.deadStream);
  const out = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(names.deadStream, { seq });
    const headers: Record<string, string> = {};
    for (const [k, v] of m.header) headers[k] = v[0] ?? '';
    out.push({ subject: m.subject, headers, data: m.data });
  }
  return out;
}

async function jobEvents(names: EventNames, jobId: string): Promise<JobEvent[]> {
  const jsm = await nc.jetstreamManager();
  const { state } = await jsm.streams.info(names.eventsStream);
  const out: JobEvent[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(names.eventsStream, { seq });
    if (m.subject === names.jobEventsSubject(jobId)) out.push(jobEventCodec.decode(m.data));
  }
  return out;
}

async function startJob(jobs: JobStore, stages: Stage[]): Promise<Job> {
  return jobs.create(newJob({ id: uniqueName('job'), kind: 'analysis', stages }));
}

describe('createStageConsumer', () => {
  it('two replicas of a stage share 20 messages: each processed exactly once and acked', async () => {
    const { names, consume } = await setUp('m1', 2_000, 3);
    const processedBy = new Map<number, string[]>();
    const replica = async (who: string) =>
      consume({
        concurrency: 3,
        process: async (work, ctx) => {
          expect(ctx.deliveryCount).toBe(1);
          processedBy.set(work.n, [...(processedBy.get(work.n) ?? []), who]);
          await sleep(20 + (work.n % 5) * 10);
        },
      });
    await Promise.all([replica('a'), replica('b')]);
    const js = nc.jetstream();
    for (let n = 0; n < 20; n++) await publishWork(js, names, 'm1', encode(n), { msgId: `w-${n}` });

    await waitFor('20 messages processed', () => processedBy.size === 20);
    await waitFor('all acked', async () => (await workLeft(names)) === 0);
    expect([...processedBy.values()].every((who) => who.length === 1)).toBe(true);
    const counts = { a: 0, b: 0 };
    for (const [who] of processedBy.values()) counts[who as 'a' | 'b']++;
    expect(counts.a).toBeGreaterThan(0);
    expect(counts.b).toBeGreaterThan(0);
    const info = await (await nc.jetstreamManager()).consumers.info(names.workStream, names.stageConsumer('m1'));
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });

  it('redelivers the message of a crashed worker, after the ack wait, to another one, which completes it once', async () => {
    const { names, jobs, consume } = await setUp('m2', 1_000, 3);
    const job = await startJob(jobs, ['m2']);
    const crashing = await newConnection();
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    const deliveries: { who: string; deliveryCount: number }[] = [];
    await consume({
      nc: crashing,
      // Its job store stays reachable (a partition cut only its work connection), so its late
      // success below tries to write the record: a stale delivery must not roll it back.
      jobs,
      process: async (_work, ctx) => {
        deliveries.push({ who: 'crashing', deliveryCount: ctx.deliveryCount });
        await stuck; // never finishes before its connection dies
      },
    });
    await publishWork(nc.jetstream(), names, 'm2', encode(1), { jobId: job.id });
    await waitFor('first delivery', () => deliveries.length === 1);
    const crashedAt = Date.now();
    await crashing.close(); // the worker process dies: no ack, no nak, no more heartbeats

    const completed: number[] = [];
    await consume({
      jobs,
      process: async (work, ctx) => {
        deliveries.push({ who: 'healthy', deliveryCount: ctx.deliveryCount });
        completed.push(work.n);
      },
    });
    await waitFor('redelivery completed', async () => (await jobs.get(job.id)).stages.m2?.state === 'SUCCEEDED');
    expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(500); // it waited for the ack wait, not a nak
    release(); // the cut-off worker finishes late: its ack cannot reach the server
    await waitFor('stream empty', async () => (await workLeft(names)) === 0);
    await sleep(200);
    expect(deliveries).toEqual([
      { who: 'crashing', deliveryCount: 1 },
      { who: 'healthy', deliveryCount: 2 },
    ]);
    expect(completed).toEqual([1]);
    expect((await jobs.get(job.id)).stages.m2).toMatchObject({ state: 'SUCCEEDED', attempts: 2 });
  });

  it('keeps a message longer than the ack wait from being redelivered while its heartbeat runs', async () => {
    const { names, consume } = await setUp('m3-train', 1_000, 3);
    const deliveries: number[] = [];
    const replica = async () =>
      consume({
        heartbeatMs: 250,
        process: async (_work, ctx) => {
          deliveries.push(ctx.deliveryCount);
          await sleep(2_500); // long training: 2.5 ack waits
        },
      });
    await Promise.all([replica(), replica()]);
    await publishWork(nc.jetstream(), names, 'm3-train', encode(1), { msgId: 'train-1' });
    await waitFor('acked', async () => (await workLeft(names)) === 0, 8_000);
    await sleep(1_200); // past another ack wait: nothing comes back
    expect(deliveries).toEqual([1]);
  });

  it('a non-retryable error: term at once, dead letter, job FAILED with the reason, no redelivery', async () => {
    const { names, jobs, consume } = await setUp('ingest', 1_000, 3);
    const job = await startJob(jobs, ['ingest', 'm1']);
    let calls = 0;
    await consume({
      jobs,
      process: async () => {
        calls++;
        throw new InvalidInputError('frame 3 of video.tif is empty');
      },
    });
    const payload = encode(7);
    await publishWork(nc.jetstream(), names, 'ingest', payload, { jobId: job.id, headers: { traceparent: 't-1' } });

    await waitFor('job failed', async () => (await jobs.get(job.id)).state === 'FAILED');
    const failed = await jobs.get(job.id);
    expect(failed.error).toEqual({ kind: 'INVALID_ARGUMENT', message: 'frame 3 of video.tif is empty', stage: 'ingest' });
    expect(failed.stages.ingest).toMatchObject({
      state: 'FAILED',
      attempts: 1,
      error: { kind: 'INVALID_ARGUMENT', message: 'frame 3 of video.tif is empty' },
    });
    expect(failed.stages.m1?.state).toBe('QUEUED');

    const dead = await deadLetters(names);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.subject).toBe(names.deadSubject('ingest'));
    expect(dead[0]!.data).toEqual(payload);
    expect(dead[0]!.headers).toMatchObject({
      [HEADERS.deadReason]: 'frame 3 of video.tif is empty',
      [HEADERS.deadKind]: 'INVALID_ARGUMENT',
      [HEADERS.deadDeliveries]: '1',
      [HEADERS.deadSubject]: names.workSubject('ingest'),
      [HEADERS.jobId]: job.id,
      traceparent: 't-1',
    });
    await waitFor('terminated', async () => (await workLeft(names)) === 0);
    await sleep(1_300); // past the ack wait
    expect(calls).toBe(1);
    expect((await jobEvents(names, job.id)).map((e) => e.type)).toEqual(['stage-started', 'stage-failed']);
  });

  it('a retryable error: redelivered with backoff up to maxDeliver, then dead-lettered and FAILED', async () => {
    const { names, jobs, consume } = await setUp('m1', 2_000, 3);
    const job = await startJob(jobs, ['m1']);
    const deliveries: number[] = [];
    const times: number[] = [];
    await consume({
      jobs,
      backoff: { initialMs: 150 },
      process: async (_work, ctx) => {
        deliveries.push(ctx.deliveryCount);
        times.push(Date.now());
        throw new Error('GPU out of memory');
      },
    });
    await publishWork(nc.jetstream(), names, 'm1', encode(1), { jobId: job.id });
    await waitFor('job failed', async () => (await jobs.get(job.id)).state === 'FAILED');
    expect(deliveries).toEqual([1, 2, 3]);
    // nak(delay) backs off 150 ms, then 300 ms, and well under the 2 s ack wait.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(140);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(290);
    expect(times[2]! - times[0]!).toBeLessThan(2_000);
    const failed = await jobs.get(job.id);
    expect(failed.error).toEqual({ kind: 'INTERNAL', message: 'GPU out of memory', stage: 'm1' });
    expect(failed.stages.m1).toMatchObject({ state: 'FAILED', attempts: 3 });
    const dead = await deadLetters(names);
    expect(dead.map((d) => d.headers[HEADERS.deadDeliveries])).toEqual(['3']);
    await waitFor('terminated', async () => (await workLeft(names)) === 0);
    await sleep(300);
    expect(deliveries).toEqual([1, 2, 3]);
    expect((await jobEvents(names, job.id)).map((e) => e.type)).toEqual(['stage-started', 'stage-retrying', 'stage-started', 'stage-retrying', 'stage-started', 'stage-failed']);
  });

  it('a stage that fails twice then succeeds ends SUCCEEDED with its progress and three attempts', async () => {
    const { names, jobs, consume } = await setUp('m2', 2_000, 3);
    const job = await startJob(jobs, ['m2']);
    await consume({
      jobs,
      progressIntervalMs: 0,
      process: async (_work, ctx: StageContext) => {
        expect(ctx.jobId).toBe(job.id);
        expect(ctx.headers).toMatchObject({ [HEADERS.jobId]: job.id, traceparent: '00-trace-01' });
        expect(ctx.maxDeliver).toBe(3);
        ctx.reportProgress(5, 10, `attempt ${ctx.deliveryCount}`);
        if (ctx.deliveryCount < 3) throw new Error('connection reset');
        ctx.progress({ step: 'm2.infer', done: 10, total: 10, detail: 'loss 0.31' });
      },
    });
    await publishWork(nc.jetstream(), names, 'm2', encode(1), { jobId: job.id, headers: { traceparent: '00-trace-01' } });
    await waitFor('stage succeeded', async () => (await jobs.get(job.id)).stages.m2?.state === 'SUCCEEDED');
    const done = await jobs.get(job.id);
    expect(done.stages.m2).toMatchObject({ state: 'SUCCEEDED', attempts: 3, step: 'm2.infer', done: 10, total: 10, detail: 'loss 0.31' });
    expect(done.stages.m2?.error).toBeUndefined();
    expect(done.state).toBe('RUNNING'); // the job goes on: the next stage, not this consumer, ends it
    expect(await deadLetters(names)).toEqual([]);
    const events = await jobEvents(names, job.id);
    expect(events.filter((e) => e.type === 'progress').map((e) => [e.attempt, e.done, e.detail])).toEqual([
      [1, 5, 'attempt 1'],
      [2, 5, 'attempt 2'],
      [3, 5, 'attempt 3'],
      [3, 10, 'loss 0.31'],
    ]);
  });

  it('dead-letters a message that does not decode, without calling process', async () => {
    const { names, jobs, consume } = await setUp('m1', 2_000, 3);
    const job = await startJob(jobs, ['m1']);
    let calls = 0;
    await consume({
      jobs,
      process: async () => {
        calls++;
      },
    });
    await publishWork(nc.jetstream(), names, 'm1', new TextEncoder().encode('not json'), { jobId: job.id });
    await waitFor('job failed', async () => (await jobs.get(job.id)).state === 'FAILED');
    expect(calls).toBe(0);
    expect((await jobs.get(job.id)).error).toMatchObject({ kind: 'INVALID_ARGUMENT', stage: 'm1' });
    expect((await deadLetters(names)).map((d) => d.headers[HEADERS.deadDeliveries])).toEqual(['1']);
  });

  it('dead-letters, without running the stage again, a message whose every delivery crashed its worker', async () => {
    const { names, jobs, consume } = await setUp('m3-detect', 1_000, 1);
    const job = await startJob(jobs, ['m3-detect']);
    const crashing = await newConnection();
    let calls = 0;
    await consume({
      nc: crashing,
      jobs,
      process: async () => {
        calls++;
        await crashing.close(); // dies on this message
      },
    });
    await publishWork(nc.jetstream(), names, 'm3-detect', encode(1), { jobId: job.id });
    await waitFor('crash', () => calls === 1);
    await consume({
      jobs,
      process: async () => {
        calls++;
      },
    });
    await waitFor('job failed', async () => (await jobs.get(job.id)).state === 'FAILED');
    expect(calls).toBe(1);
    expect((await jobs.get(job.id)).error?.message).toMatch(/no worker finished stage m3-detect in 1 deliveries/);
    expect((await deadLetters(names)).map((d) => d.headers[HEADERS.deadKind])).toEqual(['INTERNAL']);
    await waitFor('removed', async () => (await workLeft(names)) === 0);
  });

  it('a job cancelled while its stage runs aborts the stage at its next progress report, and the work is not redone', async () => {
    const { names, jobs, consume } = await setUp('m3-train', 2_000, 3);
    const job = await startJob(jobs, ['m3-train']);
    let sawAbort = false;
    let calls = 0;
    await consume({
      jobs,
      progressIntervalMs: 30,
      process: async (_work, ctx) => {
        calls++;
        for (let iteration = 1; iteration <= 500 && !ctx.signal.aborted; iteration++) {
          ctx.reportProgress(iteration, 500);
          await sleep(10);
        }
        sawAbort = ctx.signal.aborted;
        ctx.signal.throwIfAborted();
      },
    });
    await publishWork(nc.jetstream(), names, 'm3-train', encode(1), { jobId: job.id });
    await waitFor('progress', async () => ((await jobs.get(job.id)).stages['m3-train']?.done ?? 0) > 3);
    // What the gateway's CancelJob does: the job and its unfinished stages CANCELLED.
    await recordTransition(jobs, job.id, (j) => cancelJob(j));
    await waitFor('acked', async () => (await workLeft(names)) === 0);
    expect(sawAbort).toBe(true);
    expect((await jobs.get(job.id)).stages['m3-train']).toMatchObject({ state: 'CANCELLED', attempts: 1 });
    expect((await jobEvents(names, job.id)).map((e) => e.type)).toContain('stage-cancelled');
    expect(await deadLetters(names)).toEqual([]);
    expect(calls).toBe(1);
    expect((await jobs.get(job.id)).state).toBe('CANCELLED');
  });

  it('stop() waits for in-flight work, and past its deadline aborts it and hands it back at once', async () => {
    const { names, consume } = await setUp('m1', 5_000, 3);
    const seen: { who: string; deliveryCount: number }[] = [];
    let aborted: unknown;
    const first = await consume({
      process: (_work, ctx) => {
        seen.push({ who: 'first', deliveryCount: ctx.deliveryCount });
        return new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = ctx.signal.reason;
            reject(ctx.signal.reason);
          });
        });
      },
    });
    await publishWork(nc.jetstream(), names, 'm1', encode(1), { msgId: 'long-1' });
    await waitFor('first delivery', () => seen.length === 1);
    expect(first.inFlight).toBe(1);
    const stopping = Date.now();
    await first.stop({ timeoutMs: 200 });
    expect(Date.now() - stopping).toBeLessThan(2_000);
    expect(aborted).toMatchObject({ kind: 'CANCELLED' });

    const handedBack = Date.now();
    await consume({
      process: async (_work, ctx) => {
        seen.push({ who: 'second', deliveryCount: ctx.deliveryCount });
      },
    });
    await waitFor('acked', async () => (await workLeft(names)) === 0);
    expect(Date.now() - handedBack).toBeLessThan(4_000); // the nak, not the 5 s ack wait
    expect(seen).toEqual([
      { who: 'first', deliveryCount: 1 },
      { who: 'second', deliveryCount: 2 },
    ]);
  });

  it('stop() with nothing in flight resolves promptly, and twice', async () => {
    const { consume } = await setUp('m2', 2_000, 3);
    const idle = await consume({ process: async () => undefined });
    const started = Date.now();
    await idle.stop();
    await idle.stop();
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('rejects a heartbeat that is not shorter than the ack wait', async () => {
    const { names } = await setUp('m2', 2_000, 3);
    await expect(createStageConsumer({ nc, names, stage: 'm2', codec, ackWaitMs: 1_000, heartbeatMs: 1_000, process: async () => undefined })).rejects.toThrow(
      /heartbeatMs \(1000\) must be shorter than ackWaitMs \(1000\)/,
    );
  });
});
