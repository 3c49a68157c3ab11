import type { Admin, Kafka } from 'kafkajs';
import { RegistoError } from '@registo/schemas';
import type { EventStore } from '@registo/event-store';
import type { Logger } from '@registo/base';

/*
 * Kafka offsets count messages of topics named by a prefix, and nothing in a topic's name says
 * which store's events it holds: a prefix reused with a new database would let a consumer resume
 * past everything the new store holds and consume nothing, silently. So every offset commit of
 * the platform carries the store's identity (EventStore.storeId) in its metadata string, and a
 * consumer checks the group's committed offsets before it resumes from them.
 */

const METADATA_PREFIX = 'registo-store:';

/** The metadata string of an offset commit made for `storeId`'s events. */
export const storeOffsetMetadata = (storeId: string): string => `${METADATA_PREFIX}${storeId}`;

/** The store an offset commit's metadata names, if it names one. */
export function storeOfOffsetMetadata(metadata: string | null | undefined): string | undefined {
  return metadata?.startsWith(METADATA_PREFIX) ? metadata.slice(METADATA_PREFIX.length) : undefined;
}

/**
 * The error that stops a consumer at a message another store published (its `store-id` header,
 * set by the mirror, names that store); undefined for this store's messages and for messages
 * published before the header existed.
 */
export function foreignPublisher(headers: Record<string, string>, at: { topic: string; partition: number; offset: number }, storeId: string): RegistoError | undefined {
  const from = headers['store-id'];
  if (from === undefined || from === storeId) return undefined;
  return new RegistoError(
    'TOPIC_EVENTS_FOREIGN',
    `the message at ${at.topic}#${at.partition} offset ${at.offset} was published by store ${from}, and this store is ${storeId}: this topic prefix was used with another store; give this store a prefix of its own (REGISTO_TOPIC_PREFIX)`,
    { topic: at.topic, partition: at.partition, offset: at.offset, eventStore: from, storeId },
  );
}

export interface GroupOffsetsCheck {
  groupId: string;
  topics: string[];
  /** The store's event at the record before each offset must be the one it names (the category topics). */
  mirrored: boolean;
}

function refuse(check: GroupOffsetsCheck, storeId: string, head: number, p: { topic: string; partition: number; offset: number }, why: string, extra: Record<string, unknown> = {}): never {
  throw new RegistoError(
    'CONSUMER_OFFSETS_FOREIGN',
    `consumer group ${check.groupId}: the offset committed on ${p.topic}#${p.partition} (${p.offset}) ${why}: this topic prefix was used with another store; give this store a prefix of its own (REGISTO_TOPIC_PREFIX), or delete the group's offsets`,
    { group: check.groupId, topic: p.topic, partition: p.partition, offset: p.offset, storeId, headPosition: head, ...extra },
  );
}

/**
 * Refuses (CONSUMER_OFFSETS_FOREIGN) to resume a group whose committed offsets are not this
 * store's: offsets that name another store, or, for offsets committed before they named one, on
 * a category topic whose last consumed event lies beyond the store's head or is not the event the
 * store holds at that position. Offsets that name this store, and groups without offsets, pass.
 */
export async function checkGroupOffsets(kafka: Kafka, admin: Admin, store: EventStore, check: GroupOffsetsCheck, logger?: Logger): Promise<void> {
  const storeId = await store.storeId();
  const fetched = await admin.fetchOffsets({ groupId: check.groupId, topics: check.topics });
  const unnamed: Array<{ topic: string; partition: number; offset: number }> = [];
  let head: number | undefined;
  for (const t of fetched) {
    for (const p of t.partitions) {
      const offset = Number(p.offset);
      if (offset < 0) continue;
      const named = storeOfOffsetMetadata(p.metadata);
      if (named === storeId) continue;
      if (named !== undefined) {
        head ??= await store.headPosition();
        refuse(check, storeId, head, { topic: t.topic, partition: p.partition, offset }, `was made for store ${named}, and this store is ${storeId}`, { offsetsStore: named });
      }
      if (check.mirrored && offset > 0) unnamed.push({ topic: t.topic, partition: p.partition, offset });
    }
  }
  if (unnamed.length === 0) return;
  head ??= await store.headPosition();
  const records = await recordsBefore(kafka, admin, unnamed);
  for (const p of unnamed) {
    const r = records.get(`${p.topic}#${p.partition}`);
    // Deleted by retention (or not readable in time): nothing left to compare with.
    if (!r) {
      logger?.warn({ group: check.groupId, topic: p.topic, partition: p.partition, offset: p.offset }, 'committed offset names no store and its last record is gone; resuming from it');
      continue;
    }
    if (r.position > head) refuse(check, storeId, head, p, `follows the event at position ${r.position}, beyond this store's head (${head})`, { position: r.position });
    const [event] = await store.readAll({ fromPosition: r.position, maxCount: 1, verify: false });
    if (event?.position !== r.position || event.eventId !== r.eventId) {
      refuse(check, storeId, head, p, `follows event ${r.eventId} at position ${r.position}, and this store holds ${event?.position === r.position ? event.eventId : 'nothing'} there`, { position: r.position });
    }
  }
}

/** The `position` and `event-id` headers of the record just before each committed offset. */
async function recordsBefore(kafka: Kafka, admin: Admin, wanted: Array<{ topic: string; partition: number; offset: number }>): Promise<Map<string, { position: number; eventId: string }>> {
  const found = new Map<string, { position: number; eventId: string }>();
  const groupId = `registo-offsets-check-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  const pending = new Set(wanted.map((w) => `${w.topic}#${w.partition}`));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set(wanted.map((w) => w.topic))], fromBeginning: false });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const key = `${batch.topic}#${batch.partition}`;
          const want = wanted.find((w) => w.topic === batch.topic && w.partition === batch.partition);
          if (!want || !pending.has(key)) return;
          const m = batch.messages.find((x) => Number(x.offset) === want.offset - 1);
          const header = (name: string): string | undefined => m?.headers?.[name]?.toString();
          if (m && header('position') !== undefined && header('event-id') !== undefined) {
            found.set(key, { position: Number(header('position')), eventId: header('event-id')! });
          }
          // Past the record (or it is gone): this partition is settled either way.
          if (batch.messages.length > 0) pending.delete(key);
          if (pending.size === 0) resolve();
        },
      });
    });
    for (const w of wanted) consumer.seek({ topic: w.topic, partition: w.partition, offset: String(w.offset - 1) });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return found;
}
