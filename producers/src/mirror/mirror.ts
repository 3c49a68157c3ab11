import type { Admin, Kafka, Producer, Message } from 'kafkajs';
import { CATEGORIES, type EventEnvelope, RegistoError, parseStreamId } from '@registo/schemas';
import type { Logger } from '@registo/base';
import { type EventStore, inBatches } from '@registo/event-store';
import {
  type KafkaSettings,
  EnvelopeCodec,
  categoryTopic,
  consumerGroup,
  mirrorCheckpointTopic,
  storeOfOffsetMetadata,
  storeOffsetMetadata,
  kafkaClient,
  keyPartitioner,
  topicConfig,
  ensureTopics,
} from '@registo/messaging';

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

interface PreparedTransaction {
  events: number;
  last: EventEnvelope;
  byTopic: Map<string, Message[]>;
  encodeMs: number;
}

/** Keeps each transaction (and so each partition's record batch) well under the topics' limit. */
const MAX_TRANSACTION_BYTES = 8 * 1024 * 1024;

/** The headers of an event's message; `storeId`, the publishing store, lets consumers refuse another store's events. */
export function eventHeaders(e: EventEnvelope, storeId?: string): Record<string, string> {
  const h: Record<string, string> = { 'event-id': e.eventId, type: e.type, position: String(e.position), hash: e.hash };
  if (storeId !== undefined) h['store-id'] = storeId;
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
    await ensureTopics(this.admin, [
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
    ]);
    await this.codec.registerAll(CATEGORIES);
    this.prepared = true;
  }

  private prepared = false;

  /** The position committed by the last successful transaction (0: nothing mirrored yet). */
  async committedPosition(): Promise<number> {
    return (await this.committedCheckpoint()).position;
  }

  /** The committed checkpoint: its position, and the store its commit named (older commits name none). */
  private async committedCheckpoint(): Promise<{ position: number; storeId: string | undefined }> {
    const admin = this.admin ?? this.kafka.admin();
    if (!this.admin) await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.checkpointTopic] });
      const partition = topic?.partitions.find((p) => p.partition === 0);
      const offset = Number(partition?.offset ?? -1);
      return offset < 0 ? { position: 0, storeId: undefined } : { position: offset - 1, storeId: storeOfOffsetMetadata(partition?.metadata) };
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
      createPartitioner: keyPartitioner,
      transactionTimeout: 60_000,
      // Right after a commit the coordinator may still be writing its markers and answers the
      // next transaction with CONCURRENT_TRANSACTIONS; retry that within milliseconds, not the
      // default ~300 ms, or every few transactions wait a third of a second.
      retry: { initialRetryTime: 5, maxRetryTime: 1000, retries: 40, factor: 0.2, multiplier: 1.5 },
    });
    // Connecting initialises the transactional id: any transaction a crashed predecessor
    // left open is aborted before we read the checkpoint.
    await this.producer.connect();
    this.storeId = await this.options.store.storeId();
    const committed = await this.committedCheckpoint();
    const from = committed.position + 1;
    await this.checkResumePoint(committed);
    this.state.position = from - 1;
    this.state.resumedFrom = from - 1;
    this.state.running = true;
    this.options.logger.info({ mirror: this.name, from }, 'mirror resuming');
    // Hashes are not recomputed here: every consumer verifies what it receives, and the audit
    // checkpointer verifies the log itself; recomputing would halve the mirror's speed.
    if (this.stopping) return;
    const subscription = this.options.store.subscribe({ fromPosition: from, batchSize: this.options.batchSize ?? 2000, verify: false });
    this.subscriptionClose = () => subscription.close();
    // Pipelined: while one transaction is with the broker, the next batch is read and encoded.
    // Transactions themselves still go one at a time, in position order.
    let committing: Promise<void> = Promise.resolve();
    let failure: { error: unknown } | undefined;
    let encodedUpTo = from - 1;
    try {
      for await (const batch of inBatches(subscription, this.options.batchSize ?? 2000, this.options.lingerMs ?? 5)) {
        if (this.stopping || failure) break;
        if (batch.events.length === 0) continue;
        const prepared = this.encode(batch.events, encodedUpTo);
        encodedUpTo = batch.events[batch.events.length - 1]!.position;
        await committing;
        if (failure) break;
        committing = (async () => {
          for (const p of prepared) await this.commit(p);
        })().catch((error: unknown) => {
          failure = { error };
        });
      }
      await committing;
      if (failure) throw failure.error;
    } finally {
      this.state.running = false;
      await subscription.close().catch(() => undefined);
    }
  }

  private subscriptionClose: (() => Promise<void>) | undefined;

  private storeId = '';

  /**
   * The checkpoint must be this store's: a topic prefix reused with a new database would
   * otherwise resume past everything the new store holds and mirror nothing, silently. Its
   * offset commit (and record) name the store; a checkpoint from before they did is checked by
   * its last record, which names the event at its position: the store must hold that very event.
   */
  private async checkResumePoint(committed: { position: number; storeId: string | undefined }): Promise<void> {
    const { position } = committed;
    if (position === 0) return;
    const head = await this.options.store.headPosition();
    const refuse = (why: string, extra: Record<string, unknown> = {}): never => {
      throw new RegistoError('MIRROR_CHECKPOINT_FOREIGN', `mirror: the checkpoint in ${this.checkpointTopic} (position ${position}) ${why}: this topic prefix was used with another store; give this store a prefix of its own (REGISTO_TOPIC_PREFIX), or delete the old topics`, { checkpointPosition: position, headPosition: head, topic: this.checkpointTopic, storeId: this.storeId, ...extra });
    };
    if (committed.storeId !== undefined && committed.storeId !== this.storeId) refuse(`was made for store ${committed.storeId}, and this store is ${this.storeId}`, { checkpointStore: committed.storeId });
    if (position > head) refuse(`is beyond this store's head (${head})`);
    const recorded = await this.lastCheckpointRecord();
    const [event] = await this.options.store.readAll({ fromPosition: position, maxCount: 1, verify: false });
    if (recorded && (recorded.position !== position || recorded.eventId !== event?.eventId)) refuse(`names event ${recorded.eventId} at ${recorded.position}, and this store holds ${event?.eventId ?? 'nothing'} there`);
  }

  /** The newest record of this mirror in the compacted checkpoint topic (committed ones only). */
  private async lastCheckpointRecord(): Promise<{ position: number; eventId: string } | null> {
    const admin = this.admin!;
    const [partition] = await admin.fetchTopicOffsets(this.checkpointTopic);
    const high = Number(partition?.high ?? 0);
    if (high === 0) return null;
    // Each transaction leaves its record and a commit marker: the last few offsets hold the newest record.
    const groupId = `${this.groupId}-resume-check-${process.pid}-${Date.now()}`;
    const consumer = this.kafka.consumer({ groupId, readUncommitted: false });
    let found: { position: number; eventId: string } | null = null;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [this.checkpointTopic] });
      let seenUpTo = -1;
      const done = new Promise<void>((resolve) => {
        void consumer.run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              seenUpTo = Number(m.offset);
              if (m.key?.toString() !== this.name || !m.value) continue;
              const r = JSON.parse(m.value.toString()) as { position?: unknown; eventId?: unknown };
              if (typeof r.position === 'number' && typeof r.eventId === 'string') found = { position: r.position, eventId: r.eventId };
            }
            // The last data offset is at most the high watermark less its commit marker.
            if (seenUpTo >= high - 2 || Number(batch.lastOffset()) >= high - 2) resolve();
          },
        });
      });
      consumer.seek({ topic: this.checkpointTopic, partition: 0, offset: String(Math.max(0, high - 20)) });
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return found;
  }

  /**
   * Encodes events that must follow position `after` exactly, into as many transactions as
   * keep each under MAX_TRANSACTION_BYTES of encoded values.
   */
  private encode(events: EventEnvelope[], after: number): PreparedTransaction[] {
    const out: PreparedTransaction[] = [];
    let current: PreparedTransaction | undefined;
    let bytes = 0;
    let expected = after + 1;
    for (const e of events) {
      const t0 = performance.now();
      // The store's positions are gap-free; anything else means the subscription is broken.
      if (e.position !== expected++) throw new Error(`mirror: expected position ${expected - 1}, got ${e.position}`);
      const value = this.codec.encode(e);
      if (!current || (current.events > 0 && bytes + value.length > MAX_TRANSACTION_BYTES)) {
        current = { events: 0, last: e, byTopic: new Map(), encodeMs: 0 };
        out.push(current);
        bytes = 0;
      }
      const topic = categoryTopic(parseStreamId(e.streamId).category, this.options.settings.prefix);
      const messages = current.byTopic.get(topic) ?? [];
      messages.push({ key: e.streamId, value, headers: eventHeaders(e, this.storeId) });
      current.byTopic.set(topic, messages);
      current.events++;
      current.last = e;
      current.encodeMs += performance.now() - t0;
      bytes += value.length;
    }
    return out;
  }

  /** One Kafka transaction: the events, the checkpoint record, the checkpoint offset. */
  private async commit(p: PreparedTransaction): Promise<void> {
    const { last } = p;
    const t1 = performance.now();
    let t2 = t1;
    let t3 = t1;
    const txn = await this.producer!.transaction();
    try {
      await txn.sendBatch({
        topicMessages: [
          ...[...p.byTopic].map(([topic, messages]) => ({ topic, messages })),
          {
            topic: this.checkpointTopic,
            messages: [{ key: this.name, value: JSON.stringify({ position: last.position, eventId: last.eventId, hash: last.hash, storeId: this.storeId, at: new Date().toISOString() }) }],
          },
        ],
      });
      t2 = performance.now();
      // kafkajs' types leave it out, but its TxnOffsetCommit sends each partition's `metadata`.
      const partitions: Array<{ partition: number; offset: string; metadata: string }> = [{ partition: 0, offset: String(last.position + 1), metadata: storeOffsetMetadata(this.storeId) }];
      await txn.sendOffsets({ consumerGroupId: this.groupId, topics: [{ topic: this.checkpointTopic, partitions }] });
      t3 = performance.now();
      await txn.commit();
    } catch (e) {
      await txn.abort().catch(() => undefined);
      throw e;
    }
    const round = (x: number): number => Math.round(x * 10) / 10;
    this.state.lastTransaction = {
      events: p.events,
      encodeMs: round(p.encodeMs),
      sendMs: round(t2 - t1),
      offsetsMs: round(t3 - t2),
      commitMs: round(performance.now() - t3),
    };
    this.state.position = last.position;
    this.state.mirrored += p.events;
    this.state.transactions++;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.subscriptionClose?.().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
