import type { Kafka, Producer } from 'kafkajs';
import { kafkaClient, keyPartitioner } from '../kafka/client.js';
import type { Logger } from '@registo/base';
import type { SqlDriver } from '@registo/event-store';
import type { KafkaSettings } from '../kafka/settings.js';
import { dlqTopic } from '../kafka/topics.js';
import type { Coordinates, RawMessage } from './source.js';

export interface DeadLetter {
  consumer: string;
  coordinates: Coordinates;
  reason: string;
  attempts: number;
  eventId: string | null;
  type: string | null;
  raw: RawMessage | null;
}

/** Where a consumer puts what it could not process, so that it can move on and someone can redrive. */
export interface DeadLetterSink {
  send(letter: DeadLetter): Promise<void>;
  close(): Promise<void>;
}

/**
 * `registo.<consumer>.dlq`: the original key and value, the original headers, and the
 * reason, attempt count and source coordinates in `dlq-*` headers.
 */
export class KafkaDeadLetterSink implements DeadLetterSink {
  private producer: Producer | undefined;
  private readonly kafka: Kafka;

  constructor(
    private readonly settings: KafkaSettings,
    logger?: Logger,
  ) {
    this.kafka = kafkaClient(settings, 'dlq', logger);
  }

  async send(l: DeadLetter): Promise<void> {
    if (!this.producer) {
      this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: keyPartitioner });
      await this.producer.connect();
    }
    await this.producer.send({
      topic: dlqTopic(l.consumer, this.settings.prefix),
      messages: [
        {
          key: l.raw?.key ?? null,
          value: l.raw?.value ?? null,
          headers: {
            ...(l.raw?.headers ?? {}),
            'dlq-consumer': l.consumer,
            'dlq-reason': l.reason.slice(0, 2000),
            'dlq-attempts': String(l.attempts),
            'dlq-source-topic': l.coordinates.source,
            'dlq-source-partition': String(l.coordinates.partition),
            'dlq-source-offset': String(l.coordinates.offset),
            'dlq-at': new Date().toISOString(),
          },
        },
      ],
    });
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }
}

export const DEAD_LETTER_DDL = `
CREATE TABLE IF NOT EXISTS registo_dead_letters (
  id bigserial PRIMARY KEY,
  consumer text NOT NULL,
  source text NOT NULL,
  partition int NOT NULL,
  "offset" bigint NOT NULL,
  event_id uuid,
  type text,
  reason text NOT NULL,
  attempts int NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);`;

/** The embedded form (no Kafka): dead letters in a table beside the log. */
export class SqlDeadLetterSink implements DeadLetterSink {
  private migrated: Promise<void> | undefined;

  constructor(private readonly driver: SqlDriver) {}

  async send(l: DeadLetter): Promise<void> {
    // Created once per sink; a failed attempt is forgotten so the next letter tries again.
    await (this.migrated ??= this.driver.migrate(DEAD_LETTER_DDL).catch((e: unknown) => {
      this.migrated = undefined;
      throw e;
    }));
    await this.driver.query(
      'INSERT INTO registo_dead_letters (consumer, source, partition, "offset", event_id, type, reason, attempts) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)',
      [l.consumer, l.coordinates.source, l.coordinates.partition, l.coordinates.offset, l.eventId, l.type, l.reason, l.attempts],
    );
  }

  async close(): Promise<void> {}
}
