import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInfra } from '@registo/deploy';
import { createLogger } from '@registo/base';
import { type EventStore, PostgresDriver, openEventStore } from '@registo/event-store';
import { SoftwareKeyWrapper, SubjectSealer } from '@registo/crypto';
import { Mirror, createIdentityWithNewUin } from '@registo/producers';
import { type SealedData, isRegistoError, verifyEnvelope } from '@registo/schemas';
import { createTestDatabase, readTopics, testKafkaSettings, type TestDatabase } from '../../src/index.js';
import { waitFor } from './processes.js';
import { exitOf, startCli } from '../cli/run-cli.js';

const CLI = fileURLToPath(new URL('../../../../cli/bin/registo.js', import.meta.url));

describe('erasure: destroying the subject key makes the data unreadable everywhere, the log stays verifiable', function () {
  this.timeout(180_000);
  let db: TestDatabase;
  let store: EventStore;
  let driver: PostgresDriver;
  let platform: Awaited<ReturnType<typeof startCli>>;

  before(async () => {
    await ensureInfra();
    db = await createTestDatabase();
    store = await openEventStore({ kind: 'postgres', url: db.url });
    driver = new PostgresDriver({ connectionString: db.url });
    // The platform (api role, no ABIS configured) performs the erasure `registo erase` asks for.
    const dir = mkdtempSync(join(tmpdir(), 'registo-erasure-'));
    platform = await startCli(['start', '--port', '0', '--role', 'api'], {
      DATABASE_URL: db.url,
      REGISTO_DATA_DIR: join(dir, 'data'),
      REGISTO_KEYS_FILE: join(dir, 'keys.json'),
      REGISTO_SIMULATORS: 'off',
      REGISTO_API_TOKENS: 'tok-dpo:dpo-1:operator',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
    });
  });
  after(async () => {
    platform?.child.kill('SIGTERM');
    if (platform) await exitOf(platform.child);
    await store.close();
    await driver.close();
    await db.drop();
  });

  it('registo erase --uin: store and topic copies no longer open; hashes still verify; other people untouched', async () => {
    const sealer = await SubjectSealer.open(driver, SoftwareKeyWrapper.generate());
    const people = [
      { subjectId: 'subject-erase-1', name: 'Felisberta Quaresma dos Ramos', regId: 'R-E1' },
      { subjectId: 'subject-erase-2', name: 'Adalberto Sousa Pontes', regId: 'R-E2' },
    ];
    const uins: string[] = [];
    for (const p of people) {
      const sealed = await sealer.seal(p.subjectId, { fullName: p.name, dateOfBirth: '1971-03-08', district: 'Lobata' });
      uins.push((await createIdentityWithNewUin(store, { regId: p.regId, residency: 'CITIZEN', sealed })).uin);
    }
    const [erased, kept] = uins as [string, string];

    const erase = (): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, [CLI, 'erase', '--uin', erased, '--legal-basis', 'court order 12/2026', '--order-ref', 'TJ-STP-12-2026', '--url', platform.url, '--token', 'tok-dpo'], {
        env: process.env,
        encoding: 'utf8',
      });
    const first = erase();
    expect(first.status, String(first.stderr)).to.equal(0);
    expect(String(first.stdout)).to.match(/erased .* SubjectKeyDestroyed at position/);
    expect(String(first.stdout)).to.include('no ABIS configured (REGISTO_ABIS_URL): remove the templates of enrollments R-E1 there');
    const again = erase();
    expect(again.status).to.equal(0);
    expect(String(again.stdout)).to.match(/already erased/);

    // The log: every event still verifies; the erasure is itself an event with who and why.
    const log = await store.readAll();
    log.forEach(verifyEnvelope);
    const destroyed = log.filter((e) => e.type === 'SubjectKeyDestroyed');
    expect(destroyed).to.have.length(1);
    expect(destroyed[0]!.data).to.deep.include({ uin: erased, subjectId: 'subject-erase-1', legalBasis: 'court order 12/2026', orderRef: 'TJ-STP-12-2026' });
    // Who ordered it is the token's person.
    expect(destroyed[0]!.metadata.actor).to.deep.equal({ id: 'dpo-1', role: 'operator' });

    // The event store's copy no longer opens; the other person's does.
    const sealedOf = async (uin: string): Promise<SealedData> => (await store.readStream(`identity-${uin}`))[0]!.data.sealed as unknown as SealedData;
    const opened = await sealer.open(await sealedOf(erased)).catch((e: unknown) => e);
    expect(isRegistoError(opened, 'SUBJECT_KEY_DESTROYED')).to.equal(true);
    expect(await sealer.open(await sealedOf(kept))).to.deep.include({ fullName: 'Adalberto Sousa Pontes' });

    // Kafka's copy (mirrored before and after the erasure) is the same ciphertext: it no longer opens either.
    const settings = testKafkaSettings('er');
    const mirror = new Mirror({ store, settings, logger: createLogger('silent') });
    const running = mirror.run();
    await waitFor('mirror', async () => mirror.status().position === log.length, 60_000);
    await mirror.stop();
    await running;
    const messages = await readTopics(settings, log.length, { quietMs: 800 });
    expect(messages).to.have.length(log.length);
    for (const m of messages.filter((x) => x.event.type === 'IdentityCreated')) {
      const result = await sealer.open(m.event.data.sealed as unknown as SealedData).catch((e: unknown) => e);
      if (m.event.data.uin === erased) expect(isRegistoError(result, 'SUBJECT_KEY_DESTROYED')).to.equal(true);
      else expect(result).to.deep.include({ fullName: 'Adalberto Sousa Pontes' });
    }
    for (const m of messages) expect(JSON.stringify(m.event)).to.not.include('Felisberta');
  });
});
