import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * A tiny OTLP/HTTP receiver (JSON encoding, what @opentelemetry/exporter-*-otlp-http send) on
 * loopback, for tests: the services of a one-machine cluster export to it through
 * OTEL_EXPORTER_OTLP_ENDPOINT, and the test reads back every span and metric point. It is the
 * collector's receiving end only: nothing is stored beyond this process's memory.
 */

export type AttributeMap = Record<string, string | number | boolean | undefined>;

export interface CollectedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly attributes: AttributeMap;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly status: number;
}

export interface CollectedPoint {
  readonly service: string;
  readonly metric: string;
  readonly unit: string;
  readonly type: 'sum' | 'gauge' | 'histogram';
  readonly attributes: AttributeMap;
  /** The value of a sum or gauge point; a histogram point's count and sum. */
  readonly value: number;
  readonly sum?: number;
}

export interface OtlpCollector {
  /** `http://127.0.0.1:<port>`: the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly spans: readonly CollectedSpan[];
  readonly points: readonly CollectedPoint[];
  /** Requests that could not be parsed (should stay empty). */
  readonly rejected: readonly string[];
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpValue;
}
interface OtlpResource {
  attributes?: OtlpKeyValue[];
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number };
}
interface OtlpNumberPoint {
  attributes?: OtlpKeyValue[];
  asInt?: string | number;
  asDouble?: number;
}
interface OtlpHistogramPoint {
  attributes?: OtlpKeyValue[];
  count?: string | number;
  sum?: number;
}
interface OtlpMetric {
  name: string;
  unit?: string;
  sum?: { dataPoints?: OtlpNumberPoint[] };
  gauge?: { dataPoints?: OtlpNumberPoint[] };
  histogram?: { dataPoints?: OtlpHistogramPoint[] };
}

function attributeMap(list: readonly OtlpKeyValue[] | undefined): AttributeMap {
  const out: AttributeMap = {};
  for (const { key, value } of list ?? []) {
    if (value === undefined) continue;
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
  }
  return out;
}

const serviceOf = (resource: OtlpResource | undefined): string => String(attributeMap(resource?.attributes)['service.name'] ?? '');

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = [];
  const points: CollectedPoint[] = [];
  const rejected: string[] = [];

  const ingestTraces = (body: { resourceSpans?: { resource?: OtlpResource; scopeSpans?: { spans?: OtlpSpan[] }[] }[] }): void => {
    for (const rs of body.resourceSpans ?? []) {
      const service = serviceOf(rs.resource);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            service,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind ?? 0,
            attributes: attributeMap(s.attributes),
            status: s.status?.code ?? 0,
          });
        }
      }
    }
  };
  const ingestMetrics = (body: { resourceMetrics?: { resource?: OtlpResource; scopeMetrics?: { metrics?: OtlpMetric[] }[] }[] }): void => {
    for (const rm of body.resourceMetrics ?? []) {
      const service = serviceOf(rm.resource);
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const base = { service, metric: m.name, unit: m.unit ?? '' };
          for (const p of m.sum?.dataPoints ?? []) points.push({ ...base, type: 'sum', attributes: attributeMap(p.attributes), value: Number(p.asDouble ?? p.asInt ?? NaN) });
          for (const p of m.gauge?.dataPoints ?? []) points.push({ ...base, type: 'gauge', attributes: attributeMap(p.attributes), value: Number(p.asDouble ?? p.asInt ?? NaN) });
          for (const p of m.histogram?.dataPoints ?? []) {
            points.push({ ...base, type: 'histogram', attributes: attributeMap(p.attributes), value: Number(p.count ?? 0), ...(p.sum !== undefined ? { sum: p.sum } : {}) });
          }
        }
      }
    }
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        let raw = Buffer.concat(chunks);
        if (request.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        if (!String(request.headers['content-type'] ?? '').includes('json')) throw new Error(`content-type ${String(request.headers['content-type'])} is not JSON`);
        const body: unknown = JSON.parse(raw.toString('utf8'));
        if (request.method === 'POST' && request.url === '/v1/traces') ingestTraces(body as Parameters<typeof ingestTraces>[0]);
        else if (request.method === 'POST' && request.url === '/v1/metrics') ingestMetrics(body as Parameters<typeof ingestMetrics>[0]);
        else throw new Error(`${request.method ?? ''} ${request.url ?? ''} is not an OTLP endpoint here`);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (error: unknown) {
        rejected.push(error instanceof Error ? error.message : String(error));
        response.writeHead(400, { 'content-type': 'application/json' }).end('{}');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    points,
    rejected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
