import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode, hrTimeToMicroseconds } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** One finished span as a line of `<dir>/<service>-<pid>.spans.jsonl`. */
export interface SpanLine {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** SpanKind number (0 internal, 1 server, 2 client, 3 producer, 4 consumer). */
  readonly kind: number;
  readonly service: string;
  /** Microseconds since the epoch. */
  readonly startUs: number;
  readonly durationUs: number;
  /** 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message?: string };
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly events: readonly { readonly name: string; readonly timeUs: number; readonly attributes?: Readonly<Record<string, unknown>> }[];
}

/**
 * Writes finished spans as JSON lines to a file of this process (`MITOSIS_OTEL_EXPORTER=file:<dir>`):
 * for a cluster on one machine without a collector, where `cat <dir>/*.jsonl` shows every trace.
 * Appends synchronously (spans come in batches of up to 512 every few seconds).
 */
export class JsonLinesSpanExporter implements SpanExporter {
  readonly file: string;
  private stopped = false;

  constructor(dir: string, service: string) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `${service.replace(/[^\w.-]/g, '_')}-${process.pid}.spans.jsonl`);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
      return;
    }
    try {
      const text = spans.map((span) => `${JSON.stringify(toLine(span))}\n`).join('');
      if (text !== '') appendFileSync(this.file, text);
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (error: unknown) {
      resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  shutdown(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export function toLine(span: ReadableSpan): SpanLine {
  const context = span.spanContext();
  const parent = span.parentSpanContext?.spanId;
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    ...(parent ? { parentSpanId: parent } : {}),
    name: span.name,
    kind: span.kind,
    service: String(span.resource.attributes['service.name'] ?? ''),
    startUs: hrTimeToMicroseconds(span.startTime),
    durationUs: hrTimeToMicroseconds(span.duration),
    status: { code: span.status.code, ...(span.status.message ? { message: span.status.message } : {}) },
    attributes: { ...span.attributes },
    events: span.events.map((event) => ({ name: event.name, timeUs: hrTimeToMicroseconds(event.time), ...(event.attributes ? { attributes: { ...event.attributes } } : {}) })),
  };
}
