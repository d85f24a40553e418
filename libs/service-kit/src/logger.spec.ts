import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { InvalidInputError } from '@mitosis/core';
import { initTelemetry, inSpan } from '@mitosis/telemetry';
import { createLogger } from './logger';

function capture(level?: 'debug' | 'info' | 'warn' | 'error') {
  const lines: string[] = [];
  const log = createLogger('m1', { write: (line) => lines.push(line), now: () => new Date('2030-01-02T03:04:05.000Z'), ...(level ? { level } : {}) });
  return { log, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>), lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with time, level, service, message and fields', () => {
    const { log, parsed, lines } = capture();
    log.info('stage started', { jobId: 'j1', stage: 'm1' });
    expect(lines[0]).not.toContain('\n');
    expect(parsed()).toEqual([{ time: '2030-01-02T03:04:05.000Z', level: 'info', service: 'm1', msg: 'stage started', jobId: 'j1', stage: 'm1' }]);
  });

  it('drops lines below the level', () => {
    const { log, parsed } = capture('warn');
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    expect(parsed().map((l) => l['msg'])).toEqual(['c', 'd']);
  });

  it('adds the fields of a child to every line, never overwriting the reserved ones', () => {
    const { log, parsed } = capture();
    log.child({ component: 'events', msg: 'nope' }).warn('pull failed', { failures: 2, level: 'x' });
    expect(parsed()[0]).toEqual({ time: '2030-01-02T03:04:05.000Z', level: 'warn', service: 'm1', msg: 'pull failed', component: 'events', failures: 2 });
  });

  it('spells out errors: kind, message, cause; stacks only for internal errors', () => {
    const { log, parsed } = capture();
    log.error('failed', { error: new InvalidInputError('bad frame range', { cause: new Error('inner') }) });
    log.error('bug', { error: new TypeError('x is undefined') });
    const [bad, bug] = parsed();
    expect(bad?.['error']).toEqual({ name: 'InvalidInputError', message: 'bad frame range', kind: 'INVALID_ARGUMENT', cause: expect.objectContaining({ message: 'inner' }) });
    expect(bug?.['error']).toMatchObject({ name: 'TypeError', message: 'x is undefined', stack: expect.stringContaining('TypeError') });
  });

  it('keeps a line whose fields cannot be serialised', () => {
    const { log, parsed } = capture();
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    log.info('odd', { cycle });
    expect(parsed()[0]).toMatchObject({ msg: 'odd', fieldsDropped: true });
  });
});

describe('createLogger inside a span', () => {
  it('adds trace_id and span_id of the active span, and nothing outside one', async () => {
    const telemetry = initTelemetry({ service: 'logger-spec', env: {}, spanExporter: new InMemorySpanExporter() });
    try {
      const { log, parsed } = capture();
      let ids: { traceId: string; spanId: string } | undefined;
      await inSpan(trace.getTracer('logger-spec'), 'stage m1', {}, async (span) => {
        ids = span.spanContext();
        await Promise.resolve();
        log.info('stage started', { trace_id: 'not mine' });
      });
      log.info('after');
      expect(parsed()).toEqual([
        { time: '2030-01-02T03:04:05.000Z', level: 'info', service: 'm1', msg: 'stage started', trace_id: ids?.traceId, span_id: ids?.spanId },
        { time: '2030-01-02T03:04:05.000Z', level: 'info', service: 'm1', msg: 'after' },
      ]);
    } finally {
      await telemetry.shutdown();
    }
  });
});
