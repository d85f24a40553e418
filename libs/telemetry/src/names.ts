/**
 * Every span name, attribute key and metric the services emit, in one place: the code uses these
 * constants and README's "Observability" section documents the same table.
 */

/** Attribute keys of the project's own spans and metric points (OTel semantic conventions where one exists). */
export const ATTR = {
  jobId: 'mitosis.job.id',
  jobKind: 'mitosis.job.kind',
  videoId: 'mitosis.video.id',
  stage: 'mitosis.stage',
  /** Frames the stage read or wrote (the whole video, or its frame range). */
  frameCount: 'mitosis.frame.count',
  /** The tfjs backend of the worker: wasm, cpu or tensorflow. */
  backend: 'mitosis.backend',
  delivery: 'mitosis.delivery',
  /** How a stage delivery ended: succeeded, retrying, failed, cancelled, dropped. */
  outcome: 'mitosis.outcome',
  errorKind: 'mitosis.error.kind',
  /** Final failure (dead-lettered) or one that will be retried. */
  final: 'mitosis.final',
  /** Training step of a loss value: m1.train, m2.train, m3.train. */
  step: 'mitosis.step',
  consumer: 'messaging.consumer.group.name',
  messagingSystem: 'messaging.system',
  messagingDestination: 'messaging.destination.name',
  messagingOperation: 'messaging.operation.type',
  messageId: 'messaging.message.id',
  rpcSystem: 'rpc.system',
  rpcService: 'rpc.service',
  rpcMethod: 'rpc.method',
  grpcStatus: 'rpc.grpc.status_code',
} as const;

/** Span names: `{rpc.service}/{rpc.method}` for gRPC calls (semantic conventions), the rest below. */
export const SPAN = {
  /** Producer span around a work message published to JetStream. */
  publish: (stage: string) => `publish ${stage}`,
  /** Consumer span around one delivery of a work message, from pull to ack. */
  process: (stage: string) => `process ${stage}`,
  /** The stage's work itself (a stage thread's run), with video id, frame count and backend. */
  stage: (stage: string) => `stage ${stage}`,
} as const;

export type MetricType = 'histogram' | 'counter' | 'gauge' | 'observable-gauge';

export interface MetricDefinition {
  readonly name: string;
  readonly type: MetricType;
  /** UCUM unit as OTLP carries it: `s`, `{frame}`, `{frame}/s`; empty for a loss (no unit, no `ratio` suffix). */
  readonly unit: string;
  readonly description: string;
  readonly attributes: readonly string[];
  /** Histogram bucket boundaries (advice to the SDK). */
  readonly buckets?: readonly number[];
}

const DURATION_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/** The metrics, keyed by what the code calls them. */
export const METRICS = {
  stageDuration: {
    name: 'mitosis.stage.duration',
    type: 'histogram',
    unit: 's',
    description: 'Wall time of one stage run (in its stage thread), by stage, outcome and backend',
    attributes: [ATTR.stage, ATTR.outcome, ATTR.backend],
    buckets: DURATION_BUCKETS,
  },
  stageFrames: {
    name: 'mitosis.stage.frames',
    type: 'counter',
    unit: '{frame}',
    description: 'Frames processed by successful stage runs',
    attributes: [ATTR.stage, ATTR.backend],
  },
  stageFrameRate: {
    name: 'mitosis.stage.frame_rate',
    type: 'histogram',
    unit: '{frame}/s',
    description: 'Frames per second of each successful stage run (frames / duration)',
    attributes: [ATTR.stage, ATTR.backend],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
  },
  stageFailures: {
    name: 'mitosis.stage.failures',
    type: 'counter',
    unit: '{failure}',
    description: 'Failed deliveries of stage work, by error kind; final = dead-lettered, else retried',
    attributes: [ATTR.stage, ATTR.errorKind, ATTR.final],
  },
  stageRedeliveries: {
    name: 'mitosis.stage.redeliveries',
    type: 'counter',
    unit: '{delivery}',
    description: 'Deliveries of a work message after its first (a crash, a timeout or a retry)',
    attributes: [ATTR.stage],
  },
  trainingLoss: {
    name: 'mitosis.training.loss',
    type: 'histogram',
    unit: '',
    description: 'Training loss reported by M1, M2 and M3 at each iteration',
    attributes: [ATTR.stage, ATTR.step],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
  },
  trainingLastLoss: {
    name: 'mitosis.training.last_loss',
    type: 'gauge',
    unit: '',
    description: 'The latest training loss of each training step',
    attributes: [ATTR.stage, ATTR.step],
  },
  consumerPending: {
    name: 'mitosis.consumer.pending',
    type: 'observable-gauge',
    unit: '{message}',
    description: 'Work messages not yet delivered to the stage consumer (queue lag, num_pending)',
    attributes: [ATTR.stage, ATTR.consumer],
  },
  consumerAckPending: {
    name: 'mitosis.consumer.ack_pending',
    type: 'observable-gauge',
    unit: '{message}',
    description: 'Work messages delivered and not yet acknowledged (in progress, num_ack_pending)',
    attributes: [ATTR.stage, ATTR.consumer],
  },
  consumerRedelivered: {
    name: 'mitosis.consumer.redelivered',
    type: 'observable-gauge',
    unit: '{message}',
    description: 'Work messages delivered more than once and still unacknowledged (num_redelivered)',
    attributes: [ATTR.stage, ATTR.consumer],
  },
  rpcDuration: {
    name: 'mitosis.rpc.server.duration',
    type: 'histogram',
    unit: 's',
    description: 'Duration of gateway gRPC calls, by method and status code',
    attributes: [ATTR.rpcService, ATTR.rpcMethod, ATTR.grpcStatus],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  },
  jobsStarted: {
    name: 'mitosis.jobs.started',
    type: 'counter',
    unit: '{job}',
    description: 'Jobs created by the gateway, by kind',
    attributes: [ATTR.jobKind],
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

// OpenTelemetry -> Prometheus unit words (the OTLP -> Prometheus compatibility spec).
const UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'seconds',
  ms: 'milliseconds',
  By: 'bytes',
  '%': 'percent',
};

/**
 * The name a Prometheus server (its OTLP receiver, or the collector's Prometheus exporter) gives
 * an OTLP metric: dots to underscores, the unit as a word suffix (`{...}` annotations dropped,
 * `x/y` -> `x_per_y`, `1` -> `ratio` on gauges only), `_total` on counters. Histograms add
 * `_bucket`, `_sum` and `_count` to this base name.
 */
export function prometheusName(metric: Pick<MetricDefinition, 'name' | 'type' | 'unit'>): string {
  const words: string[] = [];
  const unit = metric.unit.replace(/\{[^}]*\}/g, '');
  if (unit === '1') {
    if (metric.type === 'gauge' || metric.type === 'observable-gauge') words.push('ratio');
  } else if (unit !== '') {
    const [main = '', per] = unit.split('/');
    if (main !== '') words.push(UNIT_WORDS[main] ?? main);
    if (per !== undefined && per !== '') words.push('per', per === 's' ? 'second' : (UNIT_WORDS[per] ?? per));
  }
  let name = metric.name.replace(/[^a-zA-Z0-9_:]/g, '_');
  for (const word of words) if (!name.split('_').includes(word)) name += `_${word}`;
  if (metric.type === 'counter') name += '_total';
  return name.replace(/__+/g, '_');
}
