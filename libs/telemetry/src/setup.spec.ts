import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { InvalidInputError } from '@mitosis/core';
import type { SpanLine } from './file-exporter';
import { initTelemetry, parseResourceAttributes, telemetryExportFromEnv } from './setup';
import { inSpan, traceLogFields } from './spans';

describe('telemetryExportFromEnv', () => {
  it('exports nothing by default, OTLP when an endpoint is set', () => {
    expect(telemetryExportFromEnv({})).toEqual({ kind: 'none' });
    expect(telemetryExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({ kind: 'otlp', metricIntervalMs: 60_000, metricTimeoutMs: 30_000 });
    expect(telemetryExportFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces', OTEL_METRIC_EXPORT_INTERVAL: '1000' })).toMatchObject({
      kind: 'otlp',
      metricIntervalMs: 1000,
    });
    expect(telemetryExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toEqual({ kind: 'none' });
    expect(telemetryExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', MITOSIS_OTEL_EXPORTER: 'none' })).toEqual({ kind: 'none' });
    expect(telemetryExportFromEnv({ MITOSIS_OTEL_EXPORTER: 'file:/tmp/spans' })).toEqual({ kind: 'file', dir: '/tmp/spans' });
  });

  it('names the variable that is wrong', () => {
    expect(() => telemetryExportFromEnv({ MITOSIS_OTEL_EXPORTER: 'jaeger' })).toThrow(
      new InvalidInputError('MITOSIS_OTEL_EXPORTER "jaeger" is not otlp, none or file:<absolute dir>'),
    );
    expect(() => telemetryExportFromEnv({ MITOSIS_OTEL_EXPORTER: 'otlp' })).toThrow(/needs OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => telemetryExportFromEnv({ MITOSIS_OTEL_EXPORTER: 'file:spans' })).toThrow(/absolute folder/);
    expect(() => telemetryExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_METRIC_EXPORT_INTERVAL: '-5' })).toThrow(/OTEL_METRIC_EXPORT_INTERVAL "-5"/);
  });

  it('parses OTEL_RESOURCE_ATTRIBUTES', () => {
    expect(parseResourceAttributes('k8s.pod.name=m1-abc, team=cell%20lab,broken,=x')).toEqual({ 'k8s.pod.name': 'm1-abc', team: 'cell lab' });
  });
});

describe('initTelemetry', () => {
  it('records nested spans with the active span following awaits, and logs fields from it', async () => {
    const spans = new InMemorySpanExporter();
    const telemetry = initTelemetry({ service: 'setup-spec', env: { OTEL_RESOURCE_ATTRIBUTES: 'k8s.pod.name=pod-1' }, spanExporter: spans });
    try {
      expect(telemetry).toMatchObject({ serviceName: 'mitosis-setup-spec', exporter: 'custom' });
      const tracer = trace.getTracer('setup-spec');
      expect(traceLogFields()).toEqual({});
      let inner: Record<string, string | undefined> = {};
      await inSpan(tracer, 'outer', { kind: SpanKind.SERVER }, async (outer) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        await inSpan(tracer, 'inner', {}, async () => {
          await Promise.resolve();
          inner = traceLogFields();
        });
        expect(traceLogFields()).toEqual({ trace_id: outer.spanContext().traceId, span_id: outer.spanContext().spanId });
      });
      await expect(inSpan(tracer, 'failing', {}, () => Promise.reject(Object.assign(new Error('no frames'), { kind: 'FAILED_PRECONDITION' })))).rejects.toThrow('no frames');

      const [innerSpan, outerSpan, failing] = spans.getFinishedSpans();
      expect(innerSpan?.name).toBe('inner');
      expect(innerSpan?.parentSpanContext?.spanId).toBe(outerSpan?.spanContext().spanId);
      expect(inner).toEqual({ trace_id: outerSpan?.spanContext().traceId, span_id: innerSpan?.spanContext().spanId });
      expect(outerSpan?.resource.attributes).toMatchObject({ 'service.name': 'mitosis-setup-spec', 'service.namespace': 'mitosis', 'k8s.pod.name': 'pod-1' });
      expect(failing?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no frames' });
      expect(failing?.attributes['mitosis.error.kind']).toBe('FAILED_PRECONDITION');
      expect(failing?.events.map((e) => e.name)).toEqual(['exception']);
    } finally {
      await telemetry.shutdown();
    }
    // Unregistered: the API is a no-op again, and the active context no longer follows.
    expect(trace.getTracer('x').startSpan('after').isRecording()).toBe(false);
    const someSpan = trace.setSpanContext(context.active(), { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 });
    expect(context.with(someSpan, () => traceLogFields())).toEqual({});
  });

  it('writes spans as JSON lines with MITOSIS_OTEL_EXPORTER=file:<dir>', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'telemetry-spec-'));
    try {
      const telemetry = initTelemetry({ service: 'ingest', env: { MITOSIS_OTEL_EXPORTER: `file:${dir}` } });
      expect(telemetry.exporter).toBe('file');
      const tracer = trace.getTracer('setup-spec');
      await inSpan(tracer, 'stage ingest', { attributes: { 'mitosis.frame.count': 24 } }, async () => {
        await inSpan(tracer, 'publish m1', { kind: SpanKind.PRODUCER }, () => Promise.resolve());
      });
      await telemetry.shutdown();
      const files = await readdir(dir);
      expect(files).toEqual([`mitosis-ingest-${process.pid}.spans.jsonl`]);
      const lines = (await readFile(path.join(dir, files[0] ?? ''), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as SpanLine);
      expect(lines.map((l) => [l.name, l.service, l.kind])).toEqual([
        ['publish m1', 'mitosis-ingest', SpanKind.PRODUCER],
        ['stage ingest', 'mitosis-ingest', SpanKind.INTERNAL],
      ]);
      expect(lines[0]?.parentSpanId).toBe(lines[1]?.spanId);
      expect(lines[0]?.traceId).toBe(lines[1]?.traceId);
      expect(lines[1]?.attributes).toEqual({ 'mitosis.frame.count': 24 });
      expect(lines[1]?.durationUs).toBeGreaterThanOrEqual(lines[0]?.durationUs ?? Infinity);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
