import { once } from 'node:events';
import type { handleClientStreamingCall, handleServerStreamingCall, handleUnaryCall } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import type { Context, Span } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { MitosisError } from '@mitosis/core';
import { toServiceError } from '@mitosis/service-kit';
import { ATTR, extractTraceMetadata, mitosisInstruments, mitosisTracer } from '@mitosis/telemetry';
import type { GatewayLogger } from '../logger';
import { serviceError } from './errors';
import { storeTimeoutOf } from '../storage/timed-store';
import { outageMessage, unreachableBackend } from './outage';

/** What a handler knows of its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels or the call's deadline passes; `reason` is a CANCELLED MitosisError. */
  readonly signal: AbortSignal;
  /** `/mitosis.v1.VideoService/UploadVideo`, for logs. */
  readonly method: string;
}

/** The reason of a call signal aborted by the deadline: answered DEADLINE_EXCEEDED, not CANCELLED. */
export class DeadlineExceededError extends MitosisError {
  override readonly name = 'DeadlineExceededError';
  constructor() {
    super('CANCELLED', 'the call passed its deadline');
  }
}

/**
 * toServiceError, except that work stopped by the deadline reads DEADLINE_EXCEEDED as grpc-js
 * says it, and an unreachable NATS or an unreachable or silent object store reads UNAVAILABLE
 * (retryable) instead of INTERNAL.
 */
export function boundaryError(error: unknown, log: GatewayLogger, method: string): ServiceError {
  if (error instanceof DeadlineExceededError) return serviceError(status.DEADLINE_EXCEEDED, error.message);
  const timeout = storeTimeoutOf(error);
  if (timeout !== undefined) {
    log.warn('object store timed out', { method, timeoutMs: timeout.timeoutMs });
    return serviceError(status.UNAVAILABLE, timeout.message);
  }
  const backend = unreachableBackend(error);
  if (backend !== undefined) {
    log.warn('backend unreachable', { method, backend, error });
    return serviceError(status.UNAVAILABLE, outageMessage(backend));
  }
  return toServiceError(error, { error: (message, fields) => log.error(message, { method, ...fields }) });
}

/** What callSignal and callSpan need of any kind of server call. */
interface AnyCall {
  readonly cancelled: boolean;
  readonly metadata: Metadata;
  getDeadline(): Date | number;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

// setTimeout's longest delay; a later deadline is as good as none for a timer.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * An AbortSignal for the call: aborted when grpc-js reports the call cancelled (client cancel,
 * connection lost, deadline passed on the client side) or when the deadline the client sent
 * passes here. Long work checks it between steps instead of running on for nobody.
 */
export function callSignal(call: AnyCall): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onCancelled = (): void => controller.abort(new MitosisError('CANCELLED', 'the call was cancelled by the client'));
  call.on('cancelled', onCancelled);
  if (call.cancelled) onCancelled();
  let timer: NodeJS.Timeout | undefined;
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  if (Number.isFinite(deadlineMs)) {
    const expire = (): void => controller.abort(new DeadlineExceededError());
    const left = deadlineMs - Date.now();
    if (left <= 0) expire();
    else if (left < MAX_TIMER_MS) timer = setTimeout(expire, left);
  }
  return {
    signal: controller.signal,
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      call.removeListener('cancelled', onCancelled);
    },
  };
}

const tracer = mitosisTracer('@mitosis/gateway');

/** Status codes that are the server's fault (OTel's gRPC conventions): the span is marked ERROR for these only. */
const SERVER_FAULTS: ReadonlySet<number> = new Set([status.UNKNOWN, status.DEADLINE_EXCEEDED, status.UNIMPLEMENTED, status.INTERNAL, status.UNAVAILABLE, status.DATA_LOSS]);

interface CallSpan {
  /** The context the handler runs in: the server span, child of the client's traceparent if it sent one. */
  readonly context: Context;
  /** Ends the span with the call's status (OK without an error) and records the call's duration. */
  end(error?: Pick<ServiceError, 'code' | 'details' | 'message'>): void;
}

/**
 * The server span of a call, named `mitosis.v1.JobService/GetJob` as OTel's RPC conventions
 * name it, continuing the trace of the client's `traceparent` metadata.
 */
export function callSpan(call: AnyCall, method: string): CallSpan {
  const [service = '', name = ''] = method.replace(/^\//, '').split('/');
  const parent = extractTraceMetadata(call.metadata);
  const attributes = { [ATTR.rpcSystem]: 'grpc', [ATTR.rpcService]: service, [ATTR.rpcMethod]: name };
  const span: Span = tracer.startSpan(`${service}/${name}`, { kind: SpanKind.SERVER, attributes }, parent);
  const started = performance.now();
  let ended = false;
  return {
    context: trace.setSpan(parent, span),
    end: (error) => {
      if (ended) return;
      ended = true;
      const code = error?.code ?? status.OK;
      span.setAttribute(ATTR.grpcStatus, code);
      if (error !== undefined && SERVER_FAULTS.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: error.details ?? error.message });
      else if (error !== undefined) span.setAttribute('rpc.grpc.status_message', error.details ?? error.message);
      span.end();
      mitosisInstruments().rpcDuration.record((performance.now() - started) / 1000, { ...attributes, [ATTR.grpcStatus]: code });
    },
  };
}

/** Throws the signal's reason (a CANCELLED MitosisError) once the call is over for the client. */
export function checkAlive(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new MitosisError('CANCELLED', 'the call was cancelled');
}

/** A unary handler over an async function; whatever it throws goes through toServiceError. */
export function unary<Req, Res>(log: GatewayLogger, run: (request: Req, context: CallContext) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { signal, dispose } = callSignal(call);
    const method = call.getPath();
    answerOnce(log, call, method, dispose, callback, () => {
      checkAlive(signal);
      return run(call.request, { signal, method });
    });
  };
}

/** Runs a call's work inside its server span and answers through `callback` with the result or the mapped error. */
function answerOnce<Res>(
  log: GatewayLogger,
  call: AnyCall,
  method: string,
  dispose: () => void,
  callback: (error: ServiceError | null, response?: Res) => void,
  work: () => Promise<Res>,
): void {
  const span = callSpan(call, method);
  void context.with(span.context, () =>
    Promise.resolve()
      .then(work)
      .then(
        (response) => {
          callback(null, response);
          span.end();
        },
        (error: unknown) => {
          const failure = boundaryError(error, log, method);
          callback(failure);
          span.end(failure);
        },
      )
      .finally(dispose),
  );
}

/**
 * A client-streaming handler: `run` reads the request messages as an async iterable that ends when
 * the client half-closes and throws the signal's reason when the call is cancelled or expires.
 */
export function clientStreaming<Req, Res>(log: GatewayLogger, run: (messages: AsyncIterable<Req>, context: CallContext) => Promise<Res>): handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    const { signal, dispose } = callSignal(call);
    const method = call.getPath();
    const messages = abortable<Req>(call, signal);
    answerOnce(log, call, method, dispose, callback, () => {
      checkAlive(signal);
      return run(messages, { signal, method });
    });
  };
}

async function* abortable<T>(stream: AsyncIterable<unknown>, signal: AbortSignal): AsyncGenerator<T, void, undefined> {
  const iterator = stream[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      checkAlive(signal);
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done === true) return;
      yield next.value as T;
    }
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

/** Sends one message of a server stream, waiting for room when the client reads slowly. */
export type Send<Res> = (message: Res) => Promise<void>;

/**
 * A server-streaming handler: `run` sends messages through `send` (which honours back-pressure
 * and throws once the call is cancelled) and resolves when the stream is complete. Errors end the
 * stream with a status through the call's 'error' event (destroying the call would leave the
 * client waiting for a status that never comes).
 */
export function serverStreaming<Req, Res>(log: GatewayLogger, run: (request: Req, send: Send<Res>, context: CallContext) => Promise<void>): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const { signal, dispose } = callSignal(call);
    const method = call.getPath();
    const send: Send<Res> = async (message) => {
      checkAlive(signal);
      if (call.write(message)) return;
      await Promise.race([once(call, 'drain', { signal }).catch(() => undefined), once(call, 'close').catch(() => undefined)]);
      checkAlive(signal);
    };
    const span = callSpan(call, method);
    void context.with(span.context, () =>
      Promise.resolve()
        .then(() => {
          checkAlive(signal);
          return run(call.request, send, { signal, method });
        })
        .then(
          () => {
            call.end();
            span.end();
          },
          (error: unknown) => {
            if (call.cancelled) {
              span.end({ code: status.CANCELLED, details: 'cancelled by the client', message: 'cancelled by the client' });
              return;
            }
            const failure = boundaryError(error, log, method);
            call.emit('error', failure);
            span.end(failure);
          },
        )
        .finally(dispose),
    );
  };
}
