import type { Context, TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Interceptor, Metadata } from '@grpc/grpc-js';
import { InterceptingCall } from '@grpc/grpc-js';

/**
 * Trace context across processes, as W3C `traceparent` / `tracestate`: in NATS message headers
 * (the events lib hands them around as a plain record) and in gRPC metadata. The propagator is
 * used directly rather than the global one, so a process that never set telemetry up still
 * passes on the context it was given.
 */
const propagator = new W3CTraceContextPropagator();

/** The header names trace context travels in. */
export const TRACE_HEADERS: readonly string[] = propagator.fields();

const recordGetter: TextMapGetter<Readonly<Record<string, string | undefined>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const direct = carrier[key];
    if (direct !== undefined) return direct;
    // NATS header names are case-sensitive on the wire; accept any case of ours.
    const found = Object.keys(carrier).find((name) => name.toLowerCase() === key);
    return found === undefined ? undefined : carrier[found];
  },
};

const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * Headers carrying `ctx`'s span (default: the active one), merged into `headers` (a new record,
 * the input is not changed). Nothing is added when there is no valid span in the context.
 */
export function traceHeaders(headers: Readonly<Record<string, string>> = {}, ctx: Context = context.active()): Record<string, string> {
  const out: Record<string, string> = { ...headers };
  propagator.inject(ctx, out, recordSetter);
  return out;
}

/** The context whose remote parent is the span named by `traceparent` in `headers` (`base` when none or malformed). */
export function extractTraceHeaders(headers: Readonly<Record<string, string | undefined>>, base: Context = ROOT_CONTEXT): Context {
  return propagator.extract(base, headers, recordGetter);
}

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const values = carrier.get(key).map((value) => (typeof value === 'string' ? value : value.toString('utf8')));
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** Sets `traceparent` (and `tracestate`) on gRPC metadata from `ctx` (default: the active context). */
export function injectTraceMetadata(metadata: Metadata, ctx: Context = context.active()): Metadata {
  propagator.inject(ctx, metadata, metadataSetter);
  return metadata;
}

/** The context of the caller's span from gRPC metadata (`base` when it sent none). */
export function extractTraceMetadata(metadata: Metadata, base: Context = ROOT_CONTEXT): Context {
  return propagator.extract(base, metadata, metadataGetter);
}

/**
 * A grpc-js client interceptor that sends the trace context active when a call is made
 * (`new XServiceClient(address, creds, { interceptors: [traceContextInterceptor] })`), so the
 * gateway's server span continues the client's trace.
 */
export const traceContextInterceptor: Interceptor = (options, nextCall) => {
  const active = context.active();
  return new InterceptingCall(nextCall(options), {
    start: (metadata, listener, next) => next(injectTraceMetadata(metadata, active), listener),
  });
};
