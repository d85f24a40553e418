import type { JetStreamClient, JsMsg } from 'nats';
import { headers as natsHeaders } from 'nats';
import { oneLine } from './consumer-util';
import type { JobError } from './job';
import type { EventNames, Stage } from './names';
import { HEADERS } from './names';

/**
 * Copies a work message that failed for good to `<prefix>.dead.<stage>`, with its own headers
 * (not the Nats-* ones) and the reason, kind, deliveries, subject and stream sequence.
 */
export async function deadLetter(js: JetStreamClient, names: EventNames, stage: Stage, msg: JsMsg, failure: JobError, deliveryCount: number): Promise<void> {
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
