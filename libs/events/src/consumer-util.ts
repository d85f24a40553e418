import type { JsMsg, MsgHdrs } from 'nats';
import { InvalidInputError, MitosisError } from '@mitosis/core';

/** Why a message's signal was aborted. */
export class StageAbort extends MitosisError {
  override readonly name = 'StageAbort';
  constructor(
    readonly reason: 'cancelled' | 'shutdown',
    message: string,
  ) {
    super('CANCELLED', message);
  }
}

/** A message being processed, as the pull loop, the delivery handler and the drain see it. */
export interface InFlight {
  readonly msg: JsMsg;
  readonly controller: AbortController;
  heartbeat: NodeJS.Timeout | undefined;
  /** Set once the message was nak-ed at the drain deadline: its late outcome is ignored. */
  released: boolean;
  readonly done: Promise<void>;
}

/** The first value of each header. */
export function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, values] of h ?? []) {
    if (values.length > 0 && values[0] !== undefined) out[key] = values[0];
  }
  return out;
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function oneLine(text: string): string {
  // Headers are single lines.
  return text.replace(/[\r\n]+/g, ' ').slice(0, 1000);
}

/** ack/nak/term/working publish on the connection; once it is closed they throw, which is fine. */
export function safely(action: () => void): void {
  try {
    action();
  } catch {
    // The connection is gone: the server redelivers after the ack wait.
  }
}

export function intOption(value: number, what: string, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new InvalidInputError(`${what} must be an integer >= ${min}, got ${value}`);
  return value;
}
