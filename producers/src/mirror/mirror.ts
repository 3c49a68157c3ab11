import type { Admin, Kafka, Producer, Message } from 'kafkajs';
import { CATEGORIES, type EventEnvelope, parseStreamId } from '@registo/schemas';
import {
  type EventStore,
  type KafkaSettings,
  type Logger,
  EnvelopeCodec,
  categoryTopic,
  consumerGroup,
  mirrorCheckpointTopic,
  inBatches,
  kafkaClient,
  topicConfig,
} from '@registo/infra';

export interface MirrorOptions {
  store: EventStore;
  settings: KafkaSettings;
  logger: Logger;
  /** Most events per Kafka transaction. */
  batchSize?: number;
  /** How long to gather events for a transaction once the first is there. */
  lingerMs?: number;
}

export interface MirrorStatus {
  name: string;
  /** Last position committed to Kafka. */
  position: number;
  /** Committed position at start-up (where this run resumed). */
  resumedFrom: number;
  mirrored: number;
  transactions: number;
  running: boolean;
  /** Where the last transaction spent its time (for the ops view and tuning). */
  lastTransaction: { events: number; encodeMs: number; sendMs: number; offsetsMs: number; commitMs: number } | null;
}

/** Keeps each transaction (and so each partition's record batch) well under the topics' limit. */
const MAX_TRANSACTION_BYTES = 8 * 1024 * 1024;

function* byteBoundedChunks(events: EventEnvelope[], maxBytes: number): Generator<EventEnvelope[]> {
  let chunk: EventEnvelope[] = [];
  let bytes = 0;
  for (const e of events) {
    const size = JSON.stringify(e.data).length + 600;
    if (chunk.length > 0 && bytes + size > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(e);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

export function eventHeaders(e: EventEnvelope): Record<string, string> {
  const h: Record<string, string> = { 'event-id': e.eventId, type: e.type, position: String(e.position), hash: e.hash };
  if (e.metadata.traceparent) h.traceparent = e.metadata.traceparent;
  return h;
}

/**
 * Publishes the log to Kafka in global order, exactly once for read_committed readers.
 *
 * Each batch is one Kafka transaction holding the events and the mirror's checkpoint twice:
 * a record in the compacted `registo.mirror.checkpoint` topic (for people and tools) and a
 * transactional offset commit for the group `registo-mirror` (read back exactly on
 * start). A crash anywhere leaves either the whole batch and its checkpoint committed, or
 * neither; the next instance's producer init aborts whatever its predecessor left open and
 * fences it out, then resumes from the committed checkpoint.
 */
export class Mirror {
  private readonly name: string;
  private readonly kafka: Kafka;
  private readonly codec: EnvelopeCodec;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private stopping = false;
  private readonly state: MirrorStatus;
  private readonly checkpointTopic: string;

  constructor(private readonly options: MirrorOptions) {
    this.name = options.settings.prefix;
    this.kafka = kafkaClient(options.settings, 'mirror', options.logger);
    this.codec = new EnvelopeCodec(options.settings.registryUrl, options.settings.prefix);
    this.checkpointTopic = mirrorCheckpointTopic(options.settings.prefix);
    this.state = { name: this.name, position: 0, resumedFrom: 0, mirrored: 0, transactions: 0, running: false, lastTransaction: null };
  }

  /** The group whose (transactional) offset commit is the mirror's exact checkpoint. */
  get groupId(): string {
    return consumerGroup('mirror', this.options.settings.prefix);
  }

  status(): MirrorStatus {
    return { ...this.state };
  }

  /** Creates the topics and registers the value schemas (both idempotent). */
  async prepare(): Promise<void> {
    if (this.prepared) return;
    this.admin = this.kafka.admin();
    await this.admin.connect();
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: [
        ...CATEGORIES.map((c) => ({
          topic: categoryTopic(c, this.options.settings.prefix),
          numPartitions: this.options.settings.partitions,
          replicationFactor: 1,
          configEntries: topicConfig(),
        })),
        {
          topic: this.checkpointTopic,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
    await this.codec.registerAll(CATEGORIES);
    this.prepared = true;
  }

  private prepared = false;

  /** The position committed by the last successful transaction (0: nothing mirrored yet). */
  async committedPosition(): Promise<number> {
    const admin = this.admin ?? this.kafka.admin();
    if (!this.admin) await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.checkpointTopic] });
      const offset = Number(topic?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
      return offset < 0 ? 0 : offset - 1;
    } finally {
      if (!this.admin) await admin.disconnect();
    }
  }

  /** Runs until stop(): prepare, fence predecessors, resume from the checkpoint, mirror. */
  async run(): Promise<void> {
    await this.prepare();
    this.producer = this.kafka.producer({
      transactionalId: `${this.groupId}-tx`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
    });
    // Connecting initialises the transactional id: any transaction a crashed predecessor
    // left open is aborted before we read the checkpoint.
    await this.producer.connect();
    const from = (await this.committedPosition()) + 1;
    this.state.position = from - 1;
    this.state.resumedFrom = from - 1;
    this.state.running = true;
    this.options.logger.info({ mirror: this.name, from }, 'mirror resuming');
    // Hashes are not recomputed here: every consumer verifies what it receives, and the audit
    // checkpointer verifies the log itself; recomputing would halve the mirror's speed.
    const subscription = this.options.store.subscribe({ fromPosition: from, batchSize: this.options.batchSize ?? 2000, verify: false });
    this.subscriptionClose = () => subscription.close();
    try {
      for await (const batch of inBatches(subscription, this.options.batchSize ?? 2000, this.options.lingerMs ?? 5)) {
        if (this.stopping) break;
        for (const chunk of byteBoundedChunks(batch.events, MAX_TRANSACTION_BYTES)) await this.publish(chunk);
      }
    } finally {
      this.state.running = false;
      await subscription.close().catch(() => undefined);
    }
  }

  private subscriptionClose: (() => Promise<void>) | undefined;

  private async publish(events: EventEnvelope[]): Promise<void> {
    const t0 = performance.now();
    const byTopic = new Map<string, Message[]>();
    let expected = this.state.position + 1;
    for (const e of events) {
      // The store's positions are gap-free; anything else means the subscription is broken.
      if (e.position !== expected++) throw new Error(`mirror: expected position ${expected - 1}, got ${e.position}`);
      const topic = categoryTopic(parseStreamId(e.streamId).category, this.options.settings.prefix);
      const messages = byTopic.get(topic) ?? [];
      messages.push({ key: e.streamId, value: await this.codec.encode(e), headers: eventHeaders(e) });
      byTopic.set(topic, messages);
    }
    const last = events[events.length - 1]!;
    const t1 = performance.now();
    let t2 = t1;
    let t3 = t1;
    const txn = await this.producer!.transaction();
    try {
      await txn.sendBatch({
        topicMessages: [
          ...[...byTopic].map(([topic, messages]) => ({ topic, messages })),
          {
            topic: this.checkpointTopic,
            messages: [{ key: this.name, value: JSON.stringify({ position: last.position, eventId: last.eventId, hash: last.hash, at: new Date().toISOString() }) }],
          },
        ],
      });
      t2 = performance.now();
      await txn.sendOffsets({
        consumerGroupId: this.groupId,
        topics: [{ topic: this.checkpointTopic, partitions: [{ partition: 0, offset: String(last.position + 1) }] }],
      });
      t3 = performance.now();
      await txn.commit();
    } catch (e) {
      await txn.abort().catch(() => undefined);
      throw e;
    }
    const round = (x: number): number => Math.round(x * 10) / 10;
    this.state.lastTransaction = {
      events: events.length,
      encodeMs: round(t1 - t0),
      sendMs: round(t2 - t1),
      offsetsMs: round(t3 - t2),
      commitMs: round(performance.now() - t3),
    };
    this.state.position = last.position;
    this.state.mirrored += events.length;
    this.state.transactions++;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.subscriptionClose?.().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
