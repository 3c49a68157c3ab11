import { openEventStore, type EventStore } from '@registo/event-store';
import { createTestDatabase, sql, type TestDatabase } from '../src/index.js';
import { eventStoreContract } from './event-store.contract.js';

let db: TestDatabase | undefined;

eventStoreContract({
  name: 'PostgreSQL',
  async open(): Promise<EventStore> {
    db = await createTestDatabase();
    return openEventStore({ kind: 'postgres', url: db.url });
  },
  // Each writer gets its own pool: as separate processes would, they meet only at the database lock.
  openAnother: () => openEventStore({ kind: 'postgres', url: db!.url, maxConnections: 3 }),
  async tamper(position: number): Promise<void> {
    await sql(db!.url, `UPDATE registo_events SET data = jsonb_set(data, '{regId}', to_jsonb(data->>'regId' || 'x')) WHERE position = $1`, [position]);
  },
  async cleanup(): Promise<void> {
    await db?.drop();
    db = undefined;
  },
});
