import { isStoreUnavailable } from '@registo/event-store';
import type { SqlDriver } from '@registo/event-store';
import type { Logger } from '@registo/base';
import type { DeadLetterSink } from './dead-letters.js';
import type { OutsideWorldHandler } from './retrying-consumer.js';
import { OffsetConsumer, storedOffsets } from './consumer-common.js';
import { CONSUMER_OFFSETS_DDL } from './sql-consumer.js';
import { type Delivery, type EventSource, coordinateKey } from './source.js';

export interface StreamParallelOptions {
  /** Streams handled at the same time within a batch (events of one stream stay in order). */
  concurrency?: number;
  /** Attempts per event before it is dead-lettered (default: one more than `retryDelaysMs` has steps, else 5). */
  maxAttempts?: number;
  /** First wait of the exponential backoff (doubling), used when `retryDelaysMs` is not given. */
  retryDelayMs?: number;
  /**
   * The waits between attempts, in order (the last repeats): the same schedule as a retry-topic
   * consumer's `delaysMs`, so that the embedded form retries when the Kafka form would.
   */
  retryDelaysMs?: readonly number[];
  /** How to wait between attempts (tests record the schedule instead of sleeping through it). */
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
}

export interface StreamParallelStats {
  handled: number;
  skipped: number;
  deadLettered: number;
  batches: number;
}

/**
 * At-least-once delivery to a handler whose effects are outside the consumer's database
 * (commands appended to the event store, calls to other systems), so they cannot commit
 * with the offsets: the handler must be idempotent, and is (DESIGN §3: event ids and
 * deterministic command ids). Within a batch, events of different streams run in parallel
 * and events of one stream in order; the offsets move only after the whole batch is done.
 */
export class StreamParallelConsumer extends OffsetConsumer<OutsideWorldHandler, StreamParallelOptions> {
  readonly stats: StreamParallelStats = { handled: 0, skipped: 0, deadLettered: 0, batches: 0 };

  constructor(db: SqlDriver, handler: OutsideWorldHandler, source: EventSource, deadLetters: DeadLetterSink, options: StreamParallelOptions = {}) {
    super(db, handler, source, deadLetters, options);
  }

  protected async prepare(): Promise<void> {
    await this.db.migrate(CONSUMER_OFFSETS_DDL);
  }

  protected async handle(batch: Delivery[]): Promise<void> {
    this.stats.batches++;
    const stored = await storedOffsets(this.db, this.handler.name);
    const byStream = new Map<string, Delivery[]>();
    for (const d of batch) {
      if (d.coordinates.offset <= (stored.get(coordinateKey(d.coordinates)) ?? -1)) {
        this.stats.skipped++;
        continue;
      }
      const key = d.kind === 'event' ? d.event.streamId : `undecodable#${coordinateKey(d.coordinates)}#${d.coordinates.offset}`;
      byStream.set(key, [...(byStream.get(key) ?? []), d]);
    }
    const queues = [...byStream.values()];
    const workers = Array.from({ length: Math.min(this.options.concurrency ?? 16, queues.length) }, async () => {
      for (let q = queues.shift(); q; q = queues.shift()) {
        for (const d of q) await this.deliver(d);
      }
    });
    await Promise.all(workers);
    await this.advance(batch);
  }

  private async deliver(d: Delivery): Promise<void> {
    if (d.kind === 'undecodable') return this.deadLetter(d, d.error.message, 1);
    const schedule = this.options.retryDelaysMs;
    const maxAttempts = this.options.maxAttempts ?? (schedule?.length ? schedule.length + 1 : 5);
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const delayAfter = (attempt: number): number =>
      schedule?.length ? schedule[Math.min(attempt, schedule.length) - 1]! : (this.options.retryDelayMs ?? 200) * 2 ** (attempt - 1);
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        await this.handler.handle(d.event, attempt);
        this.stats.handled++;
        return;
      } catch (e) {
        lastError = e;
        // The database away is not this event's fault: stop, unadvanced, so that the
        // supervisor starts again once it is back, instead of spending the event's attempts.
        if (this.stopping || isStoreUnavailable(e)) throw e;
        this.options.logger?.warn({ consumer: this.handler.name, eventId: d.event.eventId, type: d.event.type, attempt, err: e }, 'handler failed');
        if (attempt < maxAttempts) await sleep(delayAfter(attempt));
      }
    }
    await this.deadLetter(d, (lastError as Error)?.message ?? String(lastError), maxAttempts);
  }

  private async deadLetter(d: Delivery, reason: string, attempts: number): Promise<void> {
    await this.sendDeadLetter(d, reason, attempts);
    this.stats.deadLettered++;
  }

  private async advance(batch: Delivery[]): Promise<void> {
    const last = new Map<string, Delivery['coordinates']>();
    for (const d of batch) {
      const key = coordinateKey(d.coordinates);
      if (d.coordinates.offset > (last.get(key)?.offset ?? -1)) last.set(key, d.coordinates);
    }
    for (const c of last.values()) {
      await this.db.query(
        `INSERT INTO registo_consumer_offsets (consumer, source, partition, "offset") VALUES ($1, $2, $3, $4)
         ON CONFLICT (consumer, source, partition) DO UPDATE SET "offset" = GREATEST(registo_consumer_offsets."offset", EXCLUDED."offset"), updated_at = now()`,
        [this.handler.name, c.source, c.partition, c.offset],
      );
    }
  }
}
