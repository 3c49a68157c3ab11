import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInfra } from '@registo/deploy';
import { loadPlatformKeys } from '@registo/infra';
import { type RoleProcess, roleEnv, startRole, waitFor } from '../kafka/processes.js';
import { type KafkaSyncWorld, expectSettledOnce, seedBatch, startKafkaSyncWorld, waitSettled } from './sync-kafka-world.js';

describe('external sync: the sync consumer SIGKILLed mid-batch', function () {
  this.timeout(180_000);
  let w: KafkaSyncWorld;
  let dir: string;
  let child: RoleProcess | undefined;

  before(async () => {
    await ensureInfra();
    dir = mkdtempSync(join(tmpdir(), 'registo-sync-crash-'));
    // The child opens the sealed records with the same key-encryption key the test sealed them with.
    const keys = await loadPlatformKeys(join(dir, 'keys.json'));
    w = await startKafkaSyncWorld('sk', { runService: false, latencyMs: 60, wrapper: keys.keyWrapper });
  });

  after(async () => {
    child?.child.kill('SIGKILL');
    await w?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every sync ends succeeded or dead-lettered, none lost, none applied twice at the simulator', async () => {
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
  });
});
