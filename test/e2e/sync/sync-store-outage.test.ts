import { expect } from 'chai';
import type { EventStore } from '@registo/event-store';
import { ResilientSyncPort, SyncHttpConnector } from '@registo/external';
import { createOutboundSync } from '@registo/consumers';
import { RegistoError } from '@registo/schemas';
import { type RunningSimulators, startSimulators } from '@registo/simulators';
import { type SyncWorld, expectedSyncId, openSyncWorld, pickPeople, seedIdentities, syncState } from '../../src/index.js';

/** The store, but the next append of a SyncSucceeded fails as a database outage would. */
function storeLosingNextSuccess(store: EventStore): EventStore & { armed: boolean } {
  const wrapped = Object.create(store) as EventStore & { armed: boolean };
  wrapped.armed = true;
  wrapped.append = async (streamId, events, options) => {
    if (wrapped.armed && events.some((e) => e.type === 'SyncSucceeded')) {
      wrapped.armed = false;
      throw new RegistoError('STORE_UNAVAILABLE', 'the event store is unavailable (57P01); retry later');
    }
    return store.append(streamId, events, options);
  };
  return wrapped;
}

describe('an outbound sync when our own database goes away mid-sync (PostgreSQL, SIGA simulator)', function () {
  this.timeout(60_000);
  let world: SyncWorld;
  let sims: RunningSimulators;

  before(async () => {
    world = await openSyncWorld();
    sims = await startSimulators({ sigaPort: 0, immigrationPort: 0 });
  });
  after(async () => {
    await sims?.close();
    await world?.close();
  });

  it('SIGA applied it but the success could not be recorded: no attempt is spent, nothing is dead-lettered, the redelivery records it once', async () => {
    const [person] = await seedIdentities(world, pickPeople(world.population, 'CITIZEN', 1).map((demographics) => ({ residency: 'CITIZEN' as const, demographics })));
    const store = storeLosingNextSuccess(world.store);
    const port = new ResilientSyncPort(new SyncHttpConnector('SIGA', { baseUrl: sims.sigaUrl, token: sims.token }));
    const sync = createOutboundSync('SIGA', { store, sealer: world.sealer, port, maxAttempts: 4 });
    const syncId = expectedSyncId('SIGA', person!.created);

    const first = await sync.handle(person!.created, 1).then(() => undefined, (e: unknown) => e);
    expect(first, 'the delivery stops, for the consumer to stop unadvanced').to.be.instanceOf(RegistoError);
    expect((first as RegistoError).code).to.equal('STORE_UNAVAILABLE');
    const between = await syncState(world.store, syncId);
    expect(between.state.status, 'not failed, not dead-lettered').to.equal('PENDING');
    expect(between.events.map((e) => e.type)).to.deep.equal(['SyncRequested']);

    // The consumer restarts and is handed the same event: SIGA answers from its idempotency key.
    await sync.handle(person!.created, 1);
    const after = await syncState(world.store, syncId);
    expect(after.state.status).to.equal('SUCCEEDED');
    expect(after.events.map((e) => e.type)).to.deep.equal(['SyncRequested', 'SyncSucceeded']);
    expect(sims.sigaLedger.stats.appliedByKey[person!.created.eventId], 'applied at SIGA once').to.equal(1);
  });
});
