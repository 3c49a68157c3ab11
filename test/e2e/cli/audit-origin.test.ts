import { expect } from 'chai';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresDriver, SqlEventStore } from '@registo/event-store';
import { TRUST_KEYS } from '@registo/trust';
import { createTestDatabase, lifecycle, randomId, type TestDatabase, until } from '../../src/index.js';
import { exitOf, runCli, startCli } from './run-cli.js';

const FIRST = 'http://first.registo.test:8080';
const SECOND = 'http://second.registo.test:9090';
const AUDITOR = 'origin-auditor';

interface Health {
  status: string;
  findings: Array<{ check: string }>;
  checked: { checkpoints: number };
}

describe('registo start: the audit log keeps its origin when the public URL changes', function () {
  this.timeout(240_000);
  let db: TestDatabase;
  let dataDir: string;

  before(async () => {
    db = await createTestDatabase('registo_audit_origin');
    dataDir = join(mkdtempSync(join(tmpdir(), 'registo-audit-origin-')), 'data');
  });
  after(async () => {
    await db?.drop();
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  const env = (publicUrl: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    DATABASE_URL: db.url,
    HOST: '127.0.0.1',
    REGISTO_DATA_DIR: dataDir,
    REGISTO_PUBLIC_URL: publicUrl,
    REGISTO_API_TOKENS: `${AUDITOR}:auditor-1:auditor`,
    REGISTO_CHECKPOINT_INTERVAL_MS: '200',
    ...extra,
  });

  async function appendEvents(n: number): Promise<number> {
    const driver = new PostgresDriver({ connectionString: db.url, maxConnections: 2 });
    const store = await SqlEventStore.open(driver);
    try {
      for (let i = 0; i < n; i++) {
        const id = randomId();
        await store.append(`enrollment-${id}`, lifecycle(id, 1, 'reject'), { expectedRevision: 'no_stream' });
      }
      return await store.headPosition();
    } finally {
      await store.close();
    }
  }

  /** Runs the platform until a checkpoint covers `size`, then stops it. */
  async function runUntilSigned(publicUrl: string, size: number, check: (base: string) => Promise<void> = async () => undefined): Promise<void> {
    const { child, url } = await startCli(['start', '--port', '0'], env(publicUrl));
    try {
      await until(`a checkpoint over ${size}`, async () => {
        const res = await fetch(`${url}/v1/audit/checkpoints/latest`);
        return res.ok && ((await res.json()) as { treeSize: number }).treeSize >= size;
      });
      await check(url);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exitOf(child)).to.equal(0);
  }

  it('the health view and `audit verify` agree after a restart under another REGISTO_PUBLIC_URL (certificates issued again for it); an explicit other origin is refused', async () => {
    await runUntilSigned(FIRST, await appendEvents(5));
    const size = await appendEvents(5);
    // The certificates name the first URL: a start under the second is refused until the key
    // ceremony is run again for it, as the refusal says (test/e2e/cli/public-url.test.ts).
    const refusedUrl = await runCli(['start', '--port', '0'], env(SECOND));
    expect(refusedUrl.code).to.not.equal(0);
    expect(refusedUrl.stderr).to.include('PUBLIC_URL_MISMATCH');
    mkdirSync(join(dataDir, '..', 'old-certificates'));
    for (const spec of TRUST_KEYS.filter((k) => k.issuer !== k.role)) renameSync(join(dataDir, 'trust', spec.file), join(dataDir, '..', 'old-certificates', spec.file));
    const ceremony = await runCli(['keys', 'init'], env(SECOND));
    expect(ceremony.code, ceremony.stderr).to.equal(0);
    await runUntilSigned(SECOND, size, async (base) => {
      const health = (await (await fetch(`${base}/v1/audit/health`, { headers: { authorization: `Bearer ${AUDITOR}` } })).json()) as Health;
      expect(health.findings).to.deep.equal([]);
      expect(health.status).to.equal('ok');
      expect(health.checked.checkpoints).to.be.greaterThan(1);
      const verify = await runCli(['audit', 'verify', base, '--token', AUDITOR, '--json']);
      expect(verify.code, verify.stdout + verify.stderr).to.equal(0);
      const report = JSON.parse(verify.stdout.trim().split('\n').pop()!) as { ok: boolean; origin: string; checkpoints: number; findings: unknown[] };
      expect(report.findings).to.deep.equal([]);
      expect(report).to.include({ ok: true, origin: 'first.registo.test:8080/audit' });
      expect(report.checkpoints).to.be.greaterThan(1);
      const keys = (await (await fetch(`${base}/v1/audit/keys`)).json()) as { checkpoint: { keyName: string } };
      expect(keys.checkpoint.keyName, 'the published key name').to.equal('first.registo.test:8080/audit');
      const latest = (await (await fetch(`${base}/v1/audit/checkpoints/latest`)).json()) as { note: string };
      expect(latest.note.split('\n')[0], 'checkpoints signed after the restart').to.equal('first.registo.test:8080/audit');
    });
    // The log cannot be renamed: an operator's explicit other origin stops the start.
    const refused = await runCli(['start', '--port', '0'], env(SECOND, { REGISTO_AUDIT_ORIGIN: 'renamed.registo.test/audit' }));
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.include("REGISTO_AUDIT_ORIGIN is 'renamed.registo.test/audit', but the log's origin is 'first.registo.test:8080/audit'");
  });
});
