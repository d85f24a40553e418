import type { JetStreamClient } from 'nats';
import { headers as natsHeaders } from 'nats';
import { SpanKind } from '@opentelemetry/api';
import { InvalidInputError } from '@mitosis/core';
import { ATTR, SPAN, inSpan, mitosisTracer, traceHeaders } from '@mitosis/telemetry';
import { jsonCodec } from './codec';
import type { JobError } from './job';
import type { EventNames, Stage } from './names';
import { HEADERS, checkJobId, checkStage } from './names';

export interface PublishWorkOptions {
  /** The job the work belongs to: travels in the Mitosis-Job-Id header. */
  readonly jobId?: string;
  /** Attempt of the stage, from 1 (a job restarted by hand counts up); default 1. */
  readonly attempt?: number;
  /** De-duplication id; default `workMsgId(jobId, stage, attempt)`. Required without jobId. */
  readonly msgId?: string;
  /** More headers (trace context rides here). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface PublishResult {
  /** Sequence of the message in the work stream (of the first copy when a duplicate). */
  readonly seq: number;
  /** True when the stream already had this msg id within its duplicate window and dropped it. */
  readonly duplicate: boolean;
}

/**
 * The msg id of a stage's work for one job and attempt. Deterministic, so a publish retried after
 * a timeout (did the first one land?) is dropped by the stream instead of running the stage twice.
 */
export function workMsgId(jobId: string, stage: Stage, attempt = 1): string {
  if (!Number.isInteger(attempt) || attempt < 1) throw new InvalidInputError(`attempt must be an integer >= 1, got ${attempt}`);
  return `${checkJobId(jobId)}:${checkStage(stage)}:${attempt}`;
}

const tracer = mitosisTracer('@mitosis/events');

/**
 * Publishes one work message for `stage` and waits for the stream to store it. The publish is a
 * producer span (child of the active span) whose context rides in the `traceparent` header, so
 * the worker's consumer span continues the same trace.
 */
export async function publishWork(js: JetStreamClient, names: EventNames, stage: Stage, payload: Uint8Array, options: PublishWorkOptions = {}): Promise<PublishResult> {
  const attempt = options.attempt ?? 1;
  let msgId = options.msgId;
  if (msgId === undefined) {
    if (options.jobId === undefined) {
      throw new InvalidInputError(`work for stage "${stage}" needs a jobId or an explicit msgId (for de-duplication)`);
    }
    msgId = workMsgId(options.jobId, stage, attempt);
  }
  const subject = names.workSubject(stage);
  const attributes = {
    [ATTR.messagingSystem]: 'nats',
    [ATTR.messagingOperation]: 'send',
    [ATTR.messagingDestination]: subject,
    [ATTR.messageId]: msgId,
    [ATTR.stage]: stage,
    ...(options.jobId !== undefined ? { [ATTR.jobId]: options.jobId } : {}),
  };
  return inSpan(tracer, SPAN.publish(stage), { kind: SpanKind.PRODUCER, attributes }, async (span) => {
    const h = natsHeaders();
    for (const [key, value] of Object.entries(traceHeaders(options.headers ?? {}))) h.set(key, value);
    if (options.jobId !== undefined) h.set(HEADERS.jobId, checkJobId(options.jobId));
    h.set(HEADERS.attempt, String(attempt));
    const ack = await js.publish(subject, payload, { msgID: msgId, headers: h });
    span.setAttribute('messaging.nats.duplicate', ack.duplicate);
    return { seq: ack.seq, duplicate: ack.duplicate };
  });
}

/** One entry of a job's event log (`<prefix>.jobs.<jobId>.events`), JSON-encoded. */
export interface JobEvent {
  readonly jobId: string;
  readonly type: 'stage-started' | 'progress' | 'stage-retrying' | 'stage-succeeded' | 'stage-failed' | 'stage-cancelled';
  readonly stage: Stage;
  /** Delivery of the stage's work message, from 1. */
  readonly attempt: number;
  /** ISO-8601 time. */
  readonly at: string;
  readonly step?: string;
  readonly done?: number;
  readonly total?: number;
  readonly detail?: string;
  readonly error?: JobError;
}

export const jobEventCodec = jsonCodec<JobEvent>(
  (value): value is JobEvent =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)['jobId'] === 'string' &&
    typeof (value as Record<string, unknown>)['type'] === 'string' &&
    typeof (value as Record<string, unknown>)['stage'] === 'string',
  'job event',
);

/** Appends an event to the job's event stream. */
export async function publishJobEvent(js: JetStreamClient, names: EventNames, event: JobEvent): Promise<void> {
  await js.publish(names.jobEventsSubject(event.jobId), jobEventCodec.encode(event));
}
