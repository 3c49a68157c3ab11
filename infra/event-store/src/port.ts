import type { EventEnvelope, NewEvent } from '@registo/schemas';

/**
 * Where the stream must be for an append to go through:
 * - `any`: wherever it is (created if missing);
 * - `no_stream`: it must not exist yet;
 * - `stream_exists`: it must have at least one event;
 * - a number: its last event must have exactly this revision (0-based).
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface AppendOptions {
  expectedRevision: ExpectedRevision;
}

export interface AppendResult {
  streamId: string;
  /** Revision of the last event now in the stream. */
  nextExpectedRevision: number;
  /** Global position of the last appended event. */
  position: number;
  /** The stored envelopes (with positions). */
  events: EventEnvelope[];
  /** True when every eventId was already stored and nothing new was written. */
  idempotent: boolean;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive; defaults to the start (forwards) or the end (backwards). */
  fromRevision?: number;
  maxCount?: number;
  /** Recompute every hash and fail with IntegrityError on a mismatch (default true). */
  verify?: boolean;
}

export interface ReadAllOptions {
  /** Inclusive, 1-based; default 1. */
  fromPosition?: number;
  maxCount?: number;
  verify?: boolean;
}

export interface SubscriptionFilter {
  categories?: readonly string[];
  types?: readonly string[];
}

export interface SubscribeOptions {
  /** Inclusive, 1-based; default 1 (the whole log). */
  fromPosition?: number;
  filter?: SubscriptionFilter;
  verify?: boolean;
  /** Events fetched per read while catching up. */
  batchSize?: number;
}

export type SubscriptionMessage =
  | { kind: 'event'; event: EventEnvelope }
  /** Everything up to `position` (the head when the catch-up read ended) has been delivered. */
  | { kind: 'caughtUp'; position: number };

export interface Subscription extends AsyncIterable<SubscriptionMessage> {
  close(): Promise<void>;
}

/** Adapter capabilities that the contract suite adapts to, and the docs state. */
export interface EventStoreInfo {
  adapter: 'postgres' | 'pglite' | 'eventstoredb';
  /** Positions are 1, 2, 3, ... with no gap, in the order subscribers see them. */
  gapFreePositions: boolean;
}

/** The source of truth (DESIGN §2). All adapters pass test/contract/event-store.contract. */
export interface EventStore {
  readonly info: EventStoreInfo;
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<EventEnvelope[]>;
  readAll(options?: ReadAllOptions): Promise<EventEnvelope[]>;
  subscribe(options?: SubscribeOptions): Subscription;
  /** Position of the last event in the log (0 when empty). */
  headPosition(): Promise<number>;
  /**
   * The store's identity: a random id recorded once when the store was created, never changed.
   * The mirror's checkpoint and every Kafka consumer's committed offsets carry it (docs/kafka.md).
   */
  storeId(): Promise<string>;
  /** Ready to serve (connected, schema in place). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
