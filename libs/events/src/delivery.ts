import type { Span } from '@opentelemetry/api';
import { SpanKind } from '@opentelemetry/api';
import type { JsMsg, NatsConnection } from 'nats';
import { InvalidInputError, MitosisError, NotFoundError } from '@mitosis/core';
import { ATTR, SPAN, extractTraceHeaders, inSpan, markSpanFailed, mitosisInstruments, mitosisTracer } from '@mitosis/telemetry';
import type { Codec } from './codec';
import type { InFlight } from './consumer-util';
import { StageAbort, describe, headerRecord, safely } from './consumer-util';
import type { FailureScope } from './failure-policy';
import { decideFailure, failForGood, retryLater } from './failure-policy';
import type { Job, JobError } from './job';
import { isFinalJobState } from './job';
import { IllegalTransitionError } from './lifecycle';
import { HEADERS } from './names';
import { createProgressWriter } from './progress-writer';
import { errorKind, retryDelayMs } from './retry';
import type { StageContext } from './stage-consumer';

const tracer = mitosisTracer('@mitosis/events');

export interface DeliveryScope<T> extends FailureScope {
  readonly nc: NatsConnection;
  readonly codec: Codec<T>;
  readonly process: (message: T, ctx: StageContext) => Promise<void>;
  /** Whether there is a job store to keep (without one, deliveries are not recorded). */
  readonly recordsJobs: boolean;
  readonly maxDeliver: number;
  readonly heartbeatMs: number;
  readonly progressIntervalMs: number;
}

/**
 * Handles one delivery as a consumer span, child of the publisher's span named by the message's
 * `traceparent` header: the job's trace goes on in this process (logs, the stage's own spans,
 * the next stage's publish).
 */
export function handleDelivery<T>(scope: DeliveryScope<T>, entry: InFlight): Promise<void> {
  const { msg } = entry;
  const { stage, names } = scope;
  const headers = headerRecord(msg.headers);
  const deliveryCount = msg.info.redeliveryCount;
  const jobId = headers[HEADERS.jobId];
  if (deliveryCount > 1) mitosisInstruments().stageRedeliveries.add(1, { [ATTR.stage]: stage });
  const attributes = {
    [ATTR.messagingSystem]: 'nats',
    [ATTR.messagingOperation]: 'process',
    [ATTR.messagingDestination]: msg.subject,
    [ATTR.consumer]: names.stageConsumer(stage),
    [ATTR.stage]: stage,
    [ATTR.delivery]: deliveryCount,
    ...(jobId !== undefined ? { [ATTR.jobId]: jobId } : {}),
  };
  return inSpan(tracer, SPAN.process(stage), { kind: SpanKind.CONSUMER, attributes }, (span) => deliver(scope, entry, headers, span), extractTraceHeaders(headers));
}

/** Record the start, run `process` with heartbeats and progress, then settle the message by its outcome. */
async function deliver<T>(scope: DeliveryScope<T>, entry: InFlight, headers: Record<string, string>, span: Span): Promise<void> {
  const { stage, maxDeliver, recorder, log } = scope;
  const { msg, controller } = entry;
  const deliveryCount = msg.info.redeliveryCount;
  const jobId = headers[HEADERS.jobId];
  const fields = { stage, jobId, deliveryCount, seq: msg.info.streamSequence };

  if (deliveryCount > maxDeliver) {
    // The extra delivery reserved by ensureStageConsumer: every earlier one ended without an
    // ack or nak (the worker died or let the ack wait pass), so give up on it here.
    const failure = { kind: 'INTERNAL', message: `no worker finished stage ${stage} in ${maxDeliver} deliveries (crashed or timed out)` };
    await failForGood(scope, msg, jobId, failure, maxDeliver, span);
    return;
  }

  if (scope.recordsJobs && jobId !== undefined) {
    let job: Job | undefined;
    try {
      job = await recorder.start(jobId, deliveryCount);
    } catch (error) {
      if (error instanceof NotFoundError) {
        await failForGood(scope, msg, jobId, { kind: 'NOT_FOUND', message: `job "${jobId}" has no record` }, deliveryCount, span);
      } else if (error instanceof IllegalTransitionError) {
        // The record refuses this work (e.g. a stage the job does not have): retrying cannot help.
        await failForGood(scope, msg, jobId, { kind: error.kind, message: error.message }, deliveryCount, span);
      } else {
        span.setAttribute(ATTR.outcome, 'retrying');
        log.warn('job record unreachable; retrying later', { ...fields, error: describe(error) });
        safely(() => msg.nak(retryDelayMs(deliveryCount, scope.backoff)));
      }
      return;
    }
    if (job !== undefined && isFinalJobState(job.state)) {
      // Cancelled or already failed: nothing to do, and nothing to redo.
      span.setAttribute(ATTR.outcome, 'dropped');
      log.info('job already ended; work dropped', { ...fields, state: job.state });
      if (job.state === 'CANCELLED') await markCancelled(scope, jobId, deliveryCount);
      await ack(scope, msg, fields);
      return;
    }
  }
  await recorder.emit({ jobId, type: 'stage-started', attempt: deliveryCount });

  const progress = createProgressWriter({ recorder, stage, jobId, attempt: deliveryCount, controller, intervalMs: scope.progressIntervalMs, log });
  entry.heartbeat = setInterval(() => safely(() => msg.working()), scope.heartbeatMs);
  let failure: unknown;
  let ok = false;
  try {
    let value: T;
    try {
      value = scope.codec.decode(msg.data);
    } catch (error) {
      // A message that cannot be decoded never will be: do not retry it.
      throw error instanceof MitosisError ? error : new InvalidInputError(`work message for stage ${stage} does not decode`, { cause: error });
    }
    const ctx: StageContext = {
      stage,
      jobId,
      deliveryCount,
      maxDeliver,
      headers,
      signal: controller.signal,
      reportProgress: (done, total, detail) => progress.report({ step: stage, done, total, detail }),
      progress: (event) => progress.report(event),
    };
    await scope.process(value, ctx);
    ok = true;
  } catch (error) {
    failure = error;
  } finally {
    clearInterval(entry.heartbeat);
    entry.heartbeat = undefined;
  }
  await progress.flush();
  if (entry.released) {
    span.setAttribute(ATTR.outcome, 'released');
    return; // nak-ed at the drain deadline; another worker owns it now
  }

  const abort: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
  if (abort instanceof StageAbort && abort.reason === 'cancelled') {
    span.setAttribute(ATTR.outcome, 'cancelled');
    await markCancelled(scope, jobId, deliveryCount);
    await ack(scope, msg, fields);
    return;
  }
  if (ok) {
    try {
      await recorder.succeed(jobId, deliveryCount);
    } catch (error) {
      log.error('stage success not recorded', { ...fields, error: describe(error) });
    }
    await recorder.emit({ jobId, type: 'stage-succeeded', attempt: deliveryCount });
    await ack(scope, msg, fields);
    span.setAttribute(ATTR.outcome, 'succeeded');
    return;
  }

  const reason: JobError = { kind: errorKind(failure), message: describe(failure) };
  markSpanFailed(span, failure);
  const decision = decideFailure(failure, deliveryCount, maxDeliver, scope.backoff);
  if (decision.action === 'fail') {
    await failForGood(scope, msg, jobId, reason, deliveryCount, span);
    return;
  }
  span.setAttribute(ATTR.outcome, 'retrying');
  await retryLater(scope, msg, jobId, reason, deliveryCount, decision.delayMs, fields);
}

async function ack<T>(scope: DeliveryScope<T>, msg: JsMsg, fields: Record<string, unknown>): Promise<void> {
  if (scope.nc.isClosed()) {
    scope.log.warn('connection closed before the ack; the message will be redelivered', fields);
    return;
  }
  try {
    // ackAck waits for the server, so a lost ack is logged (the message will come back and
    // the stage, writing to deterministic keys, does the same work again).
    await msg.ackAck();
  } catch (error) {
    scope.log.error('ack not confirmed', { ...fields, error: describe(error) });
  }
}

async function markCancelled<T>(scope: DeliveryScope<T>, jobId: string | undefined, attempt: number): Promise<void> {
  try {
    await scope.recorder.cancel(jobId);
  } catch (error) {
    scope.log.warn('stage cancellation not recorded', { stage: scope.stage, jobId, error: describe(error) });
  }
  await scope.recorder.emit({ jobId, type: 'stage-cancelled', attempt });
}
