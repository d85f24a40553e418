import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DataPointType, MetricReader } from '@opentelemetry/sdk-metrics';
import { mitosisInstruments } from './instruments';
import type { MetricDefinition } from './names';
import { ATTR, METRICS, prometheusName } from './names';
import type { Telemetry } from './setup';
import { initTelemetry } from './setup';

/** A reader that exports nothing: collect() hands the points to the test. */
class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

describe('prometheusName', () => {
  it('maps the OTLP names the way Prometheus does (README table)', () => {
    const table = Object.fromEntries(Object.values(METRICS).map((m: MetricDefinition) => [m.name, prometheusName(m)]));
    expect(table).toEqual({
      'mitosis.stage.duration': 'mitosis_stage_duration_seconds',
      'mitosis.stage.frames': 'mitosis_stage_frames_total',
      'mitosis.stage.frame_rate': 'mitosis_stage_frame_rate_per_second',
      'mitosis.stage.failures': 'mitosis_stage_failures_total',
      'mitosis.stage.redeliveries': 'mitosis_stage_redeliveries_total',
      'mitosis.training.loss': 'mitosis_training_loss',
      'mitosis.training.last_loss': 'mitosis_training_last_loss',
      'mitosis.consumer.pending': 'mitosis_consumer_pending',
      'mitosis.consumer.ack_pending': 'mitosis_consumer_ack_pending',
      'mitosis.consumer.redelivered': 'mitosis_consumer_redelivered',
      'mitosis.rpc.server.duration': 'mitosis_rpc_server_duration_seconds',
      'mitosis.jobs.started': 'mitosis_jobs_started_total',
    });
  });

  it('follows the unit rules on hand-made cases', () => {
    expect(prometheusName({ name: 'a.b', type: 'gauge', unit: '1' })).toBe('a_b_ratio');
    expect(prometheusName({ name: 'a.b', type: 'histogram', unit: '1' })).toBe('a_b');
    expect(prometheusName({ name: 'a.size', type: 'counter', unit: 'By' })).toBe('a_size_bytes_total');
    expect(prometheusName({ name: 'a.time_seconds', type: 'histogram', unit: 's' })).toBe('a_time_seconds');
    expect(prometheusName({ name: 'a-b.c', type: 'gauge', unit: 'm/s' })).toBe('a_b_c_m_per_second');
  });
});

describe('mitosisInstruments through an in-memory reader', () => {
  let telemetry: Telemetry;
  const reader = new TestReader();
  beforeAll(() => {
    telemetry = initTelemetry({ service: 'metrics-spec', env: {}, metricReader: reader });
  });
  afterAll(() => telemetry.shutdown());

  it('exports every metric under its documented name, unit and type', async () => {
    const m = mitosisInstruments();
    expect(mitosisInstruments()).toBe(m); // made once per provider
    const stage = { [ATTR.stage]: 'm1', [ATTR.backend]: 'wasm' };
    m.stageDuration.record(12.5, { ...stage, [ATTR.outcome]: 'succeeded' });
    m.stageFrames.add(24, stage);
    m.stageFrameRate.record(24 / 12.5, stage);
    m.stageFailures.add(1, { [ATTR.stage]: 'm1', [ATTR.errorKind]: 'INTERNAL', [ATTR.final]: false });
    m.stageRedeliveries.add(1, { [ATTR.stage]: 'm1' });
    m.trainingLoss.record(0.25, { [ATTR.stage]: 'm1', [ATTR.step]: 'm1.train' });
    m.trainingLastLoss.record(0.25, { [ATTR.stage]: 'm1', [ATTR.step]: 'm1.train' });
    m.rpcDuration.record(0.01, { [ATTR.rpcService]: 'mitosis.v1.JobService', [ATTR.rpcMethod]: 'GetJob', [ATTR.grpcStatus]: 0 });
    m.jobsStarted.add(1, { [ATTR.jobKind]: 'analysis' });
    const gauges = [m.consumerPending, m.consumerAckPending, m.consumerRedelivered];
    const observe = (result: { observe(gauge: (typeof gauges)[number], value: number, attributes: Record<string, string>): void }): void => {
      gauges.forEach((gauge, i) => result.observe(gauge, 3 - i, { [ATTR.stage]: 'm1', [ATTR.consumer]: 'm1' }));
    };
    m.meter.addBatchObservableCallback(observe, gauges);

    const { resourceMetrics, errors } = await reader.collect();
    m.meter.removeBatchObservableCallback(observe, gauges);
    expect(errors).toEqual([]);
    const found = byName(resourceMetrics);
    expect(resourceMetrics.resource.attributes['service.name']).toBe('mitosis-metrics-spec');
    for (const def of Object.values(METRICS) as MetricDefinition[]) {
      const metric = found.get(def.name);
      expect([def.name, metric?.descriptor.unit, metric?.descriptor.description]).toEqual([def.name, def.unit, def.description]);
      const type = def.type === 'histogram' ? DataPointType.HISTOGRAM : def.type === 'counter' ? DataPointType.SUM : DataPointType.GAUGE;
      expect([def.name, metric?.dataPointType]).toEqual([def.name, type]);
      for (const point of metric?.dataPoints ?? []) expect(def.attributes).toEqual(expect.arrayContaining(Object.keys(point.attributes)));
    }
    const duration = found.get(METRICS.stageDuration.name)?.dataPoints[0];
    expect(duration?.value).toMatchObject({ count: 1, sum: 12.5 });
    // The advised boundaries replace the SDK's millisecond-shaped defaults.
    expect((duration?.value as { buckets: { boundaries: number[] } }).buckets.boundaries).toEqual(METRICS.stageDuration.buckets);
    expect(found.get(METRICS.consumerPending.name)?.dataPoints.map((p) => p.value)).toEqual([3]);
    expect(found.get(METRICS.consumerRedelivered.name)?.dataPoints.map((p) => p.value)).toEqual([1]);
    expect(found.get(METRICS.trainingLastLoss.name)?.dataPoints.map((p) => p.value)).toEqual([0.25]);
  });
});

function byName(resourceMetrics: ResourceMetrics) {
  return new Map(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric]));
}
