import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { PGliteDriver, PostgresDriver, type SqlDriver } from '@registo/event-store';
import { type CrlNumberStore, SqlCrlNumberStore } from '@registo/trust';
import { type TestDatabase, createTestDatabase } from '../src/support/postgres.js';

/** CRL numbers through `SqlDriver`: strictly increasing per CA, across reopenings, under concurrent callers. */
function crlNumbersSuite(name: string, open: () => Promise<{ driver: () => Promise<SqlDriver>; done: () => Promise<void> }>): void {
  describe(`CRL numbers (trust_crl_numbers): ${name}`, function () {
    this.timeout(60_000);
    let fixture: Awaited<ReturnType<typeof open>>;
    before(async () => {
      fixture = await open();
    });
    after(async () => fixture.done());

    it('counts from 1 per CA, one sequence per CA, and goes on where it was after reopening', async () => {
      const first = await fixture.driver();
      const a: CrlNumberStore = await SqlCrlNumberStore.open(first);
      expect([await a.next('identity-ca'), await a.next('identity-ca'), await a.next('root-ca')]).to.deep.equal([1, 2, 1]);
      await first.close();
      const second = await fixture.driver();
      const b = await SqlCrlNumberStore.open(second);
      expect(await b.next('identity-ca')).to.equal(3);
      expect(await b.next('root-ca')).to.equal(2);
      await second.close();
    });

    it('never hands out a number twice to concurrent publishers', async () => {
      const drivers = [await fixture.driver(), await fixture.driver()];
      const stores = await Promise.all(drivers.map((d) => SqlCrlNumberStore.open(d)));
      const numbers = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 2]!.next('concurrent-ca')));
      expect(new Set(numbers).size).to.equal(40);
      expect(Math.max(...numbers)).to.equal(40);
      for (const d of drivers) await d.close();
    });
  });
}

crlNumbersSuite('PostgreSQL', async () => {
  const db: TestDatabase = await createTestDatabase('registo_crl');
  return { driver: async () => new PostgresDriver({ connectionString: db.url, maxConnections: 4 }), done: () => db.drop() };
});

crlNumbersSuite('PGlite (on disk)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'registo-crl-pglite-'));
  // One process owns a PGlite directory: drivers opened while one is open share it, and closing
  // it closes the database, so the first test really reopens the directory.
  let shared: PGliteDriver | null = null;
  return {
    driver: async () => {
      shared ??= await PGliteDriver.open(dir);
      const d = shared;
      return {
        name: d.name,
        query: (sql, params) => d.query(sql, params),
        transaction: (fn) => d.transaction(fn),
        migrate: (ddl) => d.migrate(ddl),
        listen: (c, f) => d.listen(c, f),
        close: async () => {
          if (shared === d) shared = null;
          await d.close();
        },
      } satisfies SqlDriver;
    },
    done: async () => {
      await shared?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
