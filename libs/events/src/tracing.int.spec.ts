import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { NatsConnection } from 'nats';
import { connect } from 'nats';
import { MitosisError } from '@mitosis/core';
import type { Telemetry } from '@mitosis/telemetry';
import { initTelemetry, inSpan, traceLogFields } from '@mitosis/telemetry';
import { startNatsServer, uniqueName } from '@mitosis/testing';
import { jsonCodec } from './codec';
import { observeConsumerLag } from './consumer-metrics';
import { createJobStore } from './job-store';
import { newJob } from './lifecycle';
import { publishWork } from './publish';
import type { StageConsumer } from './stage-consumer';
import { createStageConsumer } from './stage-consumer';
import { ensureTopology } from './topology';

/**
 * Trace context through JetStream: the publisher's span travels in the work message's
 * `traceparent` header and the consumer's span continues it; redeliveries, failures and the
 * consumer's queue lag become metrics.
 */

class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const codec = jsonCodec<{ n: number }>();
const spans = new InMemorySpanExporter();
const reader = new TestReader();
let telemetry: Telemetry;
let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;
const consumers: StageConsumer[] = [];

beforeAll(async () => {
  telemetry = initTelemetry({ service: 'events-spec', env: {}, spanExporter: spans, metricReader: reader });
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop({ timeoutMs: 0 })));
  spans.reset();
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
  await telemetry?.shutdown();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); await sleep(20)) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
}

function points(metrics: ResourceMetrics, name: string) {
  return metrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)?.dataPoints ?? [];
}

it('a consumer span continues the publisher trace, and process runs inside it', async () => {
  const names = await ensureTopology(nc, { prefix: uniqueName('tr'), storage: 'memory', stages: { m1: { ackWaitMs: 2_000, maxDeliver: 3 } } });
  const jobs = await createJobStore(nc.jetstream(), names.jobsBucket);
  const job = await jobs.create(newJob({ id: uniqueName('job'), kind: 'analysis', stages: ['m1'] }));
  const seen: { trace_id?: string; span_id?: string; traceparent?: string }[] = [];
  consumers.push(
    await createStageConsumer({
      nc,
      names,
      stage: 'm1',
      codec,
      jobs,
      ackWaitMs: 2_000,
      maxDeliver: 3,
      pullExpiresMs: 1_000,
      process: (_work, ctx) => {
        seen.push({ ...traceLogFields(), ...(ctx.headers['traceparent'] ? { traceparent: ctx.headers['traceparent'] } : {}) });
        return Promise.resolve();
      },
    }),
  );
  const tracer = trace.getTracer('events-spec');
  await inSpan(tracer, 'StartAnalysis', { kind: SpanKind.SERVER }, () => publishWork(nc.jetstream(), names, 'm1', codec.encode({ n: 1 }), { jobId: job.id }));
  await waitFor('the consumer span', () => spans.getFinishedSpans().some((s) => s.name === 'process m1'));

  const byName = new Map(spans.getFinishedSpans().map((s) => [s.name, s]));
  const root = byName.get('StartAnalysis');
  const publish = byName.get('publish m1');
  const processed = byName.get('process m1');
  const traceId = root?.spanContext().traceId;
  expect(publish?.parentSpanContext?.spanId).toBe(root?.spanContext().spanId);
  expect(publish?.kind).toBe(SpanKind.PRODUCER);
  expect(publish?.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': names.workSubject('m1'), 'mitosis.job.id': job.id, 'mitosis.stage': 'm1' });
  expect(processed?.spanContext().traceId).toBe(traceId);
  expect(processed?.parentSpanContext).toMatchObject({ spanId: publish?.spanContext().spanId, isRemote: true });
  expect(processed?.kind).toBe(SpanKind.CONSUMER);
  expect(processed?.attributes).toMatchObject({
    'mitosis.job.id': job.id,
    'mitosis.delivery': 1,
    'mitosis.outcome': 'succeeded',
    'messaging.consumer.group.name': names.stageConsumer('m1'),
  });
  expect(seen).toEqual([{ trace_id: traceId, span_id: processed?.spanContext().spanId, traceparent: `00-${traceId}-${publish?.spanContext().spanId}-01` }]);
});

it('counts redeliveries and failures, marks the failed delivery span, and reports queue lag', async () => {
  const names = await ensureTopology(nc, { prefix: uniqueName('tr'), storage: 'memory', stages: { m2: { ackWaitMs: 2_000, maxDeliver: 3 } } });
  const stopLag = observeConsumerLag({ nc, names, stages: ['m2'] });
  try {
    const js = nc.jetstream();
    for (let n = 0; n < 3; n++) await publishWork(js, names, 'm2', codec.encode({ n }), { msgId: `w-${n}` });
    // No consumer pulling yet: the three messages wait.
    const before = (await reader.collect()).resourceMetrics;
    expect(
      points(before, 'mitosis.consumer.pending')
        .filter((p) => p.attributes['mitosis.stage'] === 'm2')
        .map((p) => p.value),
    ).toEqual([3]);

    let calls = 0;
    consumers.push(
      await createStageConsumer({
        nc,
        names,
        stage: 'm2',
        codec,
        ackWaitMs: 2_000,
        maxDeliver: 3,
        pullExpiresMs: 1_000,
        backoff: { initialMs: 20 },
        process: (work) => {
          calls++;
          // The first delivery of message 0 fails with a retryable error; everything else succeeds.
          if (work.n === 0 && calls === 1) return Promise.reject(new MitosisError('INTERNAL', 'transient'));
          return Promise.resolve();
        },
      }),
    );
    await waitFor('four process spans', () => spans.getFinishedSpans().filter((s) => s.name === 'process m2').length === 4);
    const processed = spans.getFinishedSpans().filter((s) => s.name === 'process m2');
    const failed = processed.filter((s) => s.status.code === SpanStatusCode.ERROR);
    expect(failed.map((s) => [s.attributes['mitosis.outcome'], s.attributes['mitosis.delivery'], s.status.message])).toEqual([['retrying', 1, 'transient']]);
    expect(processed.filter((s) => s.attributes['mitosis.delivery'] === 2).length).toBe(1);

    const after = (await reader.collect()).resourceMetrics;
    expect(
      points(after, 'mitosis.stage.redeliveries')
        .filter((p) => p.attributes['mitosis.stage'] === 'm2')
        .map((p) => p.value),
    ).toEqual([1]);
    expect(
      points(after, 'mitosis.stage.failures')
        .filter((p) => p.attributes['mitosis.stage'] === 'm2')
        .map((p) => [p.attributes, p.value]),
    ).toEqual([[{ 'mitosis.stage': 'm2', 'mitosis.error.kind': 'INTERNAL', 'mitosis.final': false }, 1]]);
    expect(
      points(after, 'mitosis.consumer.pending')
        .filter((p) => p.attributes['mitosis.stage'] === 'm2')
        .map((p) => p.value),
    ).toEqual([0]);
  } finally {
    stopLag();
  }
});
