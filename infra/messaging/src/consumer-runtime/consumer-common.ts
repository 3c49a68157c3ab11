import type { Logger } from '@registo/base';
import type { Category } from '@registo/schemas';
import type { SqlDriver, SqlTx } from '@registo/event-store';
import type { DeadLetterSink } from './dead-letters.js';
import { type Delivery, type EventSource, coordinateKey } from './source.js';

/** The offsets a consumer has stored, by coordinate key; `lock` holds the rows for the caller's transaction. */
export async function storedOffsets(client: SqlTx, consumer: string, lock = false): Promise<Map<string, number>> {
  const rows = await client.query<{ source: string; partition: number; offset: string }>(
    `SELECT source, partition, "offset" FROM registo_consumer_offsets WHERE consumer = $1${lock ? ' FOR UPDATE' : ''}`,
    [consumer],
  );
  return new Map(rows.map((row) => [coordinateKey(row), Number(row.offset)]));
}

/** Hands a delivery that cannot be handled to the dead-letter sink, with what is known of the event. */
async function sendDeadLetter(
  sink: DeadLetterSink,
  logger: Logger | undefined,
  letter: { consumer: string; delivery: Delivery; reason: string; attempts: number },
): Promise<void> {
  const { consumer, delivery: d, reason, attempts } = letter;
  logger?.error({ consumer, coordinates: d.coordinates, reason, attempts }, 'dead-lettered');
  await sink.send({
    consumer,
    coordinates: d.coordinates,
    reason,
    attempts,
    eventId: d.kind === 'event' ? d.event.eventId : (d.raw.headers['event-id'] ?? null),
    type: d.kind === 'event' ? d.event.type : (d.raw.headers.type ?? null),
    raw: d.raw ?? null,
  });
}

/**
 * What both offset-keeping consumers share: their parts, and run/stop. `run` prepares (the
 * offsets table and any DDL), then, unless stopped meanwhile, reads the source from the stored
 * offsets until it stops.
 */
export abstract class OffsetConsumer<H extends { name: string; categories: readonly Category[] }, O extends { logger?: Logger }> {
  protected stopping = false;

  constructor(
    protected readonly db: SqlDriver,
    protected readonly handler: H,
    protected readonly source: EventSource,
    protected readonly deadLetters: DeadLetterSink,
    protected readonly options: O,
  ) {}

  protected abstract prepare(): Promise<void>;
  protected abstract handle(batch: Delivery[]): Promise<void>;

  async run(): Promise<void> {
    await this.prepare();
    if (this.stopping) return;
    await this.source.run({
      name: this.handler.name,
      categories: this.handler.categories,
      resumeFrom: () => storedOffsets(this.db, this.handler.name),
      handle: (batch) => this.handle(batch),
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.source.stop();
  }

  protected sendDeadLetter(d: Delivery, reason: string, attempts: number): Promise<void> {
    return sendDeadLetter(this.deadLetters, this.options.logger, { consumer: this.handler.name, delivery: d, reason, attempts });
  }
}
