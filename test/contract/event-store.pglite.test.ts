import { PGliteDriver, SqlEventStore, type EventStore } from '@registo/event-store';
import { eventStoreContract } from './event-store.contract.js';

let driver: PGliteDriver | undefined;

eventStoreContract({
  name: 'PGlite (embedded)',
  async open(): Promise<EventStore> {
    driver = await PGliteDriver.open();
    return SqlEventStore.open(driver);
  },
  async tamper(position: number): Promise<void> {
    await driver!.db.query(`UPDATE registo_events SET data = jsonb_set(data, '{regId}', to_jsonb(data->>'regId' || 'x')) WHERE position = $1`, [position]);
  },
  async cleanup(): Promise<void> {
    driver = undefined;
  },
});
