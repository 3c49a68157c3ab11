import type { Category, EventEnvelope } from '@registo/schemas';
import { isStoreUnavailable } from '@registo/event-store';
import type { Logger } from '@registo/base';
import type { SqlDriver, SqlTx } from '@registo/event-store';
import type { DeadLetterSink } from './dead-letters.js';
import { OffsetConsumer, storedOffsets } from './consumer-common.js';
import { type Delivery, type EventSource, coordinateKey } from './source.js';

export const CONSUMER_OFFSETS_DDL = `
CREATE TABLE IF NOT EXISTS registo_consumer_offsets (
  consumer text NOT NULL,
  source text NOT NULL,
  partition int NOT NULL,
  "offset" bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, source, partition)
);`;

/** A consumer whose effects are rows in PostgreSQL (or PGlite): they commit together with its offsets. */
export interface SqlHandler {
  name: string;
  categories: readonly Category[];
  /** DDL for the handler's own tables (idempotent). */
  ddl: string;
  /** Applies one event inside the consumer's transaction. */
  apply(tx: SqlTx, event: EventEnvelope): Promise<void>;
}

export interface SqlConsumerOptions {
  /** Attempts per message, once a batch has failed, before it is dead-lettered. */
  maxAttempts?: number;
  retryDelayMs?: number;
  logger?: Logger;
}

export interface SqlConsumerStats {
  applied: number;
  skipped: number;
  deadLettered: number;
}

/**
 * Runs a SqlHandler on an EventSource, exactly once: each batch is one transaction that locks
 * the consumer's offset rows, drops deliveries at or below them (a redelivery after a crash),
 * applies the rest and moves the offsets. If the batch fails, each delivery is retried alone
 * up to `maxAttempts`; one that still fails (or cannot be decoded) goes to the dead-letter
 * sink, its offset is moved past it, and the consumer continues.
 */
export class SqlConsumer extends OffsetConsumer<SqlHandler, SqlConsumerOptions> {
  readonly stats: SqlConsumerStats = { applied: 0, skipped: 0, deadLettered: 0 };

  constructor(db: SqlDriver, handler: SqlHandler, source: EventSource, deadLetters: DeadLetterSink, options: SqlConsumerOptions = {}) {
    super(db, handler, source, deadLetters, options);
  }

  async migrate(): Promise<void> {
    await this.db.migrate(CONSUMER_OFFSETS_DDL);
    await this.db.migrate(this.handler.ddl);
  }

  protected prepare(): Promise<void> {
    return this.migrate();
  }

  private async inTransaction(deliveries: Delivery[], onlyAdvance = false): Promise<void> {
    const counts = await this.db.transaction(async (tx) => {
      const stored = await storedOffsets(tx, this.handler.name, true);
      const moved = new Map<string, Delivery['coordinates']>();
      let applied = 0;
      let skipped = 0;
      for (const d of deliveries) {
        const key = coordinateKey(d.coordinates);
        if (d.coordinates.offset <= (stored.get(key) ?? -1)) {
          skipped++;
          continue;
        }
        if (!onlyAdvance) {
          if (d.kind === 'undecodable') throw d.error;
          await this.handler.apply(tx, d.event);
          applied++;
        }
        stored.set(key, d.coordinates.offset);
        moved.set(key, d.coordinates);
      }
      for (const c of moved.values()) {
        await tx.query(
          `INSERT INTO registo_consumer_offsets (consumer, source, partition, "offset") VALUES ($1, $2, $3, $4)
           ON CONFLICT (consumer, source, partition) DO UPDATE SET "offset" = EXCLUDED."offset", updated_at = now()`,
          [this.handler.name, c.source, c.partition, c.offset],
        );
      }
      return { applied, skipped };
    });
    this.stats.applied += counts.applied;
    this.stats.skipped += counts.skipped;
  }

  protected async handle(batch: Delivery[]): Promise<void> {
    try {
      await this.inTransaction(batch);
      return;
    } catch (e) {
      // The database away is not the batch's fault: stop, unadvanced; the supervisor restarts.
      if (isStoreUnavailable(e)) throw e;
      if (batch.length === 1 && batch[0]!.kind === 'undecodable') {
        await this.deadLetter(batch[0]!, (e as Error).message, 1);
        return;
      }
      this.options.logger?.warn({ consumer: this.handler.name, err: e }, 'batch failed; retrying one by one');
    }
    const maxAttempts = this.options.maxAttempts ?? 3;
    for (const d of batch) {
      let lastError: unknown;
      let attempts = 0;
      if (d.kind === 'event') {
        for (attempts = 1; attempts <= maxAttempts; attempts++) {
          try {
            await this.inTransaction([d]);
            lastError = undefined;
            break;
          } catch (e) {
            if (isStoreUnavailable(e)) throw e;
            lastError = e;
            if (attempts < maxAttempts) await new Promise((r) => setTimeout(r, (this.options.retryDelayMs ?? 100) * attempts));
          }
        }
        if (lastError === undefined) continue;
        attempts = maxAttempts;
      } else {
        lastError = d.error;
        attempts = 1;
      }
      await this.deadLetter(d, (lastError as Error)?.message ?? String(lastError), attempts);
    }
  }

  private async deadLetter(d: Delivery, reason: string, attempts: number): Promise<void> {
    const stored = await storedOffsets(this.db, this.handler.name);
    if (d.coordinates.offset <= (stored.get(coordinateKey(d.coordinates)) ?? -1)) return;
    await this.sendDeadLetter(d, reason, attempts);
    await this.inTransaction([d], true);
    this.stats.deadLettered++;
  }
}
