import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ensureInfra } from '@registo/deploy';
import { type RunningPlatform, runDemo, startPlatform } from '@registo/cli';
import { createLogger } from '@registo/base';
import { PostgresDriver } from '@registo/event-store';
import { SubjectSealer } from '@registo/crypto';
import { loadConfig, loadPlatformKeys } from '@registo/config';
import { PROJECTIONS, replayProjection } from '@registo/projections';
import { type SealedData, isRegistoError, verifyEnvelope } from '@registo/schemas';
import { createTestDatabase, platformTestEnv, readModelRows, readTopics, sql, testKafkaSettings, type TestDatabase } from '../../src/index.js';
import { waitFor } from './processes.js';

const CLI = fileURLToPath(new URL('../../../../cli/bin/registo.js', import.meta.url));
const TOKENS = 'tok-client:client-1:registration_client,tok-adj:adjudicator-7:adjudicator,tok-officer:officer-3:identity_officer,tok-ops:operator-2:operator';

describe('identity lifecycle end to end on PostgreSQL + Kafka + simulators', function () {
  this.timeout(900_000);
  let db: TestDatabase;
  let platform: RunningPlatform;
  let env: NodeJS.ProcessEnv;
  const settings = testKafkaSettings('life');

  before(async () => {
    await ensureInfra();
    db = await createTestDatabase();
    env = platformTestEnv({
      databaseUrl: db.url,
      tokens: TOKENS,
      label: 'life',
      extra: { KAFKA_BROKERS: settings.brokers.join(','), SCHEMA_REGISTRY_URL: settings.registryUrl, REGISTO_TOPIC_PREFIX: settings.prefix },
    });
    platform = await startPlatform(loadConfig(env), createLogger('silent'));
  });
  after(async () => {
    await platform?.close();
    await db?.drop();
  });

  it('1,000 packets through intake reach the states the generator expects; read models equal a replay; erasure leaves nothing readable', async () => {
    const summary = await runDemo({
      url: platform.url!,
      token: 'tok-client',
      keysFile: env.REGISTO_KEYS_FILE!,
      enrollments: 1000,
      mix: { foreigners: 0.15, discrepancies: 0.05, duplicates: 0.05, invalid: 0.02 },
      concurrency: 16,
      seed: 7,
      firstPerson: 0,
      timeoutMs: 600_000,
    });
    expect(summary.surprises, JSON.stringify(summary.surprises.slice(0, 5))).to.deep.equal([]);
    expect(summary.outcomes.PENDING).to.equal(0);
    expect(summary.outcomes.APPROVED).to.equal(summary.expected.APPROVED);
    expect(summary.outcomes.IN_ADJUDICATION).to.equal(summary.expected.IN_ADJUDICATION);
    expect(summary.submitted.refused).to.equal(summary.expected.REFUSED);
    // The mix is what was asked for, roughly: every kind of outcome is exercised.
    expect(summary.expected.APPROVED).to.be.greaterThan(600);
    expect(summary.expected.IN_ADJUDICATION).to.be.greaterThan(50);
    expect(summary.expected.REFUSED).to.be.greaterThan(5);

    // One identity per approved enrollment, each created by exactly one enrollment.
    const identities = (await sql(db.url, 'SELECT count(*)::int AS n FROM registo_events WHERE type = $1', ['IdentityCreated'])).rows[0].n;
    expect(identities).to.equal(summary.outcomes.APPROVED);

    // The projector (reading Kafka) caught up; its rows equal a replay of the log from scratch.
    const head = await platform.eventStore.headPosition();
    await waitFor('read models to catch up', async () => {
      const r = await sql(db.url, `SELECT coalesce(sum(jsonb_array_length(timeline)), 0)::int AS n FROM enrollment_status`);
      return r.rows[0].n === Number((await sql(db.url, `SELECT count(*)::int AS n FROM registo_events WHERE category = 'enrollment'`)).rows[0].n);
    }, 120_000);
    await waitFor('identity register', async () => (await sql(db.url, 'SELECT count(*)::int AS n FROM identity_registry')).rows[0].n === identities, 60_000);
    const live = await readModelRows(db.url);
    const replayDb = await createTestDatabase();
    try {
      const replayDriver = new PostgresDriver({ connectionString: replayDb.url });
      for (const p of Object.values(PROJECTIONS)) await replayProjection(platform.eventStore, replayDriver, p);
      await replayDriver.close();
      expect(await readModelRows(replayDb.url)).to.deep.equal(live);
    } finally {
      await replayDb.drop();
    }
    expect(head).to.be.greaterThan(5000);

    // An adjudicator approves one case: the decision carries their identity, an identity follows.
    const queue = (await (await fetch(`${platform.url}/v1/adjudications?limit=500`, { headers: { authorization: 'Bearer tok-adj' } })).json()) as { items: Array<{ adjudicationId: string; regId: string }> };
    expect(queue.items.length).to.equal(summary.outcomes.IN_ADJUDICATION);
    const chosen = queue.items[0]!;
    const decided = await fetch(`${platform.url}/v1/adjudications/${chosen.adjudicationId}/decision`, {
      method: 'POST',
      headers: { authorization: 'Bearer tok-adj', 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'APPROVE', reason: 'documents checked in person' }),
    });
    expect(decided.status).to.equal(200);
    await waitFor('the approved case to get a UIN', async () => {
      const r = await fetch(`${platform.url}/v1/packets/${chosen.regId}`, { headers: { authorization: 'Bearer tok-client' } });
      return ((await r.json()) as { status: string }).status === 'APPROVED';
    }, 60_000);
    const stream = await platform.eventStore.readStream(`enrollment-${chosen.regId}`);
    const decision = stream.find((e) => e.type === 'AdjudicationDecided')!;
    expect(decision.data).to.include({ adjudicatorId: 'adjudicator-7', decision: 'APPROVE' });
    expect(decision.metadata.actor).to.deep.equal({ id: 'adjudicator-7', role: 'adjudicator' });

    // Erasure of one approved citizen: no copy of their sealed data opens any more.
    const approved = (await sql(db.url, `SELECT uin, reg_id FROM enrollment_status WHERE status = 'APPROVED' AND residency = 'CITIZEN' ORDER BY reg_id LIMIT 1`)).rows[0] as { uin: string; reg_id: string };
    const ext = platform.external!;
    const reference = `${ext.abisUrl}/v1/references/${approved.reg_id}`;
    const auth = { headers: { authorization: `Bearer ${ext.token}` } };
    expect((await fetch(reference, auth)).status, 'templates in the ABIS before').to.equal(200);
    // Not spawnSync: the platform the command calls (and its simulators) runs in this very process.
    const erase = await promisify(execFile)(process.execPath, [CLI, 'erase', '--uin', approved.uin, '--legal-basis', 'court order 3/2026', '--url', platform.url!, '--token', 'tok-ops'], { env, encoding: 'utf8' });
    expect(erase.stdout).to.match(/erased .* SubjectKeyDestroyed at position/);
    expect(erase.stdout).to.match(/templates removed from the ABIS/);
    expect((await fetch(reference, auth)).status, 'templates in the ABIS after').to.equal(404);
    const keys = await loadPlatformKeys(env.REGISTO_KEYS_FILE!);
    const driver = new PostgresDriver({ connectionString: db.url });
    try {
      const sealer = await SubjectSealer.open(driver, keys.keyWrapper);
      const personal = [...(await platform.eventStore.readStream(`enrollment-${approved.reg_id}`)), ...(await platform.eventStore.readStream(`identity-${approved.uin}`))].filter((e) => e.data.sealed);
      expect(personal.map((e) => e.type)).to.include.members(['EnrollmentSubmitted', 'IdentityCreated']);
      for (const e of personal) {
        const opened = await sealer.open(e.data.sealed as SealedData).catch((x: unknown) => x);
        expect(isRegistoError(opened, 'SUBJECT_KEY_DESTROYED'), e.type).to.equal(true);
      }
      // The Kafka copies are the same ciphertext (checked on the topics), and the log still verifies.
      const total = await platform.eventStore.headPosition();
      const onTopics = await readTopics(settings, total, { quietMs: 1500, timeoutMs: 120_000 });
      const copies = onTopics.filter((m) => m.key === `enrollment-${approved.reg_id}` || m.key === `identity-${approved.uin}`).filter((m) => m.event.data.sealed);
      expect(copies.length).to.be.at.least(2);
      for (const m of copies) {
        const opened = await sealer.open(m.event.data.sealed as SealedData).catch((x: unknown) => x);
        expect(isRegistoError(opened, 'SUBJECT_KEY_DESTROYED')).to.equal(true);
      }
      (await platform.eventStore.readAll()).forEach(verifyEnvelope);
      // Someone else's data still opens.
      const other = (await sql(db.url, `SELECT uin FROM enrollment_status WHERE status = 'APPROVED' AND uin <> $1 LIMIT 1`, [approved.uin])).rows[0] as { uin: string };
      const theirs = (await platform.eventStore.readStream(`identity-${other.uin}`))[0]!;
      expect(await sealer.open(theirs.data.sealed as SealedData)).to.have.property('demographics');
    } finally {
      await driver.close();
    }
  });
});
