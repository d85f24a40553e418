import type { Consumer, ConsumerMessages, NatsConnection } from 'nats';
import type { InFlight } from './consumer-util';
import { describe, safely } from './consumer-util';
import type { EventsLogger } from './logger';
import type { Stage } from './names';

export interface PullLoop {
  /** Messages being processed now. */
  readonly inFlight: ReadonlySet<InFlight>;
  /** Stops pulling (messages still arriving are nak-ed); resolves when the loop has ended. */
  stop(): Promise<void>;
}

/**
 * Pulls the stage's messages with bounded concurrency and hands each to `handle`: at most
 * `concurrency` in flight, fetched only into free slots, a failed pull retried with a growing
 * pause.
 */
export function startPullLoop(deps: {
  readonly nc: NatsConnection;
  readonly consumer: Consumer;
  readonly stage: Stage;
  readonly concurrency: number;
  readonly pullExpiresMs: number;
  readonly log: EventsLogger;
  readonly handle: (entry: InFlight) => Promise<void>;
}): PullLoop {
  const { nc, consumer, stage, concurrency, pullExpiresMs, log } = deps;
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

  function start(msg: InFlight['msg']): void {
    const entry: InFlight = { msg, controller: new AbortController(), heartbeat: undefined, released: false, done: Promise.resolve() };
    (entry as { done: Promise<void> }).done = deps
      .handle(entry)
      .catch((error: unknown) => {
        log.error('message handling failed unexpectedly', { stage, error: describe(error) });
      })
      .finally(() => {
        inFlight.delete(entry);
        wakeLoop();
      });
    inFlight.add(entry);
  }

  async function loop(): Promise<void> {
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

  const done = loop();
  return {
    inFlight,
    stop() {
      stopping = true;
      batch?.stop();
      wakeLoop();
      return done;
    },
  };
}
