import type { ProgressSink } from '@mitosis/core';
import type { NatsConnection } from 'nats';
import { InvalidInputError } from '@mitosis/core';
import type { Codec } from './codec';
import { StageAbort, intOption, safely } from './consumer-util';
import { handleDelivery } from './delivery';
import { createJobRecorder } from './job-recorder';
import type { JobStore } from './job-store';
import type { EventsLogger } from './logger';
import { silentLogger } from './logger';
import type { EventNames, Stage } from './names';
import { checkStage } from './names';
import { startPullLoop } from './pull-loop';
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

/**
 * The one base consumer every stage worker uses: it owns pulling with bounded concurrency
 * (pull-loop.ts), the in-progress heartbeat, ack after success, nak with backoff on retryable
 * failures, term and dead-letter on final ones (delivery.ts, failure-policy.ts), the job record
 * (job-recorder.ts, through the lifecycle) and the drain at stop. A worker supplies only `process`.
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
  const js = nc.jetstream();
  const consumer = await js.consumers.get(names.workStream, names.stageConsumer(stage));
  const recorder = createJobRecorder({ jobs, js, names, stage, log });
  const scope = {
    nc,
    js,
    names,
    stage,
    codec,
    process: options.process,
    recorder,
    recordsJobs: jobs !== undefined,
    backoff,
    log,
    maxDeliver,
    heartbeatMs,
    progressIntervalMs,
  };
  const loop = startPullLoop({ nc, consumer, stage, concurrency, pullExpiresMs, log, handle: (entry) => handleDelivery(scope, entry) });
  log.info('stage consumer started', { stage, concurrency, ackWaitMs, maxDeliver, heartbeatMs });

  let stopped: Promise<void> | null = null;
  const stop = (stopOptions: { timeoutMs?: number } = {}): Promise<void> => {
    stopped ??= (async () => {
      await loop.stop();
      const timeoutMs = stopOptions.timeoutMs ?? drainTimeoutMs;
      const pending = [...loop.inFlight].map((entry) => entry.done);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.all(pending).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        for (const entry of loop.inFlight) {
          entry.released = true;
          clearInterval(entry.heartbeat);
          entry.controller.abort(new StageAbort('shutdown', `worker of stage ${stage} is shutting down`));
          safely(() => entry.msg.nak());
        }
        log.warn('drain deadline passed; in-flight work handed back', { stage, count: loop.inFlight.size });
      }
      log.info('stage consumer stopped', { stage });
    })();
    return stopped;
  };

  return {
    stage,
    get inFlight() {
      return loop.inFlight.size;
    },
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}
