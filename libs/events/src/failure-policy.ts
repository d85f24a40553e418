import type { Span } from '@opentelemetry/api';
import { SpanStatusCode } from '@opentelemetry/api';
import type { JetStreamClient, JsMsg } from 'nats';
import { ATTR, mitosisInstruments } from '@mitosis/telemetry';
import { describe, safely } from './consumer-util';
import { deadLetter } from './dead-letter';
import type { JobError } from './job';
import type { JobRecorder } from './job-recorder';
import type { EventsLogger } from './logger';
import type { EventNames, Stage } from './names';
import type { RetryBackoff } from './retry';
import { isRetryable, retryDelayMs } from './retry';

/** What becomes of a delivery whose `process` threw. */
export type FailureDecision = { readonly action: 'retry'; readonly delayMs: number } | { readonly action: 'fail' };

/**
 * The failure policy: an error retrying cannot help (NON_RETRYABLE_KINDS) or the last allowed
 * delivery fails for good; anything else is redelivered after the backoff's delay.
 */
export function decideFailure(failure: unknown, deliveryCount: number, maxDeliver: number, backoff: RetryBackoff): FailureDecision {
  if (!isRetryable(failure) || deliveryCount >= maxDeliver) return { action: 'fail' };
  return { action: 'retry', delayMs: retryDelayMs(deliveryCount, backoff) };
}

export interface FailureScope {
  readonly js: JetStreamClient;
  readonly names: EventNames;
  readonly stage: Stage;
  readonly recorder: JobRecorder;
  readonly backoff: RetryBackoff;
  readonly log: EventsLogger;
}

/** Final failure: dead letter first (so nothing is lost), then FAILED on the job, then term. */
export async function failForGood(scope: FailureScope, msg: JsMsg, jobId: string | undefined, failure: JobError, deliveryCount: number, span?: Span): Promise<void> {
  const { stage, log, recorder } = scope;
  mitosisInstruments().stageFailures.add(1, { [ATTR.stage]: stage, [ATTR.errorKind]: failure.kind, [ATTR.final]: true });
  span?.setAttribute(ATTR.outcome, 'failed');
  span?.setAttribute(ATTR.errorKind, failure.kind);
  span?.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
  try {
    await deadLetter(scope.js, scope.names, stage, msg, failure, deliveryCount);
  } catch (error) {
    // Without its dead letter the message must stay: the next delivery tries again.
    log.error('dead letter not stored; message left for redelivery', { stage, jobId, error: describe(error) });
    safely(() => msg.nak(retryDelayMs(deliveryCount, scope.backoff)));
    return;
  }
  try {
    await recorder.fail(jobId, deliveryCount, failure);
  } catch (error) {
    log.error('job not marked FAILED', { stage, jobId, error: describe(error) });
  }
  await recorder.emit({ jobId, type: 'stage-failed', attempt: deliveryCount, error: failure });
  // No term reason: `+TERM <reason>` is a 2.10.4 feature that a 2.9 server ignores (redelivers).
  safely(() => msg.term());
  log.warn('stage failed for good', { stage, jobId, deliveryCount, kind: failure.kind, reason: failure.message });
}

/** A retryable failure: the stage back to QUEUED with the reason, then nak with the delay. */
export async function retryLater(
  scope: FailureScope,
  msg: JsMsg,
  jobId: string | undefined,
  reason: JobError,
  deliveryCount: number,
  delayMs: number,
  fields: Record<string, unknown>,
): Promise<void> {
  const { stage, log, recorder } = scope;
  mitosisInstruments().stageFailures.add(1, { [ATTR.stage]: stage, [ATTR.errorKind]: reason.kind, [ATTR.final]: false });
  log.warn('stage failed; will retry', { ...fields, delayMs, reason: reason.message });
  try {
    await recorder.retry(jobId, deliveryCount, reason);
  } catch (error) {
    log.warn('retry not recorded', { ...fields, error: describe(error) });
  }
  await recorder.emit({ jobId, type: 'stage-retrying', attempt: deliveryCount, error: reason });
  safely(() => msg.nak(delayMs));
}
