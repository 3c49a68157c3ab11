import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { kafkaClient } from '../kafka/client.js';
import type { Logger } from '@registo/base';
import { IntegrityError, type RegistoError, verifyEnvelope } from '@registo/schemas';
import type { EnvelopeCodec } from '../kafka/envelope-codec.js';
import type { KafkaSettings } from '../kafka/settings.js';
import { categoryTopic, consumerGroup } from '../kafka/topics.js';
import { checkGroupOffsets, foreignPublisher, storeOffsetMetadata } from '../kafka/store-offsets.js';
import type { EventStore } from '@registo/event-store';
import type { Delivery, EventSource, RawMessage, SourceSpec } from './source.js';

function headersOf(m: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) out[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
  return out;
}

/** The first delivery another store published, as the error that stops the consumer. */
function foreignEvent(deliveries: Delivery[], storeId: string): RegistoError | undefined {
  for (const d of deliveries) {
    const { source, partition, offset } = d.coordinates;
    const foreign = d.raw && foreignPublisher(d.raw.headers, { topic: source, partition, offset }, storeId);
    if (foreign) return foreign;
  }
  return undefined;
}

/**
 * The deployed form: category topics, read_committed, decoded with the registry. Offsets
 * that matter are the consumer's own (stored with its effects); the group's committed
 * offsets are only a hint that saves re-reading, and deliveries at or below the consumer's
 * stored offsets are dropped by the consumer, never applied twice. Those group offsets carry
 * the store's identity, and a group whose offsets are another store's is refused before it
 * resumes (CONSUMER_OFFSETS_FOREIGN, docs/kafka.md); a message that another store published
 * stops the consumer before it is handled (TOPIC_EVENTS_FOREIGN).
 */
export class KafkaEventSource implements EventSource {
  readonly kind = 'kafka' as const;
  private consumer: Consumer | undefined;
  private readonly kafka: Kafka;
  private stopped: (() => void) | undefined;
  private stopRequested = false;

  constructor(
    private readonly settings: KafkaSettings,
    private readonly codec: EnvelopeCodec,
    /** The store whose events the topics mirror: its identity goes with every offset commit. */
    private readonly store: EventStore,
    private readonly options: {
      sessionTimeout?: number;
      logger?: Logger;
      /** Partitions handed to the consumer at the same time (default 1). Only for consumers whose
       *  batches for different partitions are independent (no lock shared across partitions). */
      partitionsConsumedConcurrently?: number;
    } = {},
  ) {
    this.kafka = kafkaClient(settings, 'consumer', options.logger);
  }

  async run(spec: SourceSpec): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: consumerGroup(spec.name, this.settings.prefix),
      readUncommitted: false,
      sessionTimeout: this.options.sessionTimeout ?? 10_000,
      heartbeatInterval: 1000,
      rebalanceTimeout: 10_000,
    });
    this.consumer = consumer;
    if (this.stopRequested) return;
    const topics = spec.categories.map((c) => categoryTopic(c, this.settings.prefix));
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await checkGroupOffsets(this.kafka, admin, this.store, { groupId: consumerGroup(spec.name, this.settings.prefix), topics, mirrored: true }, this.options.logger);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const storeId = await this.store.storeId();
    if (this.stopRequested) return;
    await consumer.connect();
    try {
      await this.consume(consumer, spec, topics, storeId);
    } catch (e) {
      // A run that fails (a topic not created yet, a crash) must not leave its connection
      // behind: the supervisor starts a new source, and nothing would ever close this one.
      await consumer.disconnect().catch(() => undefined);
      throw e;
    }
  }

  private async consume(consumer: Consumer, spec: SourceSpec, topics: string[], storeId: string): Promise<void> {
    const metadata = storeOffsetMetadata(storeId);
    await consumer.subscribe({ topics, fromBeginning: true });
    let fail!: (error: unknown) => void;
    const crashed = new Promise<never>((_, reject) => {
      fail = reject;
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) reject(e.payload.error);
      });
    });
    // `consumer.run` itself may reject (no group coordinator yet) and kafkajs then also emits
    // CRASH: that rejection is this run's failure, thrown below; the second one must not be left
    // unhandled, or it ends the whole process instead of going to the supervisor.
    crashed.catch(() => undefined);
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const deliveries: Delivery[] = [];
        for (const m of batch.messages) {
          const coordinates = { source: batch.topic, partition: batch.partition, offset: Number(m.offset) };
          const raw: RawMessage = { key: m.key, value: m.value, headers: headersOf(m) };
          try {
            if (!m.value) throw new Error('message has no value');
            const event = await this.codec.decode(m.value);
            verifyEnvelope(event);
            deliveries.push({ kind: 'event', event, coordinates, raw });
          } catch (e) {
            const error = e instanceof IntegrityError || e instanceof Error ? e : new Error(String(e));
            deliveries.push({ kind: 'undecodable', error, coordinates, raw });
          }
        }
        // A group without offsets on a reused prefix would otherwise take in the other store's events.
        const foreign = foreignEvent(deliveries, storeId);
        if (foreign) {
          fail(foreign);
          return;
        }
        await spec.handle(deliveries);
        const last = batch.messages[batch.messages.length - 1]!.offset;
        resolveOffset(last);
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(last) + 1), metadata }]);
        await heartbeat();
      },
    });
    if (this.stopRequested) {
      await consumer.disconnect();
      return;
    }
    await Promise.race([crashed, new Promise<void>((resolve) => (this.stopped = resolve))]);
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    await this.consumer?.disconnect();
    this.stopped?.();
  }
}
