import type { Counter, Gauge, Histogram, Meter, MeterProvider, ObservableGauge } from '@opentelemetry/api';
import { metrics } from '@opentelemetry/api';
import type { MetricDefinition } from './names';
import { METRICS } from './names';

/** The project's instruments, made from METRICS on one meter. */
export interface MitosisInstruments {
  readonly meter: Meter;
  readonly stageDuration: Histogram;
  readonly stageFrames: Counter;
  readonly stageFrameRate: Histogram;
  readonly stageFailures: Counter;
  readonly stageRedeliveries: Counter;
  readonly trainingLoss: Histogram;
  readonly trainingLastLoss: Gauge;
  readonly consumerPending: ObservableGauge;
  readonly consumerAckPending: ObservableGauge;
  readonly consumerRedelivered: ObservableGauge;
  readonly rpcDuration: Histogram;
  readonly jobsStarted: Counter;
}

export const METER_NAME = '@mitosis/telemetry';

let cached: { provider: MeterProvider; instruments: MitosisInstruments } | undefined;

/**
 * The instruments on the global meter provider. The metrics API has no proxy provider (a meter
 * taken before setup stays a no-op), so they are made on first use and made again when the
 * global provider changed (initTelemetry ran, or a test installed an in-memory reader).
 */
export function mitosisInstruments(): MitosisInstruments {
  const provider = metrics.getMeterProvider();
  if (cached?.provider === provider) return cached.instruments;
  const meter = provider.getMeter(METER_NAME);
  const options = (m: MetricDefinition) => ({
    description: m.description,
    unit: m.unit,
    ...(m.buckets ? { advice: { explicitBucketBoundaries: [...m.buckets] } } : {}),
  });
  const instruments: MitosisInstruments = {
    meter,
    stageDuration: meter.createHistogram(METRICS.stageDuration.name, options(METRICS.stageDuration)),
    stageFrames: meter.createCounter(METRICS.stageFrames.name, options(METRICS.stageFrames)),
    stageFrameRate: meter.createHistogram(METRICS.stageFrameRate.name, options(METRICS.stageFrameRate)),
    stageFailures: meter.createCounter(METRICS.stageFailures.name, options(METRICS.stageFailures)),
    stageRedeliveries: meter.createCounter(METRICS.stageRedeliveries.name, options(METRICS.stageRedeliveries)),
    trainingLoss: meter.createHistogram(METRICS.trainingLoss.name, options(METRICS.trainingLoss)),
    trainingLastLoss: meter.createGauge(METRICS.trainingLastLoss.name, options(METRICS.trainingLastLoss)),
    consumerPending: meter.createObservableGauge(METRICS.consumerPending.name, options(METRICS.consumerPending)),
    consumerAckPending: meter.createObservableGauge(METRICS.consumerAckPending.name, options(METRICS.consumerAckPending)),
    consumerRedelivered: meter.createObservableGauge(METRICS.consumerRedelivered.name, options(METRICS.consumerRedelivered)),
    rpcDuration: meter.createHistogram(METRICS.rpcDuration.name, options(METRICS.rpcDuration)),
    jobsStarted: meter.createCounter(METRICS.jobsStarted.name, options(METRICS.jobsStarted)),
  };
  cached = { provider, instruments };
  return instruments;
}
