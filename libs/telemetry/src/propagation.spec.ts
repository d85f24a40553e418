import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { Client, Metadata, Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, context, trace } from '@opentelemetry/api';
import { headers as natsHeaders } from 'nats';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { extractTraceHeaders, extractTraceMetadata, injectTraceMetadata, traceContextInterceptor, traceHeaders } from './propagation';
import type { Telemetry } from './setup';
import { initTelemetry } from './setup';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

let telemetry: Telemetry;
const spans = new InMemorySpanExporter();

beforeAll(() => {
  telemetry = initTelemetry({ service: 'propagation-spec', env: {}, spanExporter: spans });
});
afterAll(() => telemetry.shutdown());
afterEach(() => spans.reset());

const tracer = () => trace.getTracer('propagation-spec');

describe('NATS header records', () => {
  it('injects the active span as traceparent and extracts it as the remote parent of a child span', () => {
    const parent = tracer().startSpan('publish m1', { kind: SpanKind.PRODUCER });
    const headers = context.with(trace.setSpan(ROOT_CONTEXT, parent), () => traceHeaders({ 'Mitosis-Job-Id': 'job-1' }));
    parent.end();
    const { traceId, spanId } = parent.spanContext();
    expect(headers).toEqual({ 'Mitosis-Job-Id': 'job-1', traceparent: `00-${traceId}-${spanId}-01` });

    const extracted = extractTraceHeaders(headers);
    expect(trace.getSpanContext(extracted)).toMatchObject({ traceId, spanId, isRemote: true });
    const child = tracer().startSpan('process m1', { kind: SpanKind.CONSUMER }, extracted);
    child.end();
    const [, finished] = spans.getFinishedSpans();
    expect(finished?.spanContext().traceId).toBe(traceId);
    expect(finished?.parentSpanContext?.spanId).toBe(spanId);
  });

  it('round-trips through real nats.js headers (whose names keep their case)', () => {
    const h = natsHeaders();
    for (const [key, value] of Object.entries(traceHeaders({}, trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 })))) h.set(key, value);
    const record: Record<string, string> = {};
    for (const [key, values] of h) record[key] = values[0] ?? '';
    expect(record).toEqual({ traceparent: TRACEPARENT });
    expect(trace.getSpanContext(extractTraceHeaders({ TraceParent: TRACEPARENT }))?.traceId).toBe(TRACE_ID);
  });

  it('adds nothing outside a span and extracts nothing from missing or malformed headers', () => {
    expect(traceHeaders({ a: 'b' }, ROOT_CONTEXT)).toEqual({ a: 'b' });
    expect(trace.getSpanContext(extractTraceHeaders({}))).toBeUndefined();
    expect(trace.getSpanContext(extractTraceHeaders({ traceparent: '00-nothex-00f067aa0ba902b7-01' }))).toBeUndefined();
    expect(trace.getSpanContext(extractTraceHeaders({ traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` }))).toBeUndefined();
  });

  it('keeps the caller record unchanged', () => {
    const input = { a: 'b' };
    traceHeaders(input, trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 }));
    expect(input).toEqual({ a: 'b' });
  });
});

describe('gRPC metadata', () => {
  it('injects and extracts traceparent on Metadata', () => {
    const metadata = injectTraceMetadata(new Metadata(), trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 }));
    expect(metadata.get('traceparent')).toEqual([TRACEPARENT]);
    expect(trace.getSpanContext(extractTraceMetadata(metadata))).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    expect(trace.getSpanContext(extractTraceMetadata(new Metadata()))).toBeUndefined();
  });

  it('the client interceptor sends the span active at the call, which the server extracts', async () => {
    const received: (string | undefined)[] = [];
    const definition = {
      echo: {
        path: '/test.Echo/Echo',
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: Buffer) => value,
        requestDeserialize: (value: Buffer) => value,
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: (value: Buffer) => value,
      },
    };
    const server = new Server();
    server.addService(definition, {
      echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        received.push(trace.getSpanContext(extractTraceMetadata(call.metadata))?.spanId);
        callback(null, call.request);
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { interceptors: [traceContextInterceptor] });
    const echo = (): Promise<Buffer> =>
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(
          '/test.Echo/Echo',
          (v: Buffer) => v,
          (v: Buffer) => v,
          Buffer.from('hi'),
          (e, r) => (e || !r ? reject(e) : resolve(r)),
        ),
      );
    try {
      const span = tracer().startSpan('client');
      await context.with(trace.setSpan(ROOT_CONTEXT, span), echo);
      span.end();
      await echo(); // outside any span: no traceparent
      expect(received).toEqual([span.spanContext().spanId, undefined]);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
