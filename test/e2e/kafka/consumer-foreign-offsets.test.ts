import { expect } from 'chai';
import { ensureInfra } from '@registo/deploy';
import { type RunningPlatform, startPlatform } from '@registo/cli';
import { createLogger } from '@registo/base';
import { type EventStore, openEventStore } from '@registo/event-store';
import {
  EnvelopeCodec,
  KafkaDeadLetterSink,
  RetryingKafkaConsumer,
  consumerGroup,
  kafkaClient,
  storeOffsetMetadata,
} from '@registo/messaging';
import { loadConfig } from '@registo/config';
import { Mirror } from '@registo/producers';
import type { EventEnvelope } from '@registo/schemas';
import { createTestDatabase, enrollmentSubmitted, platformTestEnv, randomId, sql, testKafkaSettings, type TestDatabase } from '../../src/index.js';
import { waitFor } from './processes.js';
import { refusal } from '../../src/support/refusal.js';

const PROJECTOR = 'projector:enrollment_status';

async function append(store: EventStore, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const regId = randomId();
    await store.append(`enrollment-${regId}`, [enrollmentSubmitted(regId)], { expectedRevision: 'no_stream' });
  }
}

interface Readiness {
  status: number;
  body: { code?: string; detail?: string; workers?: Record<string, { state?: string; lastError?: { code: string; message: string } }> };
}

async function readyz(platform: RunningPlatform): Promise<Readiness> {
  const res = await fetch(`${platform.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Readiness['body'] };
}

/**
 * A topic prefix reused with a new database: a Kafka consumer must not resume from the group
 * offsets it committed for the old store and consume nothing. Its role stops, and /readyz says why.
 */
describe('Kafka consumers: group offsets of another store are refused', function () {
  this.timeout(300_000);
  const settings = testKafkaSettings('offsets');
  const dbs: TestDatabase[] = [];
  const stores: EventStore[] = [];
  const group = consumerGroup('enrollment_status', settings.prefix);
  const kafka = kafkaClient(settings, 'offsets-test');
  const admin = kafka.admin();

  const openStore = async (): Promise<{ db: TestDatabase; store: EventStore }> => {
    const db = await createTestDatabase('registo_offsets');
    dbs.push(db);
    const store = await openEventStore({ kind: 'postgres', url: db.url });
    stores.push(store);
    return { db, store };
  };
  const start = (db: TestDatabase, roles: string): Promise<RunningPlatform> =>
    startPlatform(
      loadConfig(
        platformTestEnv({
          databaseUrl: db.url,
          tokens: 'tok-officer:officer-3:identity_officer',
          label: 'offsets',
          extra: {
            REGISTO_SIMULATORS: 'off',
            REGISTO_ROLES: roles,
            KAFKA_BROKERS: settings.brokers.join(','),
            SCHEMA_REGISTRY_URL: settings.registryUrl,
            REGISTO_TOPIC_PREFIX: settings.prefix,
            REGISTO_TOPIC_PARTITIONS: String(settings.partitions),
          },
        }),
      ),
      createLogger('silent'),
    );
  const rows = async (db: TestDatabase): Promise<number> => Number((await sql(db.url, 'SELECT count(*) AS n FROM enrollment_status').catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n);
  const committed = async () => (await admin.fetchOffsets({ groupId: group, topics: [`${settings.prefix}.enrollment.v1`] }))[0]!.partitions.filter((p) => Number(p.offset) >= 0);

  /** Starts the projector on `db`'s store and waits until /readyz shows it failed; returns its error. */
  const refusedOn = async (db: TestDatabase): Promise<{ readiness: Readiness; rows: number }> => {
    const platform = await start(db, 'projector,api');
    try {
      let last: Readiness | undefined;
      await waitFor('the projector failed', async () => (last = await readyz(platform)).body.workers?.[PROJECTOR]?.state === 'failed', 60_000);
      return { readiness: last!, rows: await rows(db) };
    } finally {
      await platform.close();
    }
  };

  before(async () => {
    await ensureInfra();
    await admin.connect();
  });
  after(async () => {
    await admin.disconnect();
    for (const s of stores) await s.close().catch(() => undefined);
    for (const d of dbs) await d.drop();
  });

  it('store B on store A\'s prefix: CONSUMER_OFFSETS_FOREIGN, the role stays down and /readyz answers 503 naming it; offsets from before they named a store are checked by their events; store A resumes; without offsets, another store\'s events are refused', async () => {
    // Store A, its mirror and its projector: the group's offsets name store A (real broker).
    const a = await openStore();
    await append(a.store, 20);
    let platform = await start(a.db, 'mirror,projector,api');
    try {
      await waitFor('store A projected', async () => (await rows(a.db)) === 20, 120_000);
      const metadata = storeOffsetMetadata(await a.store.storeId());
      await waitFor('the offsets committed, naming store A', async () => {
        const ps = await committed();
        return ps.length > 0 && ps.reduce((n, p) => n + Number(p.offset), 0) >= 20 && ps.every((p) => p.metadata === metadata);
      }, 60_000);
    } finally {
      await platform.close();
    }

    // Store B, same prefix: refused by the store the offsets name; B's read model stays empty.
    const b = await openStore();
    await append(b.store, 5);
    const refused = await refusedOn(b.db);
    expect(refused.readiness.status).to.equal(503);
    expect(refused.readiness.body.code).to.equal('WORKER_DOWN');
    expect(refused.readiness.body.detail).to.include(`${PROJECTOR} failed (CONSUMER_OFFSETS_FOREIGN)`);
    const error = refused.readiness.body.workers![PROJECTOR]!.lastError!;
    expect(error.code).to.equal('CONSUMER_OFFSETS_FOREIGN');
    expect(error.message).to.include(`was made for store ${await a.store.storeId()}, and this store is ${await b.store.storeId()}`);
    expect(refused.rows).to.equal(0);

    // Offsets committed before offsets named a store (rewritten without metadata): the events they
    // follow are store A's, beyond B's head or not the events B holds there.
    const before = await committed();
    await admin.setOffsets({ groupId: group, topic: `${settings.prefix}.enrollment.v1`, partitions: before.map((p) => ({ partition: p.partition, offset: p.offset })) });
    expect((await committed()).every((p) => !p.metadata)).to.equal(true);
    const legacy = await refusedOn(b.db);
    expect(legacy.readiness.status).to.equal(503);
    expect(legacy.readiness.body.workers![PROJECTOR]!.lastError!.code).to.equal('CONSUMER_OFFSETS_FOREIGN');
    expect(legacy.readiness.body.workers![PROJECTOR]!.lastError!.message).to.match(/beyond this store's head \(5\)|and this store holds/);

    // Store A again: those same offsets follow its own events, so it resumes, and names itself again.
    await append(a.store, 10);
    platform = await start(a.db, 'mirror,projector,api');
    try {
      await waitFor('store A projected what came since', async () => (await rows(a.db)) === 30, 120_000);
      await waitFor('ready', async () => (await readyz(platform)).status === 200, 60_000);
      const metadata = storeOffsetMetadata(await a.store.storeId());
      await waitFor('the offsets name store A again', async () => (await committed()).some((p) => p.metadata === metadata), 60_000);
    } finally {
      await platform.close();
    }

    // No offsets at all (the group deleted): store B would read store A's events from the start;
    // the mirror's store-id header stops it at the first one, before anything is applied.
    await admin.deleteGroups([group]);
    const fresh = await refusedOn(b.db);
    expect(fresh.readiness.body.detail).to.include(`${PROJECTOR} failed (TOPIC_EVENTS_FOREIGN)`);
    expect(fresh.readiness.body.workers![PROJECTOR]!.lastError!.message).to.include(`was published by store ${await a.store.storeId()}, and this store is ${await b.store.storeId()}`);
    expect(fresh.rows).to.equal(0);
  });

  it('a retrying consumer (the sync role\'s) on store B: no call for store A\'s events (TOPIC_EVENTS_FOREIGN), and offsets naming store A refused at start', async () => {
    const prefixed = testKafkaSettings('offsets-retry');
    const a = await openStore();
    await append(a.store, 8);
    const mirror = new Mirror({ store: a.store, settings: prefixed, logger: createLogger('silent') });
    const mirroring = mirror.run();
    await waitFor('store A mirrored', async () => mirror.status().position === 8, 60_000);
    await mirror.stop();
    await mirroring;

    const calls: string[] = [];
    const handler = { name: 'outside', categories: ['enrollment'] as const, handle: async (e: EventEnvelope) => void calls.push(e.eventId) };
    const consumerOn = (store: EventStore): RetryingKafkaConsumer =>
      new RetryingKafkaConsumer(prefixed, new EnvelopeCodec(prefixed.registryUrl, prefixed.prefix), store, handler, new KafkaDeadLetterSink(prefixed), { delaysMs: [200] });

    // Store B, a group without offsets: stopped at store A's first message, before any call.
    const b = await openStore();
    const onB = consumerOn(b.store);
    await onB.run();
    const failure = await onB.whenFailed();
    await onB.stop();
    expect((failure as { code?: string }).code).to.equal('TOPIC_EVENTS_FOREIGN');
    expect(failure.message).to.include(`was published by store ${await a.store.storeId()}`);
    expect(calls).to.deep.equal([]);

    // Store A's own consumer handles all and commits naming A; store B is then refused at start.
    const onA = consumerOn(a.store);
    await onA.run();
    await waitFor('store A handled', async () => calls.length === 8, 60_000);
    await onA.stop();
    const refused = await refusal(consumerOn(b.store).run());
    expect(refused.code).to.equal('CONSUMER_OFFSETS_FOREIGN');
    expect(refused.message).to.include(`was made for store ${await a.store.storeId()}`);
  });
});
