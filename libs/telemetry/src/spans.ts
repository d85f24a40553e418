import type { Context, Span, SpanOptions, Tracer } from '@opentelemetry/api';
import { SpanStatusCode, context, isSpanContextValid, trace } from '@opentelemetry/api';
import { ATTR } from './names';

/** The tracer of one of the project's libs or apps (a no-op until initTelemetry ran). */
export function mitosisTracer(name: string): Tracer {
  return trace.getTracer(name);
}

/**
 * Runs `fn` in a new span that is the active span meanwhile (so logs, nested spans and published
 * messages inside see it), ends it when `fn` settles, and marks it failed if `fn` throws.
 */
export async function inSpan<T>(tracer: Tracer, name: string, options: SpanOptions, fn: (span: Span) => Promise<T>, parent: Context = context.active()): Promise<T> {
  const span = tracer.startSpan(name, options, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error: unknown) {
    markSpanFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** ERROR status with the error's message, the exception event, and the @mitosis/core error kind when it has one. */
export function markSpanFailed(span: Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  span.recordException(error instanceof Error ? error : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  const kind = (error as { kind?: unknown } | null)?.kind;
  if (typeof kind === 'string') span.setAttribute(ATTR.errorKind, kind);
}

/**
 * `trace_id` and `span_id` of the active span, for structured log lines (the names OTel's log
 * data model uses), or an empty object outside any span.
 */
export function traceLogFields(ctx: Context = context.active()): { trace_id?: string; span_id?: string } {
  const spanContext = trace.getSpanContext(ctx);
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
