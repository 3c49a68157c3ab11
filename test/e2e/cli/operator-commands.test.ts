import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ADMIN_TOKEN, DEFAULT_SERVICE_TOKEN } from '@registo/simulators';
import { waitFor } from '../kafka/processes.js';
import { exitOf, runCli, startCli } from './run-cli.js';

interface Report {
  totals: { pending: number; failed: number; deadLettered: number; succeeded: number };
  succeeded: Array<{ syncId: string; uin: string; operation: string }>;
  deadLettered: Array<{ syncId: string; uin: string }>;
}

/**
 * The operator tasks the README and guides show, run as client commands against a running
 * embedded platform: the platform keeps its data directory (and the simulators) to itself, the
 * commands reach it over HTTP with the operator's token.
 */
describe('operator commands against a running embedded platform', function () {
  this.timeout(300_000);

  it('reconcile run, reconcile report, sync redrive and erase succeed while `registo start` runs, and its data stays intact', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-operator-')), 'data');
    const env = {
      REGISTO_DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      REGISTO_SIGA_PORT: '0',
      REGISTO_IMMIGRATION_PORT: '0',
      REGISTO_ABIS_PORT: '0',
      // A sync that fails is dead-lettered after two quick retries; the breaker closes again soon.
      REGISTO_SYNC_RETRY_DELAYS_MS: '50,50',
      REGISTO_SYNC_BREAKER_OPEN_MS: '200',
    };
    let platform = await startCli(['start', '--port', '0'], env);
    try {
      const url = platform.url;
      const client = { ...env, REGISTO_URL: url };
      const officer = { authorization: 'Bearer dev-officer', 'content-type': 'application/json' };
      const ready = async (): Promise<{ checks: { eventStore: { headPosition: number } }; workers: { simulators: { siga: string; abis: string } } }> => (await fetch(`${url}/readyz`)).json() as never;
      const report = async (): Promise<Report> => (await (await fetch(`${url}/v1/sync/report?system=siga`, { headers: { authorization: 'Bearer dev-operator' } })).json()) as Report;
      const sims = (await ready()).workers.simulators;

      const demo = await runCli(['demo', '--enrollments', '12', '--url', url, '--json', '--wait', '240', '--invalid', '0', '--duplicates', '0', '--foreigners', '0'], client);
      expect(demo.code, demo.stderr).to.equal(0);
      const summary = JSON.parse(demo.stdout.trim().split('\n').at(-1)!) as { outcomes: { APPROVED: number } };
      expect(summary.outcomes.APPROVED).to.be.greaterThan(2);
      await waitFor('every SIGA sync to land', async () => {
        const r = await report();
        return r.totals.pending === 0 && r.totals.failed === 0 && r.succeeded.filter((s) => s.operation === 'ENROLLED').length === summary.outcomes.APPROVED;
      }, 120_000);

      // Reconciliation, run by the platform (it reaches SIGA's export): the register and SIGA agree.
      const run = await runCli(['reconcile', 'run', '--system', 'siga', '--json'], client);
      expect(run.code, run.stderr).to.equal(0);
      const reconciled = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      expect(reconciled).to.include({ system: 'SIGA', compared: summary.outcomes.APPROVED, externalRecords: summary.outcomes.APPROVED, differences: 0, recorded: 0 });
      expect(reconciled.runId).to.be.a('string');

      const csv = await runCli(['reconcile', 'report', '--system', 'siga', '--format', 'csv'], client);
      expect(csv.code, csv.stderr).to.equal(0);
      const rows = csv.stdout.trim().split('\r\n');
      expect(rows[0]).to.match(/^record,id,system,/);
      const enrolled = rows.filter((r) => r.startsWith('succeeded,') && r.includes(',ENROLLED,'));
      expect(enrolled).to.have.length(summary.outcomes.APPROVED);
      const [toErase, toBlock, duringOutage] = [...new Set(enrolled.map((r) => r.split(',')[5]!))] as [string, string, string];

      // SIGA is down while an officer blocks an identity: that status update is dead-lettered.
      const faults = `${sims.siga}/_admin/faults`;
      const admin = { authorization: `Bearer ${DEFAULT_ADMIN_TOKEN}`, 'content-type': 'application/json' };
      const down = await fetch(faults, { method: 'PUT', headers: admin, body: JSON.stringify({ outageUntil: new Date(Date.now() + 600_000).toISOString() }) });
      expect(down.status, await down.text()).to.equal(200);
      const blocked = await fetch(`${url}/v1/identities/${toBlock}/status`, { method: 'POST', headers: officer, body: JSON.stringify({ status: 'BLOCKED', reason: 'court order 7/2026' }) });
      expect(blocked.status, await blocked.text()).to.equal(200);
      let deadLettered: string | undefined;
      await waitFor('the status update to be dead-lettered', async () => (deadLettered = (await report()).deadLettered.find((d) => d.uin === toBlock)?.syncId) !== undefined, 60_000);
      expect((await fetch(faults, { method: 'DELETE', headers: { authorization: admin.authorization } })).status).to.equal(200);

      const redrive = await runCli(['sync', 'redrive', '--system', 'siga', '--json'], client);
      expect(redrive.code, redrive.stderr).to.equal(0);
      expect((JSON.parse(redrive.stdout.trim().split('\n').at(-1)!) as { redriven: string[] }).redriven).to.deep.equal([deadLettered]);
      await waitFor('the redriven sync to succeed', async () => (await report()).succeeded.some((s) => s.syncId === deadLettered), 60_000);

      // Erasure: the platform destroys the keys and removes the templates from the ABIS it runs.
      const identity = (await (await fetch(`${url}/v1/identities/${toErase}`, { headers: officer })).json()) as { enrollments: string[] };
      const reference = `${sims.abis}/v1/references/${identity.enrollments[0]}`;
      const abisAuth = { headers: { authorization: `Bearer ${DEFAULT_SERVICE_TOKEN}` } };
      expect((await fetch(reference, abisAuth)).status, 'templates in the ABIS before').to.equal(200);
      const erase = await runCli(['erase', '--uin', toErase, '--legal-basis', 'court order 12/2026', '--order-ref', 'TJ-STP-12-2026', '--url', url], env);
      expect(erase.code, erase.stderr).to.equal(0);
      expect(erase.stdout).to.match(new RegExp(`erased ${toErase}: subject key destroyed, SubjectKeyDestroyed at position \\d+`));
      expect(erase.stdout).to.include('biometric templates removed from the ABIS (1 enrollment(s))');
      expect((await fetch(reference, abisAuth)).status, 'templates in the ABIS after').to.equal(404);
      const again = await runCli(['erase', '--uin', toErase, '--legal-basis', 'court order 12/2026'], client);
      expect(again.code, again.stderr).to.equal(0);
      expect(again.stdout).to.match(/already erased/);
      // The ABIS down: the keys go and the erasure is recorded, the command says it is incomplete; repeated, it completes.
      const abisFaults = `${sims.abis}/_admin/faults`;
      const abisDown = await fetch(abisFaults, { method: 'PUT', headers: admin, body: JSON.stringify({ outageUntil: new Date(Date.now() + 600_000).toISOString() }) });
      expect(abisDown.status, await abisDown.text()).to.equal(200);
      const half = await runCli(['erase', '--uin', duringOutage, '--legal-basis', 'court order 13/2026'], client);
      expect(half.code).to.equal(1);
      expect(half.stderr).to.match(/503 ERASURE_INCOMPLETE: the subject keys of \d+ are destroyed and the erasure recorded, but the ABIS did not confirm removing the templates \(EXTERNAL_UNAVAILABLE\); repeat the erasure/);
      expect((await fetch(abisFaults, { method: 'DELETE', headers: { authorization: admin.authorization } })).status).to.equal(200);
      const completed = await runCli(['erase', '--uin', duringOutage, '--legal-basis', 'court order 13/2026'], client);
      expect(completed.code, completed.stderr).to.equal(0);
      expect(completed.stdout).to.match(/already erased[\s\S]*biometric templates removed from the ABIS \(1 enrollment\(s\)\)/);
      const halfIdentity = (await (await fetch(`${url}/v1/identities/${duringOutage}`, { headers: officer })).json()) as { enrollments: string[] };
      expect((await fetch(`${sims.abis}/v1/references/${halfIdentity.enrollments[0]}`, abisAuth)).status).to.equal(404);

      const unknown = await runCli(['erase', '--uin', '0000000000', '--legal-basis', 'court order 12/2026'], client);
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.match(/NOT_FOUND: no identity 0000000000/);

      // A command pointed at no platform names the URL it tried.
      const nowhere = await runCli(['reconcile', 'report', '--system', 'siga', '--url', 'http://127.0.0.1:41650'], env);
      expect(nowhere.code).to.equal(1);
      expect(nowhere.stderr).to.include('PLATFORM_UNREACHABLE: cannot reach the platform at http://127.0.0.1:41650');

      // The platform's data is intact: it answers, and after a restart on the same directory holds the same log.
      await waitFor('the register to show the erasure', async () => ((await (await fetch(`${url}/v1/identities/${toErase}`, { headers: officer })).json()) as { erased: boolean }).erased, 30_000);
      const head = (await ready()).checks.eventStore.headPosition;
      platform.child.kill('SIGTERM');
      expect(await exitOf(platform.child)).to.equal(0);
      platform = await startCli(['start', '--port', '0'], env);
      const restarted = (await (await fetch(`${platform.url}/readyz`)).json()) as { checks: { eventStore: { headPosition: number } } };
      expect(restarted.checks.eventStore.headPosition).to.be.at.least(head);
      const still = (await (await fetch(`${platform.url}/v1/identities/${toBlock}`, { headers: officer })).json()) as { status: string };
      expect(still.status).to.equal('BLOCKED');
    } finally {
      platform.child.kill('SIGTERM');
      await exitOf(platform.child);
    }
  });
});
