import type { NatsConnection } from 'nats';
import { AckPolicy, RetentionPolicy, connect, millis } from 'nats';
import { InvalidInputError, PreconditionError } from '@mitosis/core';
import { startNatsServer, uniqueName } from '@mitosis/testing';
import { HEADERS, STAGES, eventNames } from './names';
import { publishWork, workMsgId } from './publish';
import { ensureTopology } from './topology';

let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe('ensureTopology', () => {
  it('creates the work-queue stream, one filtered durable consumer per stage, the limits streams and the bucket', async () => {
    const prefix = uniqueName('topo');
    const names = await ensureTopology(nc, { prefix, storage: 'memory', stages: { m1: { ackWaitMs: 2_000, maxDeliver: 3 } } });
    const jsm = await nc.jetstreamManager();

    const work = await jsm.streams.info(names.workStream);
    expect(work.config.retention).toBe(RetentionPolicy.Workqueue);
    expect(work.config.subjects).toEqual([`${prefix}.work.>`]);
    expect((await jsm.streams.info(names.deadStream)).config.retention).toBe(RetentionPolicy.Limits);
    const events = await jsm.streams.info(names.eventsStream);
    expect(events.config.subjects).toEqual([`${prefix}.jobs.*.events`]);
    expect(events.config.max_msgs_per_subject).toBe(10_000);

    for (const stage of STAGES) {
      const info = await jsm.consumers.info(names.workStream, names.stageConsumer(stage));
      expect(info.config.filter_subject).toBe(`${prefix}.work.${stage}`);
      expect(info.config.ack_policy).toBe(AckPolicy.Explicit);
    }
    const m1 = await jsm.consumers.info(names.workStream, names.stageConsumer('m1'));
    expect(millis(m1.config.ack_wait ?? 0)).toBe(2_000);
    // One delivery more than maxDeliver: the last one only dead-letters (see ensureStageConsumer).
    expect(m1.config.max_deliver).toBe(4);

    const kv = await nc.jetstream().views.kv(names.jobsBucket, { bindOnly: true });
    expect((await kv.status()).history).toBe(5);
  });

  it('is idempotent and updates delivery settings in place', async () => {
    const prefix = uniqueName('topo');
    await ensureTopology(nc, { prefix, storage: 'memory' });
    await ensureTopology(nc, { prefix, storage: 'memory' });
    await ensureTopology(nc, { prefix, storage: 'memory', stages: { m2: { ackWaitMs: 5_000, maxDeliver: 2 } } });
    const jsm = await nc.jetstreamManager();
    const m2 = await jsm.consumers.info(`${prefix}_WORK`, `${prefix}_m2`);
    expect(millis(m2.config.ack_wait ?? 0)).toBe(5_000);
    expect(m2.config.max_deliver).toBe(3);
    const names = (await jsm.streams.names().next()).filter((n) => n.includes(prefix));
    expect(names.sort()).toEqual([`KV_${prefix}_jobs`, `${prefix}_DEAD`, `${prefix}_JOB_EVENTS`, `${prefix}_WORK`].sort());
  });

  it('refuses to silently change a stream it cannot update', async () => {
    const prefix = uniqueName('topo');
    await ensureTopology(nc, { prefix, storage: 'memory' });
    await expect(ensureTopology(nc, { prefix, storage: 'file' })).rejects.toThrow(PreconditionError);
  });

  it('rejects bad settings before touching the server', async () => {
    await expect(ensureTopology(nc, { prefix: 'a.b' })).rejects.toThrow(InvalidInputError);
    await expect(ensureTopology(nc, { prefix: uniqueName('topo'), stages: { m1: { maxDeliver: 0 } } })).rejects.toThrow(/maxDeliver must be a positive integer/);
  });
});

describe('publishWork', () => {
  it('drops a re-published work message with the same job, stage and attempt', async () => {
    const names = await ensureTopology(nc, { prefix: uniqueName('pub'), storage: 'memory' });
    const js = nc.jetstream();
    const payload = new TextEncoder().encode('{"videoId":"v1"}');

    const first = await publishWork(js, names, 'm1', payload, { jobId: 'job1', headers: { traceparent: '00-abc-def-01' } });
    const retried = await publishWork(js, names, 'm1', payload, { jobId: 'job1' });
    expect(first.duplicate).toBe(false);
    expect(retried).toEqual({ seq: first.seq, duplicate: true });

    // Another attempt or another stage of the same job is new work.
    const secondAttempt = await publishWork(js, names, 'm1', payload, { jobId: 'job1', attempt: 2 });
    const otherStage = await publishWork(js, names, 'm2', payload, { jobId: 'job1' });
    expect(secondAttempt.duplicate).toBe(false);
    expect(otherStage.duplicate).toBe(false);

    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info(names.workStream)).state.messages).toBe(3);
    const stored = await jsm.streams.getMessage(names.workStream, { seq: first.seq });
    expect(stored.subject).toBe(names.workSubject('m1'));
    expect(stored.header.get(HEADERS.jobId)).toBe('job1');
    expect(stored.header.get(HEADERS.attempt)).toBe('1');
    expect(stored.header.get(HEADERS.msgId)).toBe(workMsgId('job1', 'm1', 1));
    expect(stored.header.get('traceparent')).toBe('00-abc-def-01');
    expect(stored.data).toEqual(payload);
  });

  it('needs a job id or a msg id, so that every publish can be de-duplicated', async () => {
    const js = nc.jetstream();
    const names = eventNames(uniqueName('pub'));
    await expect(publishWork(js, names, 'm1', new Uint8Array(0))).rejects.toThrow(/needs a jobId or an explicit msgId/);
    expect(() => workMsgId('job1', 'm1', 0)).toThrow(InvalidInputError);
    expect(workMsgId('job1', 'm3-train', 2)).toBe('job1:m3-train:2');
  });
});
