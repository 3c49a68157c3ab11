import { expect } from 'chai';
import { PostgresDriver, SqlEventStore } from '@registo/event-store';
import { adjudicationQueueProjection, enrollmentStatusProjection, identityRegistryProjection, replayProjection } from '@registo/projections';
import { type TestDatabase, createTestDatabase, expectLogIntact, lifecycle, randomId, sql } from '../src/index.js';

/** The message of the assertion `p` fails with (the test fails if it passes). */
async function failure(p: Promise<void>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expectLogIntact passed on a log that is not intact');
}

/**
 * The end-of-test check of the crash and outage tests must be able to fail: each thing it
 * checks is broken in turn on PostgreSQL, and it says which.
 */
describe('expectLogIntact: the end-of-test check of crash and outage tests', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let driver: PostgresDriver;
  let store: SqlEventStore;
  const final = Array.from({ length: 4 }, () => randomId());
  const submitted = randomId();
  const projections = [enrollmentStatusProjection, identityRegistryProjection, adjudicationQueueProjection];
  const project = async (): Promise<void> => {
    for (const p of projections) await replayProjection(store, driver, p);
  };

  before(async () => {
    db = await createTestDatabase('registo_log_intact');
    driver = new PostgresDriver({ connectionString: db.url, maxConnections: 2 });
    store = await SqlEventStore.open(driver);
    for (const [i, id] of final.entries()) await store.append(`enrollment-${id}`, lifecycle(id, 7, i % 2 ? 'approve' : 'reject'), { expectedRevision: 'no_stream' });
    await store.append(`enrollment-${submitted}`, lifecycle(submitted, 2, 'approve'), { expectedRevision: 'no_stream' });
    // The read models a live platform would keep.
    await project();
  });
  after(async () => {
    await store?.close();
    await db?.drop();
  });

  it('passes on an intact log', async () => {
    await expectLogIntact({ db: driver, store, acceptedRegIds: final, ledgers: { SIGA: { appliedByKey: { a: 1, b: 1 } } } });
    await expectLogIntact({ db: db.url, store, readModels: false });
  });

  it('fails on an accepted packet that is not final, and on an update applied twice', async () => {
    expect(await failure(expectLogIntact({ db: driver, store, acceptedRegIds: [...final, submitted] }))).to.include('every accepted packet in a final state');
    expect(await failure(expectLogIntact({ db: driver, store, ledgers: { SIGA: { appliedByKey: { a: 1, b: 2 } } } }))).to.include('SIGA: no update applied twice');
  });

  it('fails on a read model that is not a replay of the log', async () => {
    await sql(db.url, "UPDATE enrollment_status SET status = 'APPROVED' WHERE reg_id = $1", [submitted]);
    try {
      expect(await failure(expectLogIntact({ db: driver, store, catchUpMs: 0 }))).to.include('the read models equal a replay of the log');
    } finally {
      await project();
    }
  });

  it('fails on a position held twice, a position missing, and an event changed', async () => {
    const keys = (await sql(db.url, "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'registo_events'::regclass AND contype IN ('p', 'u')")).rows as Array<{ conname: string; def: string }>;
    for (const k of keys) await sql(db.url, `ALTER TABLE registo_events DROP CONSTRAINT ${k.conname}`);
    await sql(db.url, 'INSERT INTO registo_events SELECT * FROM registo_events WHERE position = 5');
    expect(await failure(expectLogIntact({ db: driver, store, readModels: false }))).to.include('positions unique');
    await sql(db.url, 'DELETE FROM registo_events WHERE ctid = (SELECT max(ctid) FROM registo_events WHERE position = 5)');
    for (const k of keys) await sql(db.url, `ALTER TABLE registo_events ADD CONSTRAINT ${k.conname} ${k.def}`);

    const [saved] = (await sql(db.url, 'SELECT data::text AS data FROM registo_events WHERE position = 9')).rows as Array<{ data: string }>;
    await sql(db.url, 'UPDATE registo_events SET position = -9 WHERE position = 9');
    expect(await failure(expectLogIntact({ db: driver, store, readModels: false }))).to.include('positions gap-free');
    await sql(db.url, 'UPDATE registo_events SET position = 9 WHERE position = -9');

    await sql(db.url, `UPDATE registo_events SET data = jsonb_set(data, '{regId}', '"changed"') WHERE position = 9`);
    expect(await failure(expectLogIntact({ db: driver, store, readModels: false }))).to.match(/audit verification: 1 findings, first .*"event-hash"/);
    await sql(db.url, 'UPDATE registo_events SET data = $1::jsonb WHERE position = 9', [saved!.data]);
    await expectLogIntact({ db: driver, store, acceptedRegIds: final });
  });
});
