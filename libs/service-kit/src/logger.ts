import { traceLogFields } from '@mitosis/telemetry';
import type { LogLevel } from './config';

/**
 * Structured logs: one JSON object per line ({time, level, service, msg, trace_id?, span_id?,
 * ...fields}), what log collectors in Kubernetes parse without configuration; a line written
 * inside a span carries its trace and span ids, so the logs of one job join its trace. Also an
 * EventsLogger for @mitosis/events, and what the gateway logs through.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** The same logger with `fields` added to every line. */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Lines below this level are dropped; default info. */
  readonly level?: LogLevel;
  /** Receives each line (no newline); default: process.stdout. */
  readonly write?: (line: string) => void;
  readonly fields?: Record<string, unknown>;
  readonly now?: () => Date;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const make = (base: Record<string, unknown>): Logger => {
    const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
      if (RANK[level] < min) return;
      const entry: Record<string, unknown> = { time: now().toISOString(), level, service, msg: message, ...traceLogFields() };
      for (const [key, value] of Object.entries({ ...base, ...fields })) {
        if (value !== undefined && !(key in entry)) entry[key] = plain(value);
      }
      let line: string;
      try {
        line = JSON.stringify(entry);
      } catch {
        // A cycle or a BigInt in some field: keep the line, lose the fields.
        line = JSON.stringify({ time: entry['time'], level, service, msg: message, ...traceLogFields(), fieldsDropped: true });
      }
      write(line);
    };
    return {
      debug: (message, fields) => emit('debug', message, fields),
      info: (message, fields) => emit('info', message, fields),
      warn: (message, fields) => emit('warn', message, fields),
      error: (message, fields) => emit('error', message, fields),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.fields ?? {});
}

/** Errors as their name, kind, message, stack and cause (JSON.stringify would give `{}`). */
function plain(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    const kind = (value as { kind?: unknown }).kind;
    if (typeof kind === 'string') out['kind'] = kind;
    // A client-facing kind (bad input, missing id) is explained by its message; bugs need the stack.
    if (value.stack !== undefined && (typeof kind !== 'string' || kind === 'INTERNAL')) out['stack'] = value.stack;
    if (value.cause !== undefined && depth < 3) out['cause'] = plain(value.cause, depth + 1);
    return out;
  }
  return value;
}
