import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResilientSyncPort, SyncHttpConnector } from '@registo/external';
import { loadPlatformKeys } from '@registo/config';
import { createOutboundSync } from '@registo/consumers';
import { identityRegistryProjection, replayProjection, syncStatusProjection } from '@registo/projections';
import { type RunningSimulators, startSimulators } from '@registo/simulators';
import { type SyncWorld, expectLogIntact, expectedSyncId, openSyncWorld, pickPeople, seedIdentities, syncState } from '../../src/index.js';
import { exitOf, runCli, startCli } from '../cli/run-cli.js';

describe('registo reconcile run | report and registo sync redrive, as an operator runs them against the platform', function () {
  this.timeout(120_000);
  let world: SyncWorld;
  let sims: RunningSimulators;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let platform: Awaited<ReturnType<typeof startCli>> | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'registo-sync-cli-'));
    const keys = await loadPlatformKeys(join(dir, 'keys.json'));
    world = await openSyncWorld(keys.keyWrapper);
    sims = await startSimulators({ sigaPort: 0, immigrationPort: 0 });
    env = {
      DATABASE_URL: world.db.url,
      REGISTO_KEYS_FILE: join(dir, 'keys.json'),
      REGISTO_DATA_DIR: dir,
      REGISTO_SIGA_URL: sims.sigaUrl,
      REGISTO_IMMIGRATION_URL: sims.immigrationUrl,
      REGISTO_ABIS_URL: sims.abisUrl,
      REGISTO_EXTERNAL_TOKEN: sims.token,
      LOG_LEVEL: 'error',
      HOST: '127.0.0.1',
      // An operator's own token (not a development one), as the commands read it from the environment.
      REGISTO_API_TOKENS: 'tok-ops-7:operator-7:operator',
      REGISTO_OPERATOR_TOKEN: 'tok-ops-7',
    };
    // The api role on the same database: the commands call it; reconciliation runs there.
    platform = await startCli(['start', '--port', '0', '--role', 'api'], env);
    env.REGISTO_URL = platform.url;
  });
  after(async () => {
    platform?.child.kill('SIGTERM');
    if (platform) await exitOf(platform.child);
    await sims?.close();
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records what SIGA lacks, resends it by rule, reports in CSV, and redrives a dead letter', async () => {
    const people = await seedIdentities(world, pickPeople(world.population, 'CITIZEN', 6).map((demographics) => ({ residency: 'CITIZEN' as const, demographics })));
    await replayProjection(world.store, world.driver, identityRegistryProjection);
    // SIGA is down when the first identity's sync runs: it is dead-lettered.
    sims.sigaFaults.update({ outageUntil: new Date(Date.now() + 60_000).toISOString() });
    const port = new ResilientSyncPort(new SyncHttpConnector('SIGA', { baseUrl: sims.sigaUrl, token: sims.token }));
    await createOutboundSync('SIGA', { store: world.store, sealer: world.sealer, port, maxAttempts: 1 }).handle(people[0]!.created, 1).catch(() => undefined);
    sims.sigaFaults.reset();
    const syncId = expectedSyncId('SIGA', people[0]!.created);
    expect((await syncState(world.store, syncId)).state.status).to.equal('DEAD_LETTERED');

    // SIGA holds none of the six: six mismatches, each resolved by sending the identity again.
    const run = await runCli(['reconcile', 'run', '--system', 'siga', '--json'], env);
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { compared: number; differences: number; recorded: number; resolvedByRule: number };
    expect(summary).to.include({ compared: 6, differences: 6, recorded: 6, resolvedByRule: 6 });
    expect([...sims.sigaLedger.records.keys()].sort()).to.deep.equal(people.map((p) => p.uin).sort());

    await replayProjection(world.store, world.driver, syncStatusProjection);
    const report = await runCli(['reconcile', 'report', '--system', 'siga', '--format', 'csv'], env);
    expect(report.code, report.stderr).to.equal(0);
    const rows = report.stdout.trim().split('\r\n');
    expect(rows[0]).to.match(/^record,id,system,/);
    expect(rows.filter((r) => r.startsWith('dead_lettered,')).map((r) => r.split(',')[1])).to.deep.equal([syncId]);
    expect(rows.filter((r) => r.startsWith('succeeded,'))).to.have.length(6);

    const redrive = await runCli(['sync', 'redrive', '--system', 'siga', '--json'], env);
    expect(redrive.code, redrive.stderr).to.equal(0);
    expect((JSON.parse(redrive.stdout.trim().split('\n').at(-1)!) as { redriven: string[] }).redriven).to.deep.equal([syncId]);
    const redriven = (await syncState(world.store, syncId)).events.at(-1)!;
    expect(redriven.type).to.equal('SyncRedriven');
    expect(redriven.metadata.actor, "the token's operator").to.deep.equal({ id: 'operator-7', role: 'operator' });
    const bad = await runCli(['sync', 'redrive', '--id', 'siga.nope'], env);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/no sync siga\.nope/);
    await expectLogIntact({ db: world.driver, store: world.store, readModels: false, ledgers: { SIGA: sims.sigaLedger.stats, IMMIGRATION: sims.immigrationLedger.stats } });
  });
});
