import { type EventStore, PGliteDriver, PostgresDriver, type SqlDriver, SqlEventStore } from '@registo/event-store';
import { type TestDatabase, createTestDatabase, openCredentialStatusFixture } from '../src/index.js';
import { certificateStatusContract } from './certificate-status.contract.js';

/*
 * The credential read model (projections/credential-status) as the status services' source, on
 * PostgreSQL and on the embedded store: statuses change through approved requests, as in production.
 */
for (const backend of ['postgres', 'pglite'] as const) {
  describe(`credential read model as CertificateStatusSource (${backend})`, function () {
    this.timeout(120_000);
    let db: TestDatabase | undefined;
    let driver: SqlDriver;
    let store: EventStore;
    before(async () => {
      if (backend === 'postgres') {
        db = await createTestDatabase();
        driver = new PostgresDriver({ connectionString: db.url });
      } else driver = await PGliteDriver.open();
      store = await SqlEventStore.open(driver);
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });
    certificateStatusContract(`SqlCertificateStatusSource on ${backend}`, () => openCredentialStatusFixture(store, driver));
  });
}
