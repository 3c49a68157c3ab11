import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type ReadPosition,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import { type EventEnvelope, IntegrityError, type NewEvent, RegistoError, WrongExpectedRevisionError, parseStreamId, verifyEnvelope } from '@registo/schemas';
import type { AppendOptions, AppendResult, EventStore, EventStoreInfo, ReadAllOptions, ReadStreamOptions, SubscribeOptions, Subscription, SubscriptionMessage } from './port.js';
import { describeExpectation, parseExpectedRevision, prepareAppend, reprepare, withPositions } from './prepare-append.js';

/** What rides in the ESDB event's metadata: the envelope fields ESDB has no place for. */
interface StoredMeta {
  registo: 1;
  schemaVersion: number;
  metadata: EventEnvelope['metadata'];
  hash: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** ESDB hands metadata back as parsed JSON: only an event this adapter wrote has this shape. */
function isStoredMeta(v: unknown): v is StoredMeta {
  return isRecord(v) && v.registo === 1 && typeof v.schemaVersion === 'number' && isRecord(v.metadata) && typeof v.hash === 'string';
}

/** Where an EventStoreDB log records its identity (EventStore.storeId). */
const STORE_IDENTITY_STREAM = 'registo-store-identity';

/**
 * EventStoreDB / KurrentDB adapter. ESDB's $all positions are byte offsets in its log, so
 * `position` here is the event's prepare position: strictly increasing in $all order but not
 * 1, 2, 3 (info.gapFreePositions = false). Stream revisions map one to one.
 * No ESDB node runs in this project's CI: the contract suite runs against it only when
 * EVENTSTORE_URL is set.
 */
export class EventStoreDbEventStore implements EventStore {
  readonly info: EventStoreInfo = { adapter: 'eventstoredb', gapFreePositions: false };
  private readonly client: EventStoreDBClient;

  constructor(connectionString: string) {
    this.client = EventStoreDBClient.connectionString(connectionString);
  }

  private toEnvelope(resolved: ResolvedEvent | AllStreamResolvedEvent): EventEnvelope | undefined {
    const e = resolved.event;
    if (!e || e.type.startsWith('$')) return undefined;
    const meta: unknown = e.metadata;
    if (!isStoredMeta(meta)) return undefined;
    const position = Number(e.position?.prepare ?? 0n);
    // Written by this adapter as a JSON object: anything else is not what was hashed.
    if (!isRecord(e.data)) throw new IntegrityError(position, e.id, meta.hash, '(data is not a JSON object)');
    return {
      eventId: e.id,
      streamId: e.streamId,
      revision: Number(e.revision),
      position,
      type: e.type,
      schemaVersion: meta.schemaVersion,
      data: e.data,
      metadata: meta.metadata,
      hash: meta.hash,
    };
  }

  private async currentRevision(streamId: string): Promise<number> {
    try {
      for await (const r of this.client.readStream(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
        return Number(r.event?.revision ?? -1);
      }
    } catch (e) {
      if ((e as { type?: string }).type === 'stream-not-found') return -1;
      throw e;
    }
    return -1;
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    parseStreamId(streamId);
    const expectation = parseExpectedRevision(options?.expectedRevision);
    let current =
      expectation.kind === 'exact' ? expectation.revision
      : expectation.kind === 'no_stream' ? -1
      : await this.currentRevision(streamId);
    let prepared = prepareAppend(streamId, events, current, new Date().toISOString());
    for (let attempt = 0; attempt < 100; attempt++) {
      // Hashes cover revisions, so even `any` appends at an exact revision and re-numbers on a race.
      const expected: AppendExpectedRevision =
        expectation.kind === 'exact' || expectation.kind === 'any' || expectation.kind === 'stream_exists'
          ? current < 0 ? (expectation.kind === 'stream_exists' ? STREAM_EXISTS : NO_STREAM) : BigInt(current)
          : NO_STREAM;
      try {
        const result = await this.client.appendToStream(
          streamId,
          prepared.map((p) =>
            jsonEvent({
              id: p.eventId,
              type: p.type,
              data: p.data,
              metadata: { registo: 1, schemaVersion: p.schemaVersion, metadata: p.metadata, hash: p.hash },
            }),
          ),
          { expectedRevision: expected },
        );
        const first = Number(result.position?.prepare ?? 0n);
        const stored = withPositions(prepared, first);
        const read = await this.readStream(streamId, { fromRevision: stored[0]!.revision, maxCount: stored.length, verify: false });
        const out = read.length === stored.length ? read : stored;
        return {
          streamId,
          nextExpectedRevision: Number(result.nextExpectedRevision),
          position: out[out.length - 1]!.position,
          events: out,
          idempotent: read.length === stored.length && read[0]!.eventId === stored[0]!.eventId && read[0]!.hash !== stored[0]!.hash,
        };
      } catch (e) {
        if (!(e instanceof WrongExpectedVersionError)) {
          throw new RegistoError('STORE_UNAVAILABLE', `append to ${streamId} failed: ${(e as Error).message}`, { streamId });
        }
        const actual = await this.currentRevision(streamId);
        if (expectation.kind === 'exact' || expectation.kind === 'no_stream' || (expectation.kind === 'stream_exists' && actual < 0)) {
          throw new WrongExpectedRevisionError(streamId, describeExpectation(expectation), actual < 0 ? 'no_stream' : actual);
        }
        current = actual;
        prepared = reprepare(streamId, prepared, current);
      }
    }
    throw new RegistoError('STORE_UNAVAILABLE', `append to ${streamId} kept racing other writers`, { streamId });
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<EventEnvelope[]> {
    parseStreamId(streamId);
    const backwards = options.direction === 'backwards';
    const out: EventEnvelope[] = [];
    try {
      for await (const r of this.client.readStream(streamId, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.fromRevision === undefined ? (backwards ? END : START) : BigInt(options.fromRevision),
        maxCount: options.maxCount ?? Number.MAX_SAFE_INTEGER,
      })) {
        const e = this.toEnvelope(r);
        if (e) out.push(e);
      }
    } catch (e) {
      if ((e as { type?: string }).type === 'stream-not-found') return [];
      throw e;
    }
    if (options.verify ?? true) out.forEach(verifyEnvelope);
    return out;
  }

  private static readFrom(fromPosition: number | undefined): ReadPosition {
    return !fromPosition || fromPosition <= 1 ? START : { commit: BigInt(fromPosition), prepare: BigInt(fromPosition) };
  }

  async readAll(options: ReadAllOptions = {}): Promise<EventEnvelope[]> {
    const out: EventEnvelope[] = [];
    const max = options.maxCount ?? 10_000;
    for await (const r of this.client.readAll({ direction: FORWARDS, fromPosition: EventStoreDbEventStore.readFrom(options.fromPosition), maxCount: max * 2 })) {
      const e = this.toEnvelope(r);
      if (e && e.position >= (options.fromPosition ?? 1)) out.push(e);
      if (out.length >= max) break;
    }
    if (options.verify ?? true) out.forEach(verifyEnvelope);
    return out;
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    const sub = this.client.subscribeToAll({
      fromPosition: EventStoreDbEventStore.readFrom(options.fromPosition),
      filter: excludeSystemEvents(),
    });
    const categories = options.filter?.categories;
    const types = options.filter?.types;
    const queue: SubscriptionMessage[] = [];
    let wake: (() => void) | undefined;
    let lastPosition = 0;
    let closed = false;
    sub.on('caughtUp', () => {
      queue.push({ kind: 'caughtUp', position: lastPosition });
      wake?.();
    });
    const toEnvelope = this.toEnvelope.bind(this);
    async function* run(): AsyncGenerator<SubscriptionMessage> {
      const iterator = sub[Symbol.asyncIterator]();
      let pendingNext = iterator.next();
      while (!closed) {
        while (queue.length > 0) yield queue.shift()!;
        const ready = await Promise.race([pendingNext.then((r) => ({ r })), new Promise<undefined>((res) => (wake = () => res(undefined)))]);
        if (!ready) continue;
        if (ready.r.done) return;
        pendingNext = iterator.next();
        const e = toEnvelope(ready.r.value);
        if (!e || e.position < (options.fromPosition ?? 1)) continue;
        lastPosition = e.position;
        if (categories && !categories.includes(parseStreamId(e.streamId).category)) continue;
        if (types && !types.includes(e.type)) continue;
        if (options.verify ?? true) verifyEnvelope(e);
        yield { kind: 'event', event: e };
      }
    }
    const it = run();
    return {
      [Symbol.asyncIterator]: () => it,
      close: async () => {
        closed = true;
        wake?.();
        await sub.unsubscribe();
        await it.return(undefined);
      },
    };
  }

  async headPosition(): Promise<number> {
    for await (const r of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 50 })) {
      const e = this.toEnvelope(r);
      if (e) return e.position;
    }
    return 0;
  }

  private identity: string | undefined;

  /**
   * The first event of a stream of its own, written by the first client that asks. It carries no
   * registo metadata, so reads and subscriptions of the log never show it.
   */
  async storeId(): Promise<string> {
    if (this.identity !== undefined) return this.identity;
    const read = async (): Promise<string | undefined> => {
      try {
        for await (const r of this.client.readStream(STORE_IDENTITY_STREAM, { direction: FORWARDS, fromRevision: START, maxCount: 1 })) {
          const data: unknown = r.event?.data;
          const id = isRecord(data) ? data.storeId : undefined;
          if (typeof id === 'string') return id;
        }
      } catch (e) {
        if (!(e instanceof StreamNotFoundError)) throw e;
      }
      return undefined;
    };
    let id = await read();
    if (id === undefined) {
      await this.client
        .appendToStream(STORE_IDENTITY_STREAM, jsonEvent({ type: 'StoreIdentified', data: { storeId: randomUUID() } }), { expectedRevision: NO_STREAM })
        .catch((e: unknown) => {
          // Another client recorded it first: theirs is the store's.
          if (!(e instanceof WrongExpectedVersionError)) throw e;
        });
      id = await read();
    }
    this.identity = id!;
    return this.identity;
  }

  async ping(): Promise<void> {
    await this.headPosition();
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}
