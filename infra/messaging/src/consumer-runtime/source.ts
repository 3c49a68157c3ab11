import type { Category, EventEnvelope } from '@registo/schemas';

/** Where a delivered message sits in its source: a Kafka topic partition, or the store's log ('$all', 0). */
export interface Coordinates {
  source: string;
  partition: number;
  offset: number;
}

export const coordinateKey = (c: Pick<Coordinates, 'source' | 'partition'>): string => `${c.source}#${c.partition}`;

/** A message as a consumer receives it: decoded, or the reason it could not be. */
export type Delivery =
  | { kind: 'event'; event: EventEnvelope; coordinates: Coordinates; raw?: RawMessage }
  | { kind: 'undecodable'; error: Error; coordinates: Coordinates; raw: RawMessage };

export interface RawMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface SourceSpec {
  /** Consumer name: the Kafka group is `registo-<name>`. */
  name: string;
  categories: readonly Category[];
  /** Last applied offset per coordinate key; the source starts after these where it can. */
  resumeFrom(): Promise<Map<string, number>>;
  /** Called with deliveries in order per partition; returns once they are durably handled. */
  handle(batch: Delivery[]): Promise<void>;
}

/**
 * Where consumers read the log (DESIGN §1): Kafka topics when deployed, the event store's
 * own subscription when embedded. The same consumer code runs on both.
 */
export interface EventSource {
  readonly kind: 'kafka' | 'store';
  run(spec: SourceSpec): Promise<void>;
  stop(): Promise<void>;
}
