import { InvalidInputError } from '@mitosis/core';

/**
 * Every subject, stream, consumer and bucket name of the distributed mode, in one place. All of
 * them carry a prefix ('mitosis' in production) so that parallel tests, or two deployments on one
 * NATS account, never see each other's messages.
 */

/** The stages of the method that run as separate workers (SPEC steps 1, 2, 5-6, 7 and 8). */
export const STAGES = ['ingest', 'm1', 'm2', 'm3-train', 'm3-detect'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * The stage workers (apps/<name>) and the stages each consumes: each app's main.ts passes its row
 * to runWorkerMain, and deploy checks the manifests' autoscaling against it.
 */
export const WORKER_STAGES = {
  ingest: ['ingest'],
  m1: ['m1'],
  m2: ['m2'],
  m3: ['m3-train', 'm3-detect'],
} as const satisfies Readonly<Record<string, readonly Stage[]>>;
export type WorkerName = keyof typeof WORKER_STAGES;

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

export const DEFAULT_PREFIX = 'mitosis';

export interface EventNames {
  readonly prefix: string;
  /** Work-queue stream over `<prefix>.work.>`: a message leaves it once a worker acks it. */
  readonly workStream: string;
  /** Limits stream over `<prefix>.dead.>`: messages that will never be done, kept for people. */
  readonly deadStream: string;
  /** Limits stream over `<prefix>.jobs.*.events`: progress and state events, for watching. */
  readonly eventsStream: string;
  /** KV bucket of job records (its stream is `KV_<jobsBucket>`). */
  readonly jobsBucket: string;
  /** `<prefix>.work.<stage>` */
  workSubject(stage: Stage): string;
  /** `<prefix>.dead.<stage>` */
  deadSubject(stage: Stage): string;
  /** `<prefix>.jobs.<jobId>.events` */
  jobEventsSubject(jobId: string): string;
  /** Durable pull consumer shared by all replicas of one stage. */
  stageConsumer(stage: Stage): string;
}

const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** Names for one prefix; the prefix must be a single subject token usable in stream names. */
export function eventNames(prefix: string = DEFAULT_PREFIX): EventNames {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new InvalidInputError(`events prefix "${prefix}" must be 1-64 letters, digits, '_' or '-' (one subject token, valid in stream names)`);
  }
  return {
    prefix,
    workStream: `${prefix}_WORK`,
    deadStream: `${prefix}_DEAD`,
    eventsStream: `${prefix}_JOB_EVENTS`,
    jobsBucket: `${prefix}_jobs`,
    workSubject: (stage) => `${prefix}.work.${checkStage(stage)}`,
    deadSubject: (stage) => `${prefix}.dead.${checkStage(stage)}`,
    jobEventsSubject: (jobId) => `${prefix}.jobs.${checkJobId(jobId)}.events`,
    stageConsumer: (stage) => `${prefix}_${checkStage(stage)}`,
  };
}

export function checkStage(stage: string): Stage {
  if (!isStage(stage)) throw new InvalidInputError(`unknown stage "${stage}"; expected one of ${STAGES.join(', ')}`);
  return stage;
}

/**
 * Job ids become a subject token and a KV key, so they may not hold '.', '*', '>' or spaces.
 */
export function checkJobId(jobId: string): string {
  if (!JOB_ID_PATTERN.test(jobId)) {
    throw new InvalidInputError(`job id "${jobId}" must be 1-128 letters, digits, '_' or '-'`);
  }
  return jobId;
}

/** Headers the transport sets on work and dead-letter messages. */
export const HEADERS = {
  /** JetStream de-duplication id (a retried publish inside the duplicate window is dropped). */
  msgId: 'Nats-Msg-Id',
  jobId: 'Mitosis-Job-Id',
  attempt: 'Mitosis-Attempt',
  deadReason: 'Mitosis-Dead-Reason',
  deadKind: 'Mitosis-Dead-Kind',
  deadDeliveries: 'Mitosis-Dead-Deliveries',
  deadSubject: 'Mitosis-Dead-Subject',
  deadSequence: 'Mitosis-Dead-Stream-Sequence',
} as const;
