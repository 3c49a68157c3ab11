import { expect } from 'chai';
import { PostgresDriver, isStoreUnavailable } from '@registo/event-store';
import { RegistoError } from '@registo/schemas';
import { type TestDatabase, createTestDatabase, sql } from '../src/index.js';

/** Ends every session of the test database but the caller's, as a restart or failover would. */
async function terminateSessions(db: TestDatabase): Promise<number> {
  const r = await sql(db.url, 'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
  return (r.rows[0] as { n: number }).n;
}

describe('PostgreSQL driver when the server ends its sessions (57P01)', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let driver: PostgresDriver;

  beforeEach(async () => {
    db = await createTestDatabase('registo_outage');
    driver = new PostgresDriver({ connectionString: db.url, maxConnections: 4 });
    await driver.query('CREATE TABLE t (n int)');
  });
  afterEach(async () => {
    await driver.close().catch(() => undefined);
    await db.drop();
  });

  it('a transaction holding a connection fails with the retryable STORE_UNAVAILABLE; the process lives and the next one commits', async () => {
    let inside!: () => void;
    const held = new Promise<void>((r) => (inside = r));
    const tx = driver.transaction(async (t) => {
      await t.query('INSERT INTO t VALUES (1)');
      inside();
      await t.query('SELECT pg_sleep(5)');
    }).then(() => undefined, (e: unknown) => e);
    await held;
    expect(await terminateSessions(db)).to.be.greaterThan(0);
    const failure = await tx;
    expect(failure).to.be.instanceOf(RegistoError);
    expect((failure as RegistoError).code).to.equal('STORE_UNAVAILABLE');
    expect((failure as RegistoError).status).to.equal(503);
    // The broken connection went back to the pool as broken: the next transaction gets a live one.
    await driver.transaction(async (t) => {
      await t.query('INSERT INTO t VALUES (2)');
    });
    expect(await driver.query<{ n: number }>('SELECT n FROM t ORDER BY n')).to.deep.equal([{ n: 2 }]);
  });

  it('idle pooled connections ended by the server are replaced without an error reaching the caller twice', async () => {
    await Promise.all([1, 2, 3].map((n) => driver.query('INSERT INTO t VALUES ($1)', [n])));
    await terminateSessions(db);
    await new Promise((r) => setTimeout(r, 200));
    // At most the first use of a dead idle connection fails, and then as an outage.
    const first = await driver.query('SELECT count(*)::int AS c FROM t').then((rows) => rows, (e: unknown) => e);
    if (!Array.isArray(first)) expect(isStoreUnavailable(first), String(first)).to.equal(true);
    expect(await driver.query('SELECT count(*)::int AS c FROM t')).to.deep.equal([{ c: 3 }]);
  });

  it('a refused connection is STORE_UNAVAILABLE, and the message carries no statement parameters', async () => {
    const nowhere = new PostgresDriver({ connectionString: 'postgres://postgres@127.0.0.1:1/none', maxConnections: 1 });
    try {
      const e = await nowhere.query('SELECT $1::text', ['Maria da Graça']).then(() => undefined, (x: unknown) => x);
      expect(e).to.be.instanceOf(RegistoError);
      expect((e as RegistoError).code).to.equal('STORE_UNAVAILABLE');
      expect((e as RegistoError).message).to.not.include('Maria');
      const t = await nowhere.transaction(async () => 1).then(() => undefined, (x: unknown) => x);
      expect((t as RegistoError).code).to.equal('STORE_UNAVAILABLE');
    } finally {
      await nowhere.close().catch(() => undefined);
    }
  });

  it('a statement error is not an outage: it reaches the caller unchanged', async () => {
    const e = await driver.query('SELECT * FROM no_such_table').then(() => undefined, (x: unknown) => x);
    expect(e).to.not.be.instanceOf(RegistoError);
    expect((e as { code?: string }).code).to.equal('42P01');
  });
});
