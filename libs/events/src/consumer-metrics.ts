import type { BatchObservableResult } from '@opentelemetry/api';
import type { JetStreamManager, NatsConnection } from 'nats';
import { ATTR, mitosisInstruments } from '@mitosis/telemetry';
import type { EventsLogger } from './logger';
import { silentLogger } from './logger';
import type { EventNames, Stage } from './names';

export interface ConsumerLagOptions {
  readonly nc: NatsConnection;
  readonly names: EventNames;
  /** The stages whose durable consumers are observed (a worker: its own; the gateway: all). */
  readonly stages: readonly Stage[];
  /** How long one reading of the consumers may take before it is skipped; default 2 s. */
  readonly timeoutMs?: number;
  readonly log?: EventsLogger;
}

/**
 * Queue lag per consumer as observable gauges (mitosis.consumer.pending, .ack_pending,
 * .redelivered): at each metric collection (every OTEL_METRIC_EXPORT_INTERVAL) the consumer info
 * of each stage is read from JetStream. Replicas share one durable consumer, so every replica
 * reports the same numbers (take max by consumer). Returns the function that stops observing.
 */
export function observeConsumerLag(options: ConsumerLagOptions): () => void {
  const { nc, names, stages } = options;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const log = options.log ?? silentLogger;
  const instruments = mitosisInstruments();
  const gauges = [instruments.consumerPending, instruments.consumerAckPending, instruments.consumerRedelivered];
  let jsm: Promise<JetStreamManager> | undefined;
  let warned = false;

  const read = async (result: BatchObservableResult): Promise<void> => {
    if (nc.isClosed()) return;
    jsm ??= nc.jetstreamManager();
    const manager = await jsm.catch((error: unknown) => {
      jsm = undefined;
      throw error;
    });
    for (const stage of stages) {
      const consumer = names.stageConsumer(stage);
      const info = await manager.consumers.info(names.workStream, consumer);
      const attributes = { [ATTR.stage]: stage, [ATTR.consumer]: consumer };
      result.observe(instruments.consumerPending, info.num_pending, attributes);
      result.observe(instruments.consumerAckPending, info.num_ack_pending, attributes);
      result.observe(instruments.consumerRedelivered, info.num_redelivered, attributes);
    }
  };
  const callback = async (result: BatchObservableResult): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        read(result),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`consumer info took longer than ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      warned = false;
    } catch (error: unknown) {
      // NATS away for a moment: no lag points this round, one warning until it comes back.
      if (!warned) log.warn('consumer lag not read', { error: error instanceof Error ? error.message : String(error) });
      warned = true;
    } finally {
      clearTimeout(timer);
    }
  };
  instruments.meter.addBatchObservableCallback(callback, gauges);
  return () => instruments.meter.removeBatchObservableCallback(callback, gauges);
}
