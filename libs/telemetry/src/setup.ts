import { hostname } from 'node:os';
import path from 'node:path';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Resource } from '@opentelemetry/resources';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { InvalidInputError } from '@mitosis/core';
import { JsonLinesSpanExporter } from './file-exporter';

export type TelemetryEnvironment = Readonly<Record<string, string | undefined>>;

/** Where a process sends its spans and metrics. */
export type TelemetryExport =
  | { readonly kind: 'none' }
  /** OTLP over HTTP (JSON): OTEL_EXPORTER_OTLP_ENDPOINT, or the per-signal *_TRACES_/*_METRICS_ENDPOINT. */
  | { readonly kind: 'otlp'; readonly metricIntervalMs: number; readonly metricTimeoutMs: number }
  /** Spans as JSON lines in a folder, one file per process; no metrics. */
  | { readonly kind: 'file'; readonly dir: string };

const DEFAULT_METRIC_INTERVAL_MS = 60_000;
const DEFAULT_METRIC_TIMEOUT_MS = 30_000;

/**
 * The export choice from the environment: MITOSIS_OTEL_EXPORTER = `otlp` | `none` | `file:<dir>`;
 * unset, OTLP when an OTEL_EXPORTER_OTLP_*ENDPOINT is set and nothing otherwise (spans are then
 * not recorded at all, but trace context still flows through). OTEL_SDK_DISABLED=true wins.
 */
export function telemetryExportFromEnv(env: TelemetryEnvironment): TelemetryExport {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return { kind: 'none' };
  const choice = env['MITOSIS_OTEL_EXPORTER']?.trim() ?? '';
  const endpoint = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'].some((name) => (env[name]?.trim() ?? '') !== '');
  const otlp = (): TelemetryExport => ({
    kind: 'otlp',
    metricIntervalMs: positiveMs(env, 'OTEL_METRIC_EXPORT_INTERVAL', DEFAULT_METRIC_INTERVAL_MS),
    metricTimeoutMs: positiveMs(env, 'OTEL_METRIC_EXPORT_TIMEOUT', DEFAULT_METRIC_TIMEOUT_MS),
  });
  if (choice === '') return endpoint ? otlp() : { kind: 'none' };
  if (choice === 'none') return { kind: 'none' };
  if (choice === 'otlp') {
    if (!endpoint) throw new InvalidInputError('MITOSIS_OTEL_EXPORTER=otlp needs OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://otel-collector:4318)');
    return otlp();
  }
  if (choice.startsWith('file:')) {
    const dir = choice.slice('file:'.length);
    if (!path.isAbsolute(dir)) throw new InvalidInputError(`MITOSIS_OTEL_EXPORTER "${choice}": file:<dir> needs an absolute folder`);
    return { kind: 'file', dir };
  }
  throw new InvalidInputError(`MITOSIS_OTEL_EXPORTER "${choice}" is not otlp, none or file:<absolute dir>`);
}

function positiveMs(env: TelemetryEnvironment, name: string, fallback: number): number {
  const text = env[name]?.trim() ?? '';
  if (text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new InvalidInputError(`${name} "${text}" is not a positive number of milliseconds`);
  return value;
}

export interface TelemetryOptions {
  /** The service: gateway, ingest, m1, m2, m3; service.name becomes `mitosis-<service>` unless OTEL_SERVICE_NAME says otherwise. */
  readonly service: string;
  readonly version?: string;
  /** Default process.env. */
  readonly env?: TelemetryEnvironment;
  /** Replaces the environment's span export (tests: an InMemorySpanExporter); spans go out one by one. */
  readonly spanExporter?: SpanExporter;
  /** Replaces the environment's metric export (tests: a reader over an InMemoryMetricExporter). */
  readonly metricReader?: MetricReader;
}

export interface Telemetry {
  /** service.name of this process's spans and metrics. */
  readonly serviceName: string;
  /** What the spans go to: none, otlp, file, or custom (options). */
  readonly exporter: 'none' | 'otlp' | 'file' | 'custom';
  /** Exports what is buffered now. */
  forceFlush(): Promise<void>;
  /** Flushes, then stops exporting and unregisters the global providers (idempotent). */
  shutdown(): Promise<void>;
}

/**
 * Sets this process's OpenTelemetry up, once, in main: the context manager (AsyncLocalStorage,
 * so the active span follows async calls), the W3C propagator, and the tracer and meter providers
 * with the exporters chosen by telemetryExportFromEnv. Libraries only use @opentelemetry/api,
 * which stays a cheap no-op in processes that never call this.
 */
export function initTelemetry(options: TelemetryOptions): Telemetry {
  const env = options.env ?? process.env;
  const choice = telemetryExportFromEnv(env);
  const serviceName = env['OTEL_SERVICE_NAME']?.trim() || `mitosis-${options.service}`;

  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  const resource = buildResource(serviceName, options.version, env);
  const processors: SpanProcessor[] = [];
  let exporter: Telemetry['exporter'] = choice.kind;
  if (options.spanExporter !== undefined) {
    processors.push(new SimpleSpanProcessor(options.spanExporter));
    exporter = 'custom';
  } else if (choice.kind === 'otlp') {
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  } else if (choice.kind === 'file') {
    processors.push(new BatchSpanProcessor(new JsonLinesSpanExporter(choice.dir, serviceName)));
  }
  const tracerProvider = processors.length > 0 ? new BasicTracerProvider({ resource, spanProcessors: processors }) : undefined;
  if (tracerProvider !== undefined) trace.setGlobalTracerProvider(tracerProvider);

  let reader: MetricReader | undefined = options.metricReader;
  if (reader === undefined && choice.kind === 'otlp') {
    reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter(),
      exportIntervalMillis: choice.metricIntervalMs,
      exportTimeoutMillis: Math.min(choice.metricTimeoutMs, choice.metricIntervalMs),
    });
  }
  const meterProvider = reader !== undefined ? new MeterProvider({ resource, readers: [reader] }) : undefined;
  if (meterProvider !== undefined) metrics.setGlobalMeterProvider(meterProvider);

  let stopped: Promise<void> | undefined;
  return {
    serviceName,
    exporter,
    forceFlush: async () => {
      await Promise.all([tracerProvider?.forceFlush(), meterProvider?.forceFlush()]);
    },
    shutdown: () =>
      (stopped ??= (async () => {
        // A collector that is gone must not hold the process's exit for long.
        await Promise.allSettled([tracerProvider?.shutdown(), meterProvider?.shutdown()]);
        trace.disable();
        metrics.disable();
        propagation.disable();
        context.disable();
      })()),
  };
}

function buildResource(serviceName: string, version: string | undefined, env: TelemetryEnvironment): Resource {
  const own = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: serviceName,
    'service.namespace': 'mitosis',
    'service.instance.id': `${hostname()}:${process.pid}`,
    ...(version ? { [ATTR_SERVICE_VERSION]: version } : {}),
  });
  // OTEL_RESOURCE_ATTRIBUTES (e.g. k8s.pod.name from the downward API) adds to and overrides ours.
  const fromEnv = env === process.env ? detectResources({ detectors: [envDetector] }) : resourceFromAttributes(parseResourceAttributes(env['OTEL_RESOURCE_ATTRIBUTES']));
  return own.merge(fromEnv);
}

/** `key=value,key=value` (values percent-encoded), as OTEL_RESOURCE_ATTRIBUTES is written. */
export function parseResourceAttributes(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      out[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // a malformed escape: the attribute is left out, as the SDK's env detector does
    }
  }
  return out;
}
