import { expect } from 'chai';
import { ensureInfra } from '@registo/deploy';
import { createLogger } from '@registo/base';
import { type EventStore, openEventStore } from '@registo/event-store';
import { consumerGroup, kafkaClient, mirrorCheckpointTopic, storeOffsetMetadata } from '@registo/messaging';
import { Mirror } from '@registo/producers';
import { createTestDatabase, enrollmentSubmitted, randomId, testKafkaSettings, type TestDatabase } from '../../src/index.js';
import { refusal } from '../../src/support/refusal.js';
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

  it('naming another store, or (before checkpoints named one) beyond the new store\'s head or naming another event at its position: MIRROR_CHECKPOINT_FOREIGN; the store\'s own checkpoint resumes', async () => {
    const settings = testKafkaSettings('foreign');
    const admin = kafkaClient(settings, 'foreign-test').admin();
    await admin.connect();
    const groupId = consumerGroup('mirror', settings.prefix);
    const topic = mirrorCheckpointTopic(settings.prefix);
    const checkpoint = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions.find((p) => p.partition === 0)!;
    try {
      const old = await open();
      await append(old, 30);
      await mirrorUpTo(old, settings, 30);
      // The transactional offset commit carries the store's identity (the real broker keeps it).
      expect(await checkpoint()).to.include({ offset: '31', metadata: storeOffsetMetadata(await old.storeId()) });

      const smaller = await open();
      await append(smaller, 5);
      const named = await refusal(new Mirror({ store: smaller, settings, logger: createLogger('silent') }).run());
      expect(named.code).to.equal('MIRROR_CHECKPOINT_FOREIGN');
      expect(named.message).to.include(`was made for store ${await old.storeId()}, and this store is ${await smaller.storeId()}`);

      // A checkpoint committed before commits named their store: its position and last record decide.
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '31' }] });
      expect((await checkpoint()).metadata).to.equal(null);
      const beyond = await refusal(new Mirror({ store: smaller, settings, logger: createLogger('silent') }).run());
      expect(beyond.code).to.equal('MIRROR_CHECKPOINT_FOREIGN');
      expect(beyond.message).to.include('beyond this store\'s head (5)');

      const larger = await open();
      await append(larger, 40);
      const other = await refusal(new Mirror({ store: larger, settings, logger: createLogger('silent') }).run());
      expect(other.code).to.equal('MIRROR_CHECKPOINT_FOREIGN');
      expect(other.message).to.include('this store holds');

      // The old store, its own checkpoint: resumes and mirrors what came since, naming itself again.
      await append(old, 3);
      await mirrorUpTo(old, settings, 33);
      expect(await checkpoint()).to.include({ offset: '34', metadata: storeOffsetMetadata(await old.storeId()) });
    } finally {
      await admin.disconnect();
    }
  });
});
