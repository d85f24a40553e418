import type { ConsumerConfig, JetStreamManager, NatsConnection, StreamConfig } from 'nats';
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, millis, nanos } from 'nats';
import { InvalidInputError, PreconditionError } from '@mitosis/core';
import type { EventNames, Stage } from './names';
import { STAGES, eventNames } from './names';
import { JS_ERR_CONSUMER_NOT_FOUND, JS_ERR_STREAM_NOT_FOUND, jsErrorCode } from './nats-errors';

/** Delivery settings of one stage's durable consumer. */
export interface StageDeliverySettings {
  /** How long a delivered message may go without ack or heartbeat before redelivery; default 30 s. */
  readonly ackWaitMs?: number;
  /** Deliveries before the message is dead-lettered; default 5. */
  readonly maxDeliver?: number;
  /** Unacked messages across all replicas of the stage; default 1000. */
  readonly maxAckPending?: number;
}

export interface TopologyConfig {
  /** Prefix of every subject and name; default 'mitosis'. */
  readonly prefix?: string;
  /** Default 'file'; tests may use 'memory'. */
  readonly storage?: 'file' | 'memory';
  /** Stream and bucket replicas in a cluster; default 1. */
  readonly replicas?: number;
  /** Window in which a re-published work message with the same msg id is dropped; default 10 min. */
  readonly duplicateWindowMs?: number;
  /** Work nobody picked up within this age is dropped; default 7 days. */
  readonly workMaxAgeMs?: number;
  /** Dead letters are kept this long; default 30 days. */
  readonly deadMaxAgeMs?: number;
  /** Job events are kept this long; default 7 days. */
  readonly eventsMaxAgeMs?: number;
  /** Most events kept per job (oldest dropped first); default 10 000. */
  readonly eventsMaxPerJob?: number;
  /** Revisions kept per job record; default 5. */
  readonly jobsHistory?: number;
  /** Per-stage delivery settings of the durable consumers. */
  readonly stages?: Partial<Record<Stage, StageDeliverySettings>>;
}

export const DEFAULT_ACK_WAIT_MS = 30_000;
export const DEFAULT_MAX_DELIVER = 5;
const DAY_MS = 24 * 3600 * 1000;

/**
 * Creates, or brings up to date, the streams, one durable pull consumer per stage and the job
 * bucket. Safe to call from every replica at start-up: existing objects are updated in place.
 * Only options nats-server 2.9 knows are used (one filter subject per consumer, no metadata or
 * compression). Returns the names it used.
 */
export async function ensureTopology(nc: NatsConnection, config: TopologyConfig = {}): Promise<EventNames> {
  const names = eventNames(config.prefix);
  const jsm = await nc.jetstreamManager();
  const storage = config.storage === 'memory' ? StorageType.Memory : StorageType.File;
  const replicas = positiveInt(config.replicas ?? 1, 'replicas');

  await ensureStream(jsm, {
    name: names.workStream,
    description: 'Work for the stage workers; a message leaves once a worker acks it.',
    subjects: [`${names.prefix}.work.>`],
    retention: RetentionPolicy.Workqueue,
    storage,
    num_replicas: replicas,
    discard: DiscardPolicy.Old,
    max_age: nanos(positiveMs(config.workMaxAgeMs ?? 7 * DAY_MS, 'workMaxAgeMs')),
    duplicate_window: nanos(positiveMs(config.duplicateWindowMs ?? 10 * 60_000, 'duplicateWindowMs')),
  });
  await ensureStream(jsm, {
    name: names.deadStream,
    description: 'Work that failed for good, with the reason in its headers.',
    subjects: [`${names.prefix}.dead.>`],
    retention: RetentionPolicy.Limits,
    storage,
    num_replicas: replicas,
    discard: DiscardPolicy.Old,
    max_age: nanos(positiveMs(config.deadMaxAgeMs ?? 30 * DAY_MS, 'deadMaxAgeMs')),
  });
  await ensureStream(jsm, {
    name: names.eventsStream,
    description: 'Progress and state events of each job, for watchers.',
    subjects: [`${names.prefix}.jobs.*.events`],
    retention: RetentionPolicy.Limits,
    storage,
    num_replicas: replicas,
    discard: DiscardPolicy.Old,
    max_age: nanos(positiveMs(config.eventsMaxAgeMs ?? 7 * DAY_MS, 'eventsMaxAgeMs')),
    max_msgs_per_subject: positiveInt(config.eventsMaxPerJob ?? 10_000, 'eventsMaxPerJob'),
  });
  for (const stage of STAGES) {
    await ensureStageConsumer(nc, names, stage, config.stages?.[stage] ?? {}, jsm);
  }
  // Creates the bucket when missing, binds to it otherwise.
  await nc.jetstream().views.kv(names.jobsBucket, {
    history: positiveInt(config.jobsHistory ?? 5, 'jobsHistory'),
    storage,
    replicas,
    description: 'Job records (one JSON value per job id).',
  });
  return names;
}

/**
 * The durable pull consumer of one stage: explicit acks, filtered to the stage's own work
 * subject (a work-queue stream allows only non-overlapping filters, so each message has exactly
 * one consumer, shared by all replicas of the stage). The server's max_deliver is one more than
 * `maxDeliver`: that last delivery never runs the stage, it only dead-letters a message whose
 * earlier deliveries all ended without an ack (crashed or stuck workers); otherwise the server
 * would silently stop delivering it and leave it in the stream.
 */
export async function ensureStageConsumer(nc: NatsConnection, names: EventNames, stage: Stage, settings: StageDeliverySettings = {}, jsmIn?: JetStreamManager): Promise<void> {
  const jsm = jsmIn ?? (await nc.jetstreamManager());
  const durable = names.stageConsumer(stage);
  const ackWaitMs = positiveMs(settings.ackWaitMs ?? DEFAULT_ACK_WAIT_MS, 'ackWaitMs');
  const maxDeliver = positiveInt(settings.maxDeliver ?? DEFAULT_MAX_DELIVER, 'maxDeliver');
  const maxAckPending = positiveInt(settings.maxAckPending ?? 1000, 'maxAckPending');
  const wanted: Partial<ConsumerConfig> = {
    durable_name: durable,
    description: `Work of stage ${stage}, shared by its replicas.`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: names.workSubject(stage),
    ack_wait: nanos(ackWaitMs),
    max_deliver: maxDeliver + 1,
    max_ack_pending: maxAckPending,
  };
  let existing;
  try {
    existing = await jsm.consumers.info(names.workStream, durable);
  } catch (error) {
    if (jsErrorCode(error) === JS_ERR_STREAM_NOT_FOUND) {
      throw new PreconditionError(`stream "${names.workStream}" does not exist; run ensureTopology first`, { cause: error });
    }
    if (jsErrorCode(error) !== JS_ERR_CONSUMER_NOT_FOUND) throw error;
  }
  if (existing === undefined) {
    // Two replicas may race here; the server accepts an identical second create.
    await jsm.consumers.add(names.workStream, wanted);
    return;
  }
  const current = existing.config;
  if (current.filter_subject !== wanted.filter_subject || current.ack_policy !== AckPolicy.Explicit) {
    throw new PreconditionError(
      `consumer "${durable}" on "${names.workStream}" exists with filter "${current.filter_subject ?? ''}" ` +
        `and ack policy "${current.ack_policy}"; delete it to let ensureTopology recreate it`,
    );
  }
  if (millis(current.ack_wait ?? 0) !== ackWaitMs || current.max_deliver !== wanted.max_deliver || current.max_ack_pending !== maxAckPending) {
    await jsm.consumers.update(names.workStream, durable, {
      description: wanted.description,
      ack_wait: wanted.ack_wait,
      max_deliver: wanted.max_deliver,
      max_ack_pending: maxAckPending,
    });
  }
}

async function ensureStream(jsm: JetStreamManager, wanted: Partial<StreamConfig> & { name: string }): Promise<void> {
  let current: StreamConfig | undefined;
  try {
    current = (await jsm.streams.info(wanted.name)).config;
  } catch (error) {
    if (jsErrorCode(error) !== JS_ERR_STREAM_NOT_FOUND) throw error;
  }
  if (current === undefined) {
    await jsm.streams.add(wanted);
    return;
  }
  // Retention and storage are fixed at creation (2.9 refuses to change them).
  if (current.retention !== wanted.retention || current.storage !== wanted.storage) {
    throw new PreconditionError(
      `stream "${wanted.name}" exists with retention "${current.retention}" and storage "${current.storage}", ` +
        `not "${String(wanted.retention)}"/"${String(wanted.storage)}"; delete it to let ensureTopology recreate it`,
    );
  }
  const differs = Object.entries(wanted).some(([key, value]) => JSON.stringify((current as unknown as Record<string, unknown>)[key]) !== JSON.stringify(value));
  if (differs) await jsm.streams.update(wanted.name, { ...current, ...wanted });
}

function positiveMs(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidInputError(`${what} must be a positive number of milliseconds, got ${value}`);
  return Math.round(value);
}

function positiveInt(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new InvalidInputError(`${what} must be a positive integer, got ${value}`);
  return value;
}
