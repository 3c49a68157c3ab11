import { openEventStore } from '@registo/event-store';
import { eventStoreContract } from './event-store.contract.js';

// No EventStoreDB / KurrentDB node runs in this project's CI; point EVENTSTORE_URL at one
// (e.g. esdb://127.0.0.1:2113?tls=false) to run the same contract against it.
const url = process.env.EVENTSTORE_URL;

if (url) {
  eventStoreContract({
    name: 'EventStoreDB',
    open: () => openEventStore({ kind: 'eventstoredb', url }),
    openAnother: () => openEventStore({ kind: 'eventstoredb', url }),
    async cleanup() {},
    concurrency: { writers: 16, events: 2_000 },
  });
} else {
  describe('event store contract: EventStoreDB', () => {
    it('runs only when EVENTSTORE_URL is set');
  });
}
