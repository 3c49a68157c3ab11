import { expect } from 'chai';
import { type DemoPacket, DemoPacketFactory, type RunningPlatform, intakeKeyOf, startPlatform, waitForOutcomes } from '@registo/cli';
import { createLogger } from '@registo/base';
import { issueDeviceCertificate } from '@registo/packets';
import { loadConfig, loadPlatformKeys } from '@registo/config';
import { createPopulation } from '@registo/simulators';
import { type TcpProxy, type TestDatabase, createTestDatabase, expectLogIntact, platformTestEnv, publishedCheckpointKey, simulatorLedgers, sql, startTcpProxy, uploadUntilAnswered } from '../src/index.js';
import { waitFor } from './kafka/processes.js';

const TOKENS = 'tok-client:client-1:registration_client,tok-ops:ops-1:operator';

/**
 * PostgreSQL ends the platform's sessions (57P01, as a restart or a failover does) three times
 * during uploads, then refuses connections for 20 s. The process must stay up, answer 503
 * (never 500) meanwhile, and recover by itself: every accepted packet final, every worker
 * running again, the sync caught up, and the end-of-test checks (`expectLogIntact`) hold.
 */
describe('PostgreSQL failover under load', function () {
  this.timeout(300_000);
  let db: TestDatabase;
  let proxy: TcpProxy;
  let platform: RunningPlatform;
  let keysFile: string;

  before(async () => {
    db = await createTestDatabase('registo_failover');
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(db.url).port || 5432) });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const env = platformTestEnv({ databaseUrl: viaProxy.toString(), tokens: TOKENS, label: 'failover' });
    keysFile = env.REGISTO_KEYS_FILE!;
    platform = await startPlatform(loadConfig(env), createLogger((process.env.FAILOVER_TEST_LOG as 'silent') ?? 'silent'));
  });
  after(async () => {
    await proxy?.accept();
    await platform?.close();
    await proxy?.close();
    await db?.drop();
  });

  it('three session terminations and a 20 s refusal: 503s, no 500, then everything catches up by itself', async () => {
    const url = platform.url!;
    const keys = await loadPlatformKeys(keysFile);
    const device = await issueDeviceCertificate(keys.registrationCa, { deviceId: 'failover-client', centreId: '10031', notBefore: new Date(Date.now() - 86_400_000) });
    const factory = new DemoPacketFactory({ population: createPopulation(), device, intake: await intakeKeyOf(url, keys.intakeKey), mix: { foreigners: 0.2, discrepancies: 0, duplicates: 0, invalid: 0 }, seed: 11, eligibleOnly: true });
    const packets: DemoPacket[] = [];
    for (let i = 0; i < 90; i++) packets.push(await factory.packet(i));
    const statuses: number[] = [];
    const answers: number[] = [];
    let next = 0;
    const uploads = Promise.all(
      Array.from({ length: 3 }, async () => {
        for (let i = next++; i < packets.length; i = next++) answers[i] = await uploadUntilAnswered(url, packets[i]!, statuses);
      }),
    );
    const terminate = () => sql(db.url, 'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
    for (const at of [10, 25, 40]) {
      await waitFor(`${at} uploads answered`, async () => answers.filter(Boolean).length >= at, 120_000);
      await terminate();
    }
    // Down for 20 s: connections refused.
    await proxy.refuse();
    const down = Date.now();
    const readyWhileDown = await fetch(`${url}/readyz`);
    expect(readyWhileDown.status).to.equal(503);
    expect(readyWhileDown.headers.get('retry-after')).to.be.a('string');
    const packetWhileDown = await fetch(`${url}/v1/packets/${packets[0]!.regId}`, { headers: { authorization: 'Bearer tok-client' } });
    expect(packetWhileDown.status).to.equal(503);
    expect(((await packetWhileDown.json()) as { code: string }).code).to.equal('STORE_UNAVAILABLE');
    expect((await fetch(`${url}/healthz`)).status, 'the process answers its liveness probe').to.equal(200);
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - down))));
    await proxy.accept();
    await uploads;

    expect(statuses.filter((s) => s >= 500 && s !== 503), 'no answer other than 503 among the 5xx').to.deep.equal([]);
    expect(statuses.filter((s) => s === 503).length, 'the outage was seen').to.be.greaterThan(0);
    expect(answers.every((s) => s === 202 || s === 409), `every packet accepted (a retry of an accepted one may find it taken): ${answers.join(',')}`).to.equal(true);

    const outcomes = await waitForOutcomes(url, 'tok-client', packets.map((p) => p.regId), { timeoutMs: 120_000 });
    const pending = [...outcomes].filter(([, o]) => o.outcome === 'PENDING').map(([regId]) => regId);
    expect(pending, 'every accepted packet reached its final state').to.deep.equal([]);
    expect([...outcomes.values()].filter((o) => o.outcome === 'APPROVED').length).to.equal(packets.length);

    // Every worker runs again, and readiness says so.
    await waitFor('ready again', async () => (await fetch(`${url}/readyz`)).status === 200, 60_000);
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { workers: Record<string, { state?: string }> };
    const notRunning = Object.entries(ready.workers).filter(([, w]) => w.state !== undefined && w.state !== 'running');
    expect(notRunning).to.deep.equal([]);

    // The sync caught up: every sync asked for succeeded, none twice.
    const count = async (q: string) => (await sql(db.url, q)).rows[0].n as number;
    const succeeded = () => count(`SELECT count(*)::int AS n FROM registo_events WHERE type = 'SyncSucceeded'`);
    const requested = () => count(`SELECT count(*)::int AS n FROM registo_events WHERE type = 'SyncRequested'`);
    await waitFor('every sync settled', async () => (await succeeded()) === (await requested()), 120_000).catch(async (e: Error) => {
      const byType = (await sql(db.url, `SELECT type, count(*)::int AS n FROM registo_events WHERE category = 'sync' GROUP BY type ORDER BY type`)).rows;
      throw new Error(`${e.message}: ${JSON.stringify(byType)}`);
    });
    expect(await requested()).to.be.at.least(packets.length);
    // One statement: syncs that credential events ask for may still be succeeding meanwhile.
    const once = (await sql(db.url, `SELECT count(*)::int AS n, count(DISTINCT stream_id)::int AS d FROM registo_events WHERE type = 'SyncSucceeded'`)).rows[0] as { n: number; d: number };
    expect(once.d, 'no sync succeeded twice').to.equal(once.n);
    expect(await count(`SELECT count(*)::int AS n FROM registo_events WHERE type = 'IdentityCreated'`)).to.equal(packets.length);

    // An outage spent no event's attempts: nothing went to the dead letters.
    const hasDeadLetters = (await sql(db.url, `SELECT to_regclass('registo_dead_letters') IS NOT NULL AS t`)).rows[0].t as boolean;
    if (hasDeadLetters) expect((await sql(db.url, 'SELECT consumer, reason FROM registo_dead_letters')).rows).to.deep.equal([]);

    // The end-of-test checks every crash and outage test makes.
    await expectLogIntact({
      db: db.url,
      store: platform.eventStore,
      acceptedRegIds: packets.map((p) => p.regId),
      ledgers: await simulatorLedgers(platform.external!),
      checkpointKey: await publishedCheckpointKey(url),
    });
  });
});
