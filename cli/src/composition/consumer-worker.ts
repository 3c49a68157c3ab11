import {
  EnvelopeCodec,
  KafkaDeadLetterSink,
  KafkaEventSource,
  SqlDeadLetterSink,
  StoreEventSource,
  supervise,
  type DeadLetterSink,
  type EventSource,
} from '@registo/messaging';
import type { PlatformContext } from './context.js';

/** What the consumer runtimes (SqlConsumer, StreamParallelConsumer) have in common. */
export interface RunnableConsumer {
  run(): Promise<void>;
  stop(): Promise<void>;
  readonly stats: object;
}

export interface ConsumerWorkerOptions {
  /** Kafka: partitions consumed at once (handlers whose streams never share a partition). */
  partitionsConsumedConcurrently?: number | undefined;
  /** Shown first in the worker's readiness entry. */
  describe?: Record<string, unknown>;
}

/**
 * A supervised consumer for one handler on the configured event source: the Kafka topics with a
 * DLQ topic when KAFKA_BROKERS is set, the store's subscription with a SQL dead-letter table
 * otherwise. Each (re)start gets a fresh source; its own offsets, dead letters and restarts.
 */
export function startConsumerWorker(ctx: PlatformContext, name: string, build: (source: EventSource, sink: DeadLetterSink) => RunnableConsumer, options: ConsumerWorkerOptions = {}): void {
  const { config, eventStore, logger } = ctx;
  const kafka = config.kafka;
  if (!ctx.sql) throw new Error(`${name} keeps its offsets and dead letters in SQL`);
  const db = ctx.sql.driver;
  const source = (): EventSource =>
    kafka
      ? new KafkaEventSource(kafka, new EnvelopeCodec(kafka.registryUrl, kafka.prefix), eventStore, {
          logger,
          ...(options.partitionsConsumedConcurrently !== undefined && { partitionsConsumedConcurrently: options.partitionsConsumedConcurrently }),
        })
      : new StoreEventSource(eventStore);
  const sink = kafka ? new KafkaDeadLetterSink(kafka, logger) : new SqlDeadLetterSink(db);
  let consumer: RunnableConsumer | undefined;
  const s = supervise(
    name,
    logger,
    () => (consumer = build(source(), sink)).run(),
    async () => {
      await consumer?.stop();
      await sink.close();
    },
  );
  ctx.workers.add({ name, stop: () => s.stop(), health: () => s.health(), describe: () => ({ ...options.describe, ...consumer?.stats, ...s.health() }) });
}
