import { expect } from 'chai';
import { ensureInfra } from '@registo/deploy';
import { type EventStore, createLogger, openEventStore } from '@registo/infra';
import { Mirror } from '@registo/producers';
import { RegistoError } from '@registo/schemas';
import { createTestDatabase, enrollmentSubmitted, randomId, testKafkaSettings, type TestDatabase } from '../../src/index.js';
import { waitFor } from './processes.js';

async function append(store: EventStore, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const regId = randomId();
    await store.append(`enrollment-${regId}`, [enrollmentSubmitted(regId)], { expectedRevision: 'no_stream' });
  }
}

/** Runs a mirror until it has committed `position`, then stops it. */
async function mirrorUpTo(store: EventStore, settings: ReturnType<typeof testKafkaSettings>, position: number): Promise<void> {
  const mirror = new Mirror({ store, settings, logger: createLogger('silent') });
  const running = mirror.run();
  await waitFor(`mirrored to ${position}`, async () => mirror.status().position >= position, 60_000);
  await mirror.stop();
  await running;
}

/**
 * A topic prefix reused with a new database: the mirror must refuse, naming why, instead of
 * resuming from the old store's checkpoint and mirroring nothing.
 */
describe('mirror: a checkpoint from another store is refused', function () {
  this.timeout(180_000);
  const dbs: TestDatabase[] = [];
  const stores: EventStore[] = [];
  const open = async (): Promise<EventStore> => {
    const db = await createTestDatabase('registo_foreign');
    dbs.push(db);
    const store = await openEventStore({ kind: 'postgres', url: db.url });
    stores.push(store);
    return store;
  };

  before(() => ensureInfra());
  after(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    for (const d of dbs) await d.drop();
  });

  it('beyond the new store\'s head, or naming another event at its position: MIRROR_CHECKPOINT_FOREIGN; the store\'s own checkpoint resumes', async () => {
    const settings = testKafkaSettings('foreign');
    const old = await open();
    await append(old, 30);
    await mirrorUpTo(old, settings, 30);

    const smaller = await open();
    await append(smaller, 5);
    const refusal = await new Mirror({ store: smaller, settings, logger: createLogger('silent') }).run().then(() => undefined, (e: unknown) => e);
    expect(refusal).to.be.instanceOf(RegistoError);
    expect((refusal as RegistoError).code).to.equal('MIRROR_CHECKPOINT_FOREIGN');
    expect((refusal as RegistoError).message).to.include('beyond this store\'s head (5)');

    const larger = await open();
    await append(larger, 40);
    const second = await new Mirror({ store: larger, settings, logger: createLogger('silent') }).run().then(() => undefined, (e: unknown) => e);
    expect((second as RegistoError).code).to.equal('MIRROR_CHECKPOINT_FOREIGN');
    expect((second as RegistoError).message).to.include('this store holds');

    // The old store, its own checkpoint: resumes and mirrors what came since.
    await append(old, 3);
    await mirrorUpTo(old, settings, 33);
  });
});
