import type { EventStore } from './port.js';
import { PGliteDriver } from './pglite-driver.js';
import { PostgresDriver } from './postgres-driver.js';
import { SqlEventStore, type SqlEventStoreOptions } from './sql-event-store.js';

export type EventStoreTarget =
  | { kind: 'postgres'; url: string; maxConnections?: number }
  | { kind: 'pglite'; dataDir?: string; diskReserveBytes?: number; stallMs?: number }
  | { kind: 'eventstoredb'; url: string };

import type { SqlDriver } from './sql-driver.js';

/** The SQL database behind a SQL target (consumers keep their read models and offsets there too). */
export async function openSqlDriver(target: Exclude<EventStoreTarget, { kind: 'eventstoredb' }>): Promise<SqlDriver> {
  return target.kind === 'postgres'
    ? new PostgresDriver({ connectionString: target.url, maxConnections: target.maxConnections ?? 10 })
    : PGliteDriver.open(target.dataDir, target);
}

/** Opens the store an operator configured: the one place that knows every adapter. */
export async function openEventStore(target: EventStoreTarget, options: SqlEventStoreOptions = {}): Promise<EventStore> {
  switch (target.kind) {
    case 'postgres':
      return SqlEventStore.open(
        new PostgresDriver({ connectionString: target.url, maxConnections: target.maxConnections ?? 10 }),
        options,
      );
    case 'pglite':
      return SqlEventStore.open(await PGliteDriver.open(target.dataDir, target), options);
    case 'eventstoredb':
      // Loaded here only: the SQL stores never load the EventStoreDB client.
      return new (await import('./eventstoredb-event-store.js')).EventStoreDbEventStore(target.url);
  }
}
