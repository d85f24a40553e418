import type { Span } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ConsumerMessages, JetStreamClient, JsMsg, MsgHdrs, NatsConnection } from 'nats';
import { headers as natsHeaders } from 'nats';
import { InvalidInputError, MitosisError, NotFoundError } from '@mitosis/core';
import { ATTR, SPAN, extractTraceHeaders, inSpan, markSpanFailed, mitosisInstruments, mitosisTracer } from '@mitosis/telemetry';
import type { ProgressEvent, ProgressSink } from '@mitosis/core';
import type { Codec } from './codec';
import type { Job, JobError, StageStatus } from './job';
import { isFinalJobState } from './job';
import type { JobStore } from './job-store';
import type { EventsLogger } from './logger';
import { silentLogger } from './logger';
import type { EventNames, Stage } from './names';
import { HEADERS, checkStage } from './names';
import type { JobEvent } from './publish';
import { publishJobEvent } from './publish';
import { errorKind, isRetryable, retryDelayMs } from './retry';
import type { RetryBackoff } from './retry';
import { DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_DELIVER, ensureStageConsumer } from './topology';

/** What a stage's `process` gets besides its decoded message. */
export interface StageContext {
  readonly stage: Stage;
  /** From the Mitosis-Job-Id header; undefined for work published without a job. */
  readonly jobId: string | undefined;
  /** This delivery of the message, from 1. */
  readonly deliveryCount: number;
  /** Deliveries allowed before the message is dead-lettered. */
  readonly maxDeliver: number;
  /** The message headers (first value of each), where trace context rides. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Aborted when the job is cancelled (noticed at a progress report) or when the worker shuts
   * down and its drain deadline passed. Long loops should check it between iterations.
   */
  readonly signal: AbortSignal;
  /** Progress of the stage; written to the job record at most once per progressIntervalMs. */
  reportProgress(done: number, total: number, detail?: string): void;
  /** The same, as a @mitosis/core ProgressSink, to hand to a stage function directly. */
  readonly progress: ProgressSink;
}

export interface StageConsumerOptions<T> {
  readonly nc: NatsConnection;
  readonly names: EventNames;
  readonly stage: Stage;
  readonly codec: Codec<T>;
  /**
   * Does the stage's work. Resolve only once the outputs are durably written: the message is
   * acked right after. Throw a @mitosis/core error with kind INVALID_ARGUMENT, NOT_FOUND or
   * FAILED_PRECONDITION when retrying cannot help; any other error is retried.
   */
  process(message: T, ctx: StageContext): Promise<void>;
  /** Job records to keep up to date (stage state, attempts, progress, FAILED with the reason). */
  readonly jobs?: JobStore;
  /** Messages processed at once by this worker; default 1. */
  readonly concurrency?: number;
  /** Default 30 s. Also set on the stage's durable consumer, shared by all replicas. */
  readonly ackWaitMs?: number;
  /** Deliveries before dead-lettering; default 5. */
  readonly maxDeliver?: number;
  /** In-progress heartbeat period while `process` runs; default ackWaitMs / 3. */
  readonly heartbeatMs?: number;
  /** Delay before a retryable failure is redelivered; default 1 s doubling up to 60 s. */
  readonly backoff?: RetryBackoff;
  /** How long one pull request waits for messages; default 5 s (nats.js minimum 1 s). */
  readonly pullExpiresMs?: number;
  /** Least time between two progress writes of one message; default 1 s. */
  readonly progressIntervalMs?: number;
  /** How long stop() waits for in-flight work before aborting and nak-ing it; default 25 s. */
  readonly drainTimeoutMs?: number;
  readonly log?: EventsLogger;
}

export interface StageConsumer {
  readonly stage: Stage;
  /** Messages being processed now. */
  readonly inFlight: number;
  /**
   * Stops pulling, waits for in-flight messages to finish (and be acked), or, once `timeoutMs`
   * (default drainTimeoutMs) has passed, aborts their signals and nak-s them so another replica
   * picks them up at once. Resolves when done; calling it again returns the same promise.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const tracer = mitosisTracer('@mitosis/events');

/** Why a message's signal was aborted. */
class StageAbort extends MitosisError {
  override readonly name = 'StageAbort';
  constructor(readonly reason: 'cancelled' | 'shutdown', message: string) {
    super('CANCELLED', message);
  }
}

interface InFlight {
  readonly msg: JsMsg;
  readonly controller: AbortController;
  heartbeat: NodeJS.Timeout | undefined;
  /** Set once the message was nak-ed at the drain deadline: its late outcome is ignored. */
  released: boolean;
  readonly done: Promise<void>;
}

/**
 * The one base consumer every stage worker uses: it owns pulling with bounded concurrency, the
 * in-progress heartbeat, ack after success, nak with backoff on retryable failures, term and
 * dead-letter on final ones, and the job record. A worker supplies only `process`.
 */
export async function createStageConsumer<T>(options: StageConsumerOptions<T>): Promise<StageConsumer> {
  const { nc, names, codec, jobs } = options;
  const stage = checkStage(options.stage);
  const log = options.log ?? silentLogger;
  const concurrency = intOption(options.concurrency ?? 1, 'concurrency', 1);
  const ackWaitMs = intOption(options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS, 'ackWaitMs', 1);
  const maxDeliver = intOption(options.maxDeliver ?? DEFAULT_MAX_DELIVER, 'maxDeliver', 1);
  const heartbeatMs = intOption(options.heartbeatMs ?? Math.max(1, Math.floor(ackWaitMs / 3)), 'heartbeatMs', 1);
  if (heartbeatMs >= ackWaitMs) {
    throw new InvalidInputError(`heartbeatMs (${heartbeatMs}) must be shorter than ackWaitMs (${ackWaitMs})`);
  }
  const backoff: RetryBackoff = options.backoff ?? {};
  const pullExpiresMs = intOption(options.pullExpiresMs ?? 5_000, 'pullExpiresMs', 1_000);
  const progressIntervalMs = intOption(options.progressIntervalMs ?? 1_000, 'progressIntervalMs', 0);
  const drainTimeoutMs = intOption(options.drainTimeoutMs ?? 25_000, 'drainTimeoutMs', 0);

  await ensureStageConsumer(nc, names, stage, { ackWaitMs, maxDeliver });
  const js: JetStreamClient = nc.jetstream();
  const consumer = await js.consumers.get(names.workStream, names.stageConsumer(stage));

  const inFlight = new Set<InFlight>();
  let stopping = false;
  let batch: ConsumerMessages | null = null;
  let wake: (() => void) | null = null;
  const wakeLoop = (): void => {
    wake?.();
    wake = null;
  };
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  // --- job record and event helpers: best effort, a failure here never loses the message ---

  async function recordJob(jobId: string | undefined, mutate: (job: Job) => void): Promise<Job | undefined> {
    if (jobs === undefined || jobId === undefined) return undefined;
    return jobs.update(jobId, (job) => {
      mutate(job);
    });
  }

  /**
   * The same for one delivery: skipped when a later delivery of the message already wrote the
   * stage (a worker cut off by a network partition finishing late must not roll its record back).
   */
  async function recordDelivery(
    jobId: string | undefined,
    deliveryCount: number,
    mutate: (job: Job, status: StageStatus) => void,
  ): Promise<Job | undefined> {
    return recordJob(jobId, (job) => {
      const status = stageStatus(job, stage);
      if (status.attempts > deliveryCount) return;
      mutate(job, status);
    });
  }

  async function emit(event: Omit<JobEvent, 'stage' | 'at' | 'jobId'> & { jobId: string | undefined }): Promise<void> {
    if (event.jobId === undefined) return;
    try {
      await publishJobEvent(js, names, { ...event, jobId: event.jobId, stage, at: new Date().toISOString() });
    } catch (error) {
      log.warn('job event not published', { stage, jobId: event.jobId, type: event.type, error: describe(error) });
    }
  }

  async function deadLetter(msg: JsMsg, failure: JobError, deliveryCount: number): Promise<void> {
    const h = natsHeaders();
    for (const [key, values] of msg.headers ?? []) {
      if (key.startsWith('Nats-')) continue;
      for (const value of values) h.append(key, value);
    }
    h.set(HEADERS.deadReason, oneLine(failure.message));
    h.set(HEADERS.deadKind, failure.kind);
    h.set(HEADERS.deadDeliveries, String(deliveryCount));
    h.set(HEADERS.deadSubject, msg.subject);
    h.set(HEADERS.deadSequence, String(msg.info.streamSequence));
    // The stream sequence names this work message: a dead letter re-sent after a crash is dropped.
    await js.publish(names.deadSubject(stage), msg.data, {
      headers: h,
      msgID: `dead:${names.workStream}:${msg.info.streamSequence}`,
    });
  }

  /** Final failure: dead letter first (so nothing is lost), then FAILED on the job, then term. */
  async function failForGood(msg: JsMsg, jobId: string | undefined, failure: JobError, deliveryCount: number, span?: Span): Promise<void> {
    mitosisInstruments().stageFailures.add(1, { [ATTR.stage]: stage, [ATTR.errorKind]: failure.kind, [ATTR.final]: true });
    span?.setAttribute(ATTR.outcome, 'failed');
    span?.setAttribute(ATTR.errorKind, failure.kind);
    span?.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
    try {
      await deadLetter(msg, failure, deliveryCount);
    } catch (error) {
      // Without its dead letter the message must stay: the next delivery tries again.
      log.error('dead letter not stored; message left for redelivery', { stage, jobId, error: describe(error) });
      safely(() => msg.nak(retryDelayMs(deliveryCount, backoff)));
      return;
    }
    try {
      await recordDelivery(jobId, deliveryCount, (job, status) => {
        const at = new Date().toISOString();
        status.state = 'FAILED';
        status.error = failure;
        status.attempts = Math.max(status.attempts, deliveryCount);
        status.endedAt = at;
        if (!isFinalJobState(job.state)) {
          job.state = 'FAILED';
          job.error = { ...failure, stage };
          job.endedAt = at;
        }
      });
    } catch (error) {
      log.error('job not marked FAILED', { stage, jobId, error: describe(error) });
    }
    await emit({ jobId, type: 'stage-failed', attempt: deliveryCount, error: failure });
    // No term reason: `+TERM <reason>` is a 2.10.4 feature that a 2.9 server ignores (redelivers).
    safely(() => msg.term());
    log.warn('stage failed for good', { stage, jobId, deliveryCount, kind: failure.kind, reason: failure.message });
  }

  // --- one message ---

  /**
   * One delivery as a consumer span, child of the publisher's span named by the message's
   * `traceparent` header: the job's trace goes on in this process (logs, the stage's own spans,
   * the next stage's publish).
   */
  function handle(entry: InFlight): Promise<void> {
    const { msg } = entry;
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
    return inSpan(tracer, SPAN.process(stage), { kind: SpanKind.CONSUMER, attributes }, (span) => handleDelivery(entry, headers, span), extractTraceHeaders(headers));
  }

  async function handleDelivery(entry: InFlight, headers: Record<string, string>, span: Span): Promise<void> {
    const { msg, controller } = entry;
    const deliveryCount = msg.info.redeliveryCount;
    const jobId = headers[HEADERS.jobId];
    const fields = { stage, jobId, deliveryCount, seq: msg.info.streamSequence };

    if (deliveryCount > maxDeliver) {
      // The extra delivery reserved by ensureStageConsumer: every earlier one ended without an
      // ack or nak (the worker died or let the ack wait pass), so give up on it here.
      await failForGood(
        msg,
        jobId,
        { kind: 'INTERNAL', message: `no worker finished stage ${stage} in ${maxDeliver} deliveries (crashed or timed out)` },
        maxDeliver,
        span,
      );
      return;
    }

    if (jobs !== undefined && jobId !== undefined) {
      let job: Job | undefined;
      try {
        job = await recordDelivery(jobId, deliveryCount, (j, status) => {
          if (isFinalJobState(j.state)) return;
          const at = new Date().toISOString();
          status.state = 'RUNNING';
          status.attempts = deliveryCount;
          status.startedAt ??= at;
          if (j.state === 'QUEUED') {
            j.state = 'RUNNING';
            j.startedAt ??= at;
          }
        });
      } catch (error) {
        if (error instanceof NotFoundError) {
          await failForGood(msg, jobId, { kind: 'NOT_FOUND', message: `job "${jobId}" has no record` }, deliveryCount, span);
        } else {
          span.setAttribute(ATTR.outcome, 'retrying');
          log.warn('job record unreachable; retrying later', { ...fields, error: describe(error) });
          safely(() => msg.nak(retryDelayMs(deliveryCount, backoff)));
        }
        return;
      }
      if (job !== undefined && isFinalJobState(job.state)) {
        // Cancelled or already failed: nothing to do, and nothing to redo.
        span.setAttribute(ATTR.outcome, 'dropped');
        log.info('job already ended; work dropped', { ...fields, state: job.state });
        if (job.state === 'CANCELLED') await markCancelled(jobId, deliveryCount);
        await ack(msg, fields);
        return;
      }
    }
    await emit({ jobId, type: 'stage-started', attempt: deliveryCount });

    const progress = createProgressWriter(jobId, deliveryCount, controller);
    entry.heartbeat = setInterval(() => safely(() => msg.working()), heartbeatMs);
    let failure: unknown;
    let ok = false;
    try {
      let value: T;
      try {
        value = codec.decode(msg.data);
      } catch (error) {
        // A message that cannot be decoded never will be: do not retry it.
        throw error instanceof MitosisError
          ? error
          : new InvalidInputError(`work message for stage ${stage} does not decode`, { cause: error });
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
      await options.process(value, ctx);
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
      await markCancelled(jobId, deliveryCount);
      await ack(msg, fields);
      return;
    }
    if (ok) {
      try {
        await recordDelivery(jobId, deliveryCount, (_job, status) => {
          status.state = 'SUCCEEDED';
          status.attempts = deliveryCount;
          if (status.total > 0) status.done = status.total;
          delete status.error;
          status.endedAt = new Date().toISOString();
        });
      } catch (error) {
        log.error('stage success not recorded', { ...fields, error: describe(error) });
      }
      await emit({ jobId, type: 'stage-succeeded', attempt: deliveryCount });
      await ack(msg, fields);
      span.setAttribute(ATTR.outcome, 'succeeded');
      return;
    }

    const reason: JobError = { kind: errorKind(failure), message: describe(failure) };
    markSpanFailed(span, failure);
    if (!isRetryable(failure) || deliveryCount >= maxDeliver) {
      await failForGood(msg, jobId, reason, deliveryCount, span);
      return;
    }
    span.setAttribute(ATTR.outcome, 'retrying');
    mitosisInstruments().stageFailures.add(1, { [ATTR.stage]: stage, [ATTR.errorKind]: reason.kind, [ATTR.final]: false });
    const delay = retryDelayMs(deliveryCount, backoff);
    log.warn('stage failed; will retry', { ...fields, delayMs: delay, reason: reason.message });
    try {
      await recordDelivery(jobId, deliveryCount, (job, status) => {
        if (isFinalJobState(job.state)) return;
        status.state = 'QUEUED';
        status.error = reason;
        status.attempts = deliveryCount;
      });
    } catch (error) {
      log.warn('retry not recorded', { ...fields, error: describe(error) });
    }
    await emit({ jobId, type: 'stage-retrying', attempt: deliveryCount, error: reason });
    safely(() => msg.nak(delay));
  }

  async function ack(msg: JsMsg, fields: Record<string, unknown>): Promise<void> {
    if (nc.isClosed()) {
      log.warn('connection closed before the ack; the message will be redelivered', fields);
      return;
    }
    try {
      // ackAck waits for the server, so a lost ack is logged (the message will come back and
      // the stage, writing to deterministic keys, does the same work again).
      await msg.ackAck();
    } catch (error) {
      log.error('ack not confirmed', { ...fields, error: describe(error) });
    }
  }

  async function markCancelled(jobId: string | undefined, attempt: number): Promise<void> {
    try {
      await recordJob(jobId, (job) => {
        const status = stageStatus(job, stage);
        if (!isFinalJobState(status.state)) {
          status.state = 'CANCELLED';
          status.endedAt = new Date().toISOString();
        }
      });
    } catch (error) {
      log.warn('stage cancellation not recorded', { stage, jobId, error: describe(error) });
    }
    await emit({ jobId, type: 'stage-cancelled', attempt });
  }

  /**
   * Progress is throttled to one job-record write per interval (training reports every
   * iteration); the last report of a message is always written. A write that finds the job
   * CANCELLED aborts the stage's signal: a running stage stops at its next progress report.
   */
  function createProgressWriter(jobId: string | undefined, attempt: number, controller: AbortController) {
    let latest: ProgressEvent | null = null;
    let timer: NodeJS.Timeout | undefined;
    let lastWrite = 0;
    let chain: Promise<void> = Promise.resolve();

    const write = async (event: ProgressEvent): Promise<void> => {
      try {
        const job = await recordDelivery(jobId, attempt, (j, status) => {
          if (isFinalJobState(j.state)) return;
          status.step = event.step;
          status.done = event.done;
          status.total = event.total;
          if (event.detail === undefined) delete status.detail;
          else status.detail = event.detail;
        });
        if (job?.state === 'CANCELLED' && !controller.signal.aborted) {
          controller.abort(new StageAbort('cancelled', `job ${jobId ?? ''} was cancelled`));
        }
      } catch (error) {
        log.warn('progress not recorded', { stage, jobId, error: describe(error) });
      }
      await emit({ jobId, type: 'progress', attempt, ...event });
    };
    const flushNow = (): void => {
      clearTimeout(timer);
      timer = undefined;
      const event = latest;
      latest = null;
      if (event === null) return;
      lastWrite = Date.now();
      chain = chain.then(() => write(event));
    };
    return {
      report(event: ProgressEvent): void {
        if (!Number.isFinite(event.done) || !Number.isFinite(event.total) || event.done < 0 || event.total < 0) {
          log.warn('progress with invalid numbers ignored', { stage, jobId, done: event.done, total: event.total });
          return;
        }
        latest = event;
        const wait = lastWrite + progressIntervalMs - Date.now();
        if (wait <= 0 || (event.total > 0 && event.done >= event.total)) flushNow();
        else timer ??= setTimeout(flushNow, wait);
      },
      flush(): Promise<void> {
        flushNow();
        return chain;
      },
    };
  }

  // --- the pull loop ---

  function start(msg: JsMsg): void {
    const entry: InFlight = {
      msg,
      controller: new AbortController(),
      heartbeat: undefined,
      released: false,
      done: Promise.resolve(),
    };
    (entry as { done: Promise<void> }).done = handle(entry)
      .catch((error: unknown) => {
        log.error('message handling failed unexpectedly', { stage, error: describe(error) });
      })
      .finally(() => {
        inFlight.delete(entry);
        wakeLoop();
      });
    inFlight.add(entry);
  }

  async function pullLoop(): Promise<void> {
    let failures = 0;
    while (!stopping && !nc.isClosed()) {
      if (inFlight.size >= concurrency) {
        await pause(pullExpiresMs);
        continue;
      }
      try {
        // Pull only as many as there are free slots: a message waiting in a client buffer would
        // burn its ack wait without a heartbeat.
        batch = await consumer.fetch({ max_messages: concurrency - inFlight.size, expires: pullExpiresMs });
        for await (const msg of batch) {
          if (stopping) safely(() => msg.nak());
          else start(msg);
        }
        failures = 0;
      } catch (error) {
        if (stopping || nc.isClosed()) break;
        failures++;
        log.warn('pull failed; retrying', { stage, failures, error: describe(error) });
        await pause(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      } finally {
        batch = null;
      }
    }
  }

  const loopDone = pullLoop();
  log.info('stage consumer started', { stage, concurrency, ackWaitMs, maxDeliver, heartbeatMs });

  let stopped: Promise<void> | null = null;
  const stop = (stopOptions: { timeoutMs?: number } = {}): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      batch?.stop();
      wakeLoop();
      await loopDone;
      const timeoutMs = stopOptions.timeoutMs ?? drainTimeoutMs;
      const pending = [...inFlight].map((entry) => entry.done);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.all(pending).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        for (const entry of inFlight) {
          entry.released = true;
          clearInterval(entry.heartbeat);
          entry.controller.abort(new StageAbort('shutdown', `worker of stage ${stage} is shutting down`));
          safely(() => entry.msg.nak());
        }
        log.warn('drain deadline passed; in-flight work handed back', { stage, count: inFlight.size });
      }
      log.info('stage consumer stopped', { stage });
    })();
    return stopped;
  };

  return {
    stage,
    get inFlight() {
      return inFlight.size;
    },
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}

function stageStatus(job: Job, stage: Stage): StageStatus {
  let status = job.stages[stage];
  if (status === undefined) {
    status = { state: 'QUEUED', done: 0, total: 0, attempts: 0 };
    job.stages[stage] = status;
  }
  return status;
}

function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, values] of h ?? []) {
    if (values.length > 0 && values[0] !== undefined) out[key] = values[0];
  }
  return out;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function oneLine(text: string): string {
  // Headers are single lines.
  return text.replace(/[\r\n]+/g, ' ').slice(0, 1000);
}

/** ack/nak/term/working publish on the connection; once it is closed they throw, which is fine. */
function safely(action: () => void): void {
  try {
    action();
  } catch {
    // The connection is gone: the server redelivers after the ack wait.
  }
}

function intOption(value: number, what: string, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new InvalidInputError(`${what} must be an integer >= ${min}, got ${value}`);
  return value;
}
