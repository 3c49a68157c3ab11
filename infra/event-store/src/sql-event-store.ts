import { type EventEnvelope, type NewEvent, type UnpositionedEnvelope, RegistoError, WrongExpectedRevisionError, parseStreamId, verifyEnvelope } from '@registo/schemas';
import { AppendBatcher, type AppendOutcome, type AppendPayload } from './append-batcher.js';
import { pollingSubscription } from './polling-subscription.js';
import type { AppendOptions, AppendResult, EventStore, EventStoreInfo, ReadAllOptions, ReadStreamOptions, SubscribeOptions, Subscription, SubscriptionFilter } from './port.js';
import { describeExpectation, parseExpectedRevision, prepareAppend, reprepare, withPositions } from './prepare-append.js';
import { ChangeSignal, type SqlDriver } from './sql-driver.js';
import { EVENT_COLUMNS, EVENT_STORE_DDL } from './sql-schema.js';

interface EventRow {
  position: string | number;
  event_id: string;
  stream_id: string;
  revision: string | number;
  type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: EventEnvelope['metadata'];
  hash: string;
}

function toEnvelope(r: EventRow): EventEnvelope {
  return {
    eventId: r.event_id,
    streamId: r.stream_id,
    revision: Number(r.revision),
    position: Number(r.position),
    type: r.type,
    schemaVersion: Number(r.schema_version),
    data: r.data,
    metadata: r.metadata,
    hash: r.hash,
  };
}

function checkCount(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < 0) throw new RegistoError('READ_OPTIONS_INVALID', `${name} must be a whole number >= 0`, { [name]: v });
  return v;
}

export interface SqlEventStoreOptions {
  /** Most events per database call when combining concurrent appends. */
  maxBatchEvents?: number;
  /** Database calls under way at once. */
  maxInFlightAppends?: number;
  /** How many times an `any`/`stream_exists` append re-numbers itself after a concurrent write. */
  maxStaleRetries?: number;
}

/** The event store over PostgreSQL-compatible SQL (PostgreSQL itself, or PGlite). */
export class SqlEventStore implements EventStore {
  readonly info: EventStoreInfo;
  private readonly changes = new ChangeSignal();
  private readonly batcher: AppendBatcher;
  private unlisten: (() => Promise<void>) | undefined;
  private closed = false;
  private readonly subscriptions = new Set<Subscription>();
  private readonly maxStaleRetries: number;

  private constructor(
    private readonly driver: SqlDriver,
    options: SqlEventStoreOptions,
  ) {
    this.info = { adapter: driver.name, gapFreePositions: true };
    this.maxStaleRetries = options.maxStaleRetries ?? 100;
    this.batcher = new AppendBatcher((payloads) => this.executeAppends(payloads), {
      maxEvents: options.maxBatchEvents ?? 2000,
      maxInFlight: options.maxInFlightAppends ?? 2,
    });
  }

  /** Creates the tables if needed and starts listening for new events. */
  static async open(driver: SqlDriver, options: SqlEventStoreOptions = {}): Promise<SqlEventStore> {
    await driver.migrate(EVENT_STORE_DDL);
    const store = new SqlEventStore(driver, options);
    store.unlisten = await driver.listen('registo_events', () => store.changes.notify());
    return store;
  }

  private ensureOpen(): void {
    if (this.closed) throw new RegistoError('STORE_CLOSED', 'the event store is closed');
  }

  private async executeAppends(payloads: AppendPayload[]): Promise<AppendOutcome[]> {
    const rows = await this.driver.query<{
      idx: number;
      status: AppendOutcome['status'];
      actual_revision: string | number | null;
      first_position: string | number | null;
    }>('SELECT idx, status, actual_revision, first_position FROM registo_append($1::jsonb)', [JSON.stringify(payloads)]);
    const out: AppendOutcome[] = new Array(payloads.length);
    for (const r of rows) {
      out[Number(r.idx) - 1] = {
        status: r.status,
        actualRevision: r.actual_revision === null ? null : Number(r.actual_revision),
        firstPosition: r.first_position === null ? null : Number(r.first_position),
      };
    }
    return out;
  }

  private async currentRevision(streamId: string): Promise<number> {
    const rows = await this.driver.query<{ r: string | number }>(
      'SELECT coalesce(max(revision), -1) AS r FROM registo_events WHERE stream_id = $1',
      [streamId],
    );
    return Number(rows[0]!.r);
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    this.ensureOpen();
    const { category } = parseStreamId(streamId);
    const expectation = parseExpectedRevision(options?.expectedRevision);
    // Number the events from where the stream must be (or, for any/stream_exists, where it is now).
    let assumed =
      expectation.kind === 'exact' ? expectation.revision
      : expectation.kind === 'no_stream' ? -1
      : await this.currentRevision(streamId);
    let prepared: UnpositionedEnvelope[] = prepareAppend(streamId, events, assumed, new Date().toISOString());

    for (let attempt = 0; ; attempt++) {
      const outcome = await this.batcher
        .submit({ stream: streamId, category, kind: expectation.kind, assumed, events: prepared })
        .catch((e: unknown) => {
          throw e instanceof RegistoError
            ? e
            : new RegistoError('STORE_UNAVAILABLE', `append to ${streamId} failed: ${(e as Error).message}`, { streamId });
        });
      switch (outcome.status) {
        case 'ok':
          return appendResult(streamId, withPositions(prepared, outcome.firstPosition!), false);
        case 'duplicate':
          return appendResult(streamId, await this.readByIds(prepared.map((p) => p.eventId)), true);
        case 'reused':
          throw new RegistoError(
            'EVENT_ID_REUSED',
            `an event id of this append is already stored with other content or in another stream`,
            { streamId, eventIds: prepared.map((p) => p.eventId) },
          );
        case 'conflict': {
          const actual = outcome.actualRevision!;
          throw new WrongExpectedRevisionError(streamId, describeExpectation(expectation), actual < 0 ? 'no_stream' : actual);
        }
        case 'stale':
          if (attempt >= this.maxStaleRetries) {
            throw new RegistoError('STORE_UNAVAILABLE', `append to ${streamId} kept racing other writers`, { streamId });
          }
          assumed = outcome.actualRevision!;
          prepared = reprepare(streamId, prepared, assumed);
          break;
      }
    }
  }

  private async readByIds(ids: string[]): Promise<EventEnvelope[]> {
    const rows = await this.driver.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM registo_events WHERE event_id = ANY($1::uuid[]) ORDER BY position`,
      [ids],
    );
    return rows.map(toEnvelope);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<EventEnvelope[]> {
    this.ensureOpen();
    parseStreamId(streamId);
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
    const limit = checkCount('maxCount', options.maxCount, Number.MAX_SAFE_INTEGER);
    const rows = await this.driver.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM registo_events WHERE stream_id = $1 AND revision ${backwards ? '<=' : '>='} $2
       ORDER BY revision ${backwards ? 'DESC' : 'ASC'} LIMIT $3`,
      [streamId, from, limit],
    );
    return this.verified(rows.map(toEnvelope), options.verify);
  }

  async readAll(options: ReadAllOptions = {}): Promise<EventEnvelope[]> {
    this.ensureOpen();
    const from = Math.max(1, options.fromPosition ?? 1);
    const limit = checkCount('maxCount', options.maxCount, 10_000);
    const rows = await this.driver.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM registo_events WHERE position >= $1 ORDER BY position LIMIT $2`,
      [from, limit],
    );
    return this.verified(rows.map(toEnvelope), options.verify);
  }

  private verified(events: EventEnvelope[], verify: boolean | undefined): EventEnvelope[] {
    if (verify ?? true) for (const e of events) verifyEnvelope(e);
    return events;
  }

  private async readRange(from: number, to: number, maxCount: number, filter: SubscriptionFilter): Promise<EventEnvelope[]> {
    const rows = await this.driver.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM registo_events
        WHERE position >= $1 AND position <= $2
          AND ($3::text[] IS NULL OR category = ANY($3::text[]))
          AND ($4::text[] IS NULL OR type = ANY($4::text[]))
        ORDER BY position LIMIT $5`,
      [from, to, filter.categories ? [...filter.categories] : null, filter.types ? [...filter.types] : null, maxCount],
    );
    return rows.map(toEnvelope);
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    this.ensureOpen();
    const sub = pollingSubscription(
      { head: () => this.headPosition(), readRange: (f, t, m, fl) => this.readRange(f, t, m, fl), changes: this.changes },
      options,
    );
    this.subscriptions.add(sub);
    return {
      [Symbol.asyncIterator]: () => sub[Symbol.asyncIterator](),
      close: async () => {
        this.subscriptions.delete(sub);
        await sub.close();
      },
    };
  }

  async headPosition(): Promise<number> {
    const rows = await this.driver.query<{ position: string | number }>(
      'SELECT position FROM registo_log_head WHERE singleton',
    );
    return Number(rows[0]?.position ?? 0);
  }

  private identity: string | undefined;

  async storeId(): Promise<string> {
    this.ensureOpen();
    if (this.identity === undefined) {
      const [row] = await this.driver.query<{ store_id: string }>('SELECT store_id FROM registo_store_identity WHERE singleton');
      this.identity = row!.store_id;
    }
    return this.identity;
  }

  /** Answers while the database takes reads and writes; a store that refuses writes (disk full) is not ready. */
  async ping(): Promise<void> {
    const problem = this.driver.storageProblem?.();
    if (problem) throw problem;
    await this.driver.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    await this.unlisten?.();
    await this.driver.close();
  }
}

/** The result of an append whose events (new or, for a repeated append, already stored) are `stored`. */
function appendResult(streamId: string, stored: EventEnvelope[], idempotent: boolean): AppendResult {
  const last = stored[stored.length - 1]!;
  return { streamId, nextExpectedRevision: last.revision, position: last.position, events: stored, idempotent };
}
