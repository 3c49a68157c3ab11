import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { type Category, type EventEnvelope, verifyEnvelope } from '@registo/schemas';
import { kafkaClient, keyPartitioner } from '../kafka/client.js';
import { isStoreUnavailable } from '@registo/event-store';
import { ensureTopics } from '../kafka/ensure-topics.js';
import type { EnvelopeCodec } from '../kafka/envelope-codec.js';
import type { KafkaSettings } from '../kafka/settings.js';
import { categoryTopic, consumerGroup, retryTopic, topicConfig } from '../kafka/topics.js';
import type { Logger } from '@registo/base';
import type { EventStore } from '@registo/event-store';
import { checkGroupOffsets, foreignPublisher, storeOffsetMetadata } from '../kafka/store-offsets.js';
import type { DeadLetterSink } from './dead-letters.js';

/** Thrown by a handler when trying again later may succeed (timeout, 5xx, outage). */
export class TransientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransientError';
  }
}

/** A consumer whose effect is a call to the outside world, idempotent by `event.eventId`. */
export interface OutsideWorldHandler {
  name: string;
  categories: readonly Category[];
  handle(event: EventEnvelope, attempt: number): Promise<void>;
}

export interface RetryPolicy {
  /** Delay before each retry; its length is the number of retries. */
  delaysMs: readonly number[];
  /** Partitions of the main topic handled at once (default 1); a stream stays on one partition, so its order holds. */
  partitionsConsumedConcurrently?: number;
  /** Kafka group session timeout (default 30 s): how long a crashed member holds its partitions. */
  sessionTimeoutMs?: number;
  /**
   * Streams (message keys) of one main-topic batch handled at once (default 1); a key's messages
   * stay in order. The batch's offset moves only once all of it is done.
   */
  streamsInParallel?: number;
}

export interface RetryingConsumerStats {
  succeeded: number;
  scheduled: number;
  deadLettered: number;
}

const H = {
  attempt: 'retry-attempt',
  notBefore: 'retry-not-before',
  error: 'retry-error',
  topic: 'retry-source-topic',
  partition: 'retry-source-partition',
  offset: 'retry-source-offset',
};

function headers(m: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) out[k] = String(v);
  return out;
}

/**
 * At-least-once delivery to the outside world with delayed retries: a transient failure
 * moves the message to `registo.<consumer>.retry.<n>`, whose consumer holds it until its
 * delay has passed and tries again; after the last step, or on any other error, the message
 * goes to the dead-letter sink. The main topic is never blocked by a slow retry. Its groups'
 * offsets carry the store's identity; offsets of another store are refused before any group
 * resumes from them (CONSUMER_OFFSETS_FOREIGN, docs/kafka.md).
 */
export class RetryingKafkaConsumer {
  readonly stats: RetryingConsumerStats = { succeeded: 0, scheduled: 0, deadLettered: 0 };
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private consumers: Consumer[] = [];
  private stopping = false;

  constructor(
    private readonly settings: KafkaSettings,
    private readonly codec: EnvelopeCodec,
    /** The store whose events the topics mirror: its identity goes with every offset commit. */
    private readonly store: EventStore,
    private readonly handler: OutsideWorldHandler,
    private readonly deadLetters: DeadLetterSink,
    private readonly policy: RetryPolicy,
    private readonly logger?: Logger,
  ) {
    this.kafka = kafkaClient(settings, `${handler.name}-retrying`, logger);
  }

  private stepTopic(step: number): string {
    return retryTopic(this.handler.name, step, this.settings.prefix);
  }

  async run(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const main = this.handler.categories.map((c) => categoryTopic(c, this.settings.prefix));
    try {
      await ensureTopics(admin, this.policy.delaysMs.map((_, i) => ({ topic: this.stepTopic(i), numPartitions: this.settings.partitions, replicationFactor: 1, configEntries: topicConfig() })));
      // Every group is checked before any resumes: the retry topics of another store's run hold its events too.
      await checkGroupOffsets(this.kafka, admin, this.store, { groupId: this.group(-1), topics: main, mirrored: true }, this.logger);
      for (let step = 0; step < this.policy.delaysMs.length; step++) {
        await checkGroupOffsets(this.kafka, admin, this.store, { groupId: this.group(step), topics: [this.stepTopic(step)], mirrored: false }, this.logger);
      }
    } finally {
      await admin.disconnect();
    }
    this.storeId = await this.store.storeId();
    this.metadata = storeOffsetMetadata(this.storeId);
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: keyPartitioner });
    await this.producer.connect();
    await this.consume(-1, main);
    for (let step = 0; step < this.policy.delaysMs.length; step++) await this.consume(step, [this.stepTopic(step)]);
  }

  private metadata: string | null = null;
  private storeId = '';
  private failure: Error | undefined;
  private readonly failureWaiters: Array<(e: Error) => void> = [];

  /**
   * Resolves with the error that stopped the consumer for good (a message another store
   * published: TOPIC_EVENTS_FOREIGN); its owner stops the role with it.
   */
  whenFailed(): Promise<Error> {
    return this.failure ? Promise.resolve(this.failure) : new Promise((r) => this.failureWaiters.push(r));
  }

  private failWith(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    // Nothing more is handled or committed: the message and those after it stay unconsumed.
    this.stopping = true;
    for (const w of this.failureWaiters.splice(0)) w(e);
  }

  private group(step: number): string {
    return consumerGroup(step < 0 ? this.handler.name : `${this.handler.name}-retry-${step}`, this.settings.prefix);
  }

  private async consume(step: number, topics: string[]): Promise<void> {
    const group = this.group(step);
    const consumer = this.kafka.consumer({ groupId: group, readUncommitted: false, sessionTimeout: this.policy.sessionTimeoutMs ?? 30_000, heartbeatInterval: 1000 });
    this.consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: this.policy.partitionsConsumedConcurrently ?? 1,
      // Committed here, not by kafkajs, so that each commit carries the store's identity.
      autoCommit: false,
      // Offsets move only as messages are handled: a batch left early (stopping) is read again.
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset: resolveInBatch, heartbeat, isRunning, isStale }) => {
        let through: string | undefined;
        const resolveOffset = (offset: string): void => {
          resolveInBatch(offset);
          through = offset;
        };
        let failed = false;
        try {
          await this.handleBatch(step, batch, resolveOffset, heartbeat, isRunning, isStale);
        } catch (e) {
          failed = true;
          throw e;
        } finally {
          // What was handled stays handled, as kafkajs' own commit after a failing batch did.
          if (through !== undefined) {
            await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(through) + 1), metadata: this.metadata }]).catch((e: unknown) => {
              // A batch left because of a failure or a stop is read again: at least once.
              if (!failed && !this.stopping) throw e;
            });
          }
        }
      },
    });
  }

  private async handleBatch(
    step: number,
    batch: EachBatchPayload['batch'],
    resolveOffset: (offset: string) => void,
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
    isStale: () => boolean,
  ): Promise<void> {
    for (const m of batch.messages) {
      const foreign = foreignPublisher(headers(m), { topic: batch.topic, partition: batch.partition, offset: Number(m.offset) }, this.storeId);
      if (foreign) return this.failWith(foreign);
    }
    const parallel = this.policy.streamsInParallel ?? 1;
    if (step < 0 && parallel > 1) {
      const byKey = new Map<string, KafkaMessage[]>();
      for (const m of batch.messages) {
        const key = m.key?.toString() ?? `#${m.offset}`;
        byKey.set(key, [...(byKey.get(key) ?? []), m]);
      }
      const queues = [...byKey.values()];
      const beat = setInterval(() => void heartbeat().catch(() => undefined), 1000);
      try {
        await Promise.all(
          Array.from({ length: Math.min(parallel, queues.length) }, async () => {
            for (let q = queues.shift(); q; q = queues.shift()) {
              for (const m of q) {
                if (!isRunning() || isStale() || this.stopping) return;
                await this.attempt(m, headers(m), { topic: batch.topic, partition: batch.partition, offset: Number(m.offset) });
              }
            }
          }),
        );
      } finally {
        clearInterval(beat);
      }
      if (!isRunning() || isStale() || this.stopping) return;
      resolveOffset(batch.lastOffset());
      await heartbeat();
      return;
    }
    for (const m of batch.messages) {
      if (!isRunning() || isStale() || this.stopping) return;
      const h = headers(m);
      const notBefore = Number(h[H.notBefore] ?? 0);
      // Hold the message until its delay has passed, heart-beating so the group keeps us.
      while (Date.now() < notBefore && isRunning() && !this.stopping) {
        await new Promise((r) => setTimeout(r, Math.min(500, notBefore - Date.now())));
        await heartbeat();
      }
      if (!isRunning() || this.stopping) return;
      await this.attempt(m, h, step < 0 ? { topic: batch.topic, partition: batch.partition, offset: Number(m.offset) } : undefined);
      resolveOffset(m.offset);
      await heartbeat();
    }
  }

  private async attempt(m: KafkaMessage, h: Record<string, string>, origin: { topic: string; partition: number; offset: number } | undefined): Promise<void> {
    const attempt = Number(h[H.attempt] ?? 0) + 1;
    const source = origin ?? { topic: h[H.topic] ?? '?', partition: Number(h[H.partition] ?? -1), offset: Number(h[H.offset] ?? -1) };
    let event: EventEnvelope | undefined;
    try {
      event = await this.codec.decode(m.value!);
      verifyEnvelope(event);
      await this.handler.handle(event, attempt);
      this.stats.succeeded++;
    } catch (e) {
      // The database away is not the event's fault: spend no attempt, stop unadvanced (the
      // supervisor restarts the consumer, which is handed this message again).
      if (isStoreUnavailable(e)) throw e;
      const error = e as Error;
      const step = attempt - 1;
      if (error instanceof TransientError && event && step < this.policy.delaysMs.length) {
        await this.producer!.send({
          topic: this.stepTopic(step),
          messages: [
            {
              key: m.key,
              value: m.value,
              headers: {
                ...h,
                [H.attempt]: String(attempt),
                [H.notBefore]: String(Date.now() + this.policy.delaysMs[step]!),
                [H.error]: error.message.slice(0, 1000),
                [H.topic]: source.topic,
                [H.partition]: String(source.partition),
                [H.offset]: String(source.offset),
              },
            },
          ],
        });
        this.stats.scheduled++;
        return;
      }
      this.logger?.error({ consumer: this.handler.name, attempt, err: error }, 'dead-lettered');
      await this.deadLetters.send({
        consumer: this.handler.name,
        coordinates: { source: source.topic, partition: source.partition, offset: source.offset },
        reason: error.message,
        attempts: attempt,
        eventId: event?.eventId ?? h['event-id'] ?? null,
        type: event?.type ?? h.type ?? null,
        raw: { key: m.key, value: m.value, headers: h },
      });
      this.stats.deadLettered++;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.consumers.map((c) => c.disconnect()));
    await this.producer?.disconnect().catch(() => undefined);
  }
}
