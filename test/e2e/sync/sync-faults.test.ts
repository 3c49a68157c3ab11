import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInfra } from '@registo/deploy';
import { dlqTopic } from '@registo/messaging';
import { loadPlatformKeys } from '@registo/config';
import { redriveSyncs } from '@registo/gateways';
import { replayProjection, syncReport, syncStatusProjection } from '@registo/projections';
import { expectLogIntact, readRaw } from '../../src/index.js';
import { type RoleProcess, roleEnv, startRole, waitFor } from '../kafka/processes.js';
import { type Batch, type KafkaSyncWorld, duplicateDeliveries, expectSettledOnce, outboundSucceeded, seedBatch, setFaults, startKafkaSyncWorld, waitSettled } from './sync-kafka-world.js';

/**
 * The outbound sync on Kafka (retry topics, DLQ topics) against misbehaving simulators. The
 * 60 s outage runs in a world of its own from the start, beside the other faults and the
 * SIGKILL test, so the suite takes about as long as the outage.
 */
describe('external sync on Kafka under faults', function () {
  this.timeout(240_000);
  let faulty: KafkaSyncWorld;
  let outage: KafkaSyncWorld;
  let outageScenario: Promise<{ batch: Batch; deadLetteredReport: number; dlqMessages: Array<{ headers: Record<string, string> }> }>;

  before(async () => {
    await ensureInfra();
    outage = await startKafkaSyncWorld('so', { breakerThreshold: 5 });
    // Both systems down for 60 s from now: every sync asked for meanwhile exhausts its retries.
    const until = new Date(Date.now() + 60_000).toISOString();
    setFaults(outage, { outageUntil: until });
    outageScenario = (async () => {
      const batch = await seedBatch(outage, 15, 5);
      await waitSettled(outage, batch, 50_000);
      await replayProjection(outage.store, outage.driver, syncStatusProjection);
      const report = await syncReport(outage.driver, 'SIGA');
      const dlqMessages = await readRaw(outage.settings, dlqTopic('sync.siga', outage.settings.prefix), 15, 20_000);
      return { batch, deadLetteredReport: report.totals.deadLettered, dlqMessages };
    })();
    faulty = await startKafkaSyncWorld('sf', { timeoutMs: 600, breakerThreshold: 20 });
  });

  after(async () => {
    await outageScenario?.catch(() => undefined);
    await faulty?.stop();
    await outage?.stop();
  });

  async function phase(faults: Parameters<typeof setFaults>[1], outcome: string, citizens = 16, foreigners = 6) {
    setFaults(faulty, { seed: 7, ...faults });
    const batch = await seedBatch(faulty, citizens, foreigners);
    await waitSettled(faulty, batch);
    const injected = (faulty.sims.sigaFaults.stats.byRoute['POST /v1/status-updates']?.[outcome] ?? 0) + (faulty.sims.immigrationFaults.stats.byRoute['POST /v1/status-updates']?.[outcome] ?? 0);
    setFaults(faulty, {});
    const result = await expectSettledOnce(faulty, batch);
    return { batch, result, injected };
  }

  it('30% HTTP 500s: retried through the retry topics, every sync succeeds or is dead-lettered, none applied twice', async () => {
    const { result, injected } = await phase({ errorRate: 0.3 }, 'error');
    expect(injected, 'the simulators answered 500 some of the time').to.be.greaterThan(3);
    expect(result.succeeded + result.deadLettered).to.equal(22);
    expect(result.succeeded).to.be.at.least(18);
  });

  it('timeouts (held 1.2 s, the connector gives up at 0.6 s): retried, every sync settles, none applied twice', async () => {
    const { result, injected } = await phase({ timeoutRate: 0.3, timeoutDelayMs: 1200 }, 'timeout');
    expect(injected).to.be.greaterThan(2);
    expect(result.succeeded + result.deadLettered).to.equal(22);
  });

  it('slow replies (0.3–0.9 s against a 0.6 s timeout): every sync settles, none applied twice', async () => {
    const { result } = await phase({ latencyMs: 300, jitterMs: 600 }, 'ok', 12, 4);
    expect(result.succeeded + result.deadLettered).to.equal(16);
    expect(result.succeeded).to.be.at.least(12);
  });

  it('malformed replies (invalid JSON, wrong shape, after the system applied the update): asked again with the same key, answered from its idempotency store, none applied twice', async () => {
    const replays = faulty.sims.sigaLedger.stats.replays + faulty.sims.immigrationLedger.stats.replays;
    const { result, injected } = await phase({ malformedRate: 0.3 }, 'malformed');
    expect(injected).to.be.greaterThan(2);
    expect(result.succeeded + result.deadLettered).to.equal(22);
    expect(faulty.sims.sigaLedger.stats.replays + faulty.sims.immigrationLedger.stats.replays - replays, 'retries found their key applied').to.be.greaterThan(0);
  });

  it('duplicate deliveries (every message produced twice more): no second application, no second SyncSucceeded', async () => {
    const { batch } = await phase({}, 'ok', 10, 4);
    const before = outboundSucceeded(faulty);
    const copies = await duplicateDeliveries(faulty, batch, 2);
    // Each message reaches both systems' consumers (each ignores the other's residents).
    await waitFor('the duplicates were consumed', async () => outboundSucceeded(faulty) - before >= copies * 2, 60_000);
    const result = await expectSettledOnce(faulty, batch);
    expect(result).to.deep.equal({ succeeded: 14, deadLettered: 0 });
  });

  it('the sync consumer SIGKILLed mid-batch (a child process, twice): every sync succeeded, none lost, none applied twice at the simulator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registo-sync-crash-'));
    // The child opens the sealed records with the same key-encryption key the test sealed them with.
    const keys = await loadPlatformKeys(join(dir, 'keys.json'));
    const w = await startKafkaSyncWorld('sk', { runService: false, latencyMs: 60, wrapper: keys.keyWrapper });
    let child: RoleProcess | undefined;
    try {
      const batch = await seedBatch(w, 150, 50);
      const env = {
        ...roleEnv(w.db.url, w.settings, 'sync'),
        REGISTO_DATA_DIR: dir,
        REGISTO_KEYS_FILE: join(dir, 'keys.json'),
        REGISTO_SIMULATORS: 'off',
        REGISTO_SIGA_URL: w.sims.sigaUrl,
        REGISTO_IMMIGRATION_URL: w.sims.immigrationUrl,
        REGISTO_ABIS_URL: w.sims.abisUrl,
        REGISTO_EXTERNAL_TOKEN: w.sims.token,
        REGISTO_SYNC_RETRY_DELAYS_MS: '300,1000',
        REGISTO_SYNC_POLL_MS: '600000',
        REGISTO_RECONCILE_INTERVAL_MS: '0',
        REGISTO_SYNC_SESSION_TIMEOUT_MS: '6000',
      };
      const applied = () => w.sims.sigaLedger.appliedLog.length + w.sims.immigrationLedger.appliedLog.length;
      const kills: number[] = [];
      for (const threshold of [25, 90]) {
        child = startRole(env);
        await waitFor(`${threshold} syncs applied`, async () => applied() >= threshold, 60_000).catch((e: Error) => {
          throw new Error(`${e.message}\n${child!.output()}`);
        });
        child.child.kill('SIGKILL');
        await child.exited;
        kills.push(applied());
      }
      expect(kills[1]!, 'killed before the batch was done').to.be.lessThan(batch.syncIds.length);
      child = startRole(env);
      await waitSettled(w, batch, 90_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${child!.output()}`);
      });
      const result = await expectSettledOnce(w, batch);
      expect(result).to.deep.equal({ succeeded: 200, deadLettered: 0 });
      // The simulators counted one application per sync: the idempotency keys held across the crashes.
      expect(w.sims.sigaLedger.stats.applied + w.sims.immigrationLedger.stats.applied).to.equal(200);
      await expectLogIntact({ db: w.driver, store: w.store, readModels: false, ledgers: { SIGA: w.sims.sigaLedger.stats, IMMIGRATION: w.sims.immigrationLedger.stats } });
    } finally {
      child?.child.kill('SIGKILL');
      await w.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a 60 s outage: every sync dead-lettered with its reason; once it ends, redrive clears the DLQ and the report shows it', async () => {
    const { batch, deadLetteredReport, dlqMessages } = await outageScenario;
    expect(deadLetteredReport, 'report during the outage').to.equal(15);
    expect(new Set(dlqMessages.map((m) => m.headers['event-id'])).size).to.equal(15);
    for (const m of dlqMessages) expect(m.headers['dlq-reason']).to.match(/EXTERNAL_UNAVAILABLE: SIGA: (answered 503|circuit open)/);
    const during = await expectSettledOnce(outage, batch);
    expect(during).to.deep.equal({ succeeded: 0, deadLettered: 20 });
    await waitFor('the outage is over', async () => !outage.sims.sigaFaults.inOutage() && !outage.sims.immigrationFaults.inOutage(), 70_000);
    await replayProjection(outage.store, outage.driver, syncStatusProjection);
    const redrive = await redriveSyncs(outage.store, outage.driver, {}, { id: 'operator-1', role: 'operator' });
    expect(redrive.redriven).to.have.length(20);
    await waitFor('every redriven sync succeeded', async () => (await expectSettledOnce(outage, batch).catch(() => ({ succeeded: 0 }))).succeeded === 20, 60_000);
    await replayProjection(outage.store, outage.driver, syncStatusProjection);
    const report = await syncReport(outage.driver, 'SIGA');
    expect(report.totals).to.include({ deadLettered: 0, failed: 0, pending: 0, succeeded: 15 });
    for (const s of report.succeeded) {
      expect(s.redrives).to.equal(1);
      expect(s.succeededAt! > s.deadLetteredAt!).to.equal(true);
    }
    // Redriving again finds nothing: the DLQ, as the report sees it, is empty.
    expect((await redriveSyncs(outage.store, outage.driver, { system: 'SIGA' }, { id: 'operator-1', role: 'operator' })).redriven).to.deep.equal([]);
    await expectLogIntact({ db: outage.driver, store: outage.store, readModels: false, ledgers: { SIGA: outage.sims.sigaLedger.stats, IMMIGRATION: outage.sims.immigrationLedger.stats } });
  });
});
