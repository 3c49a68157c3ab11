import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PostgresDriver, SqlEventStore } from '@registo/event-store';
import { commandsOf, createTestDatabase, freePort, lifecycle, onPort, platformTestEnv, randomId, shellBlocks, type TestDatabase } from '../../src/index.js';
import { run } from '../../src/support/processes.js';
import { exitOf, runCli, startCli } from './run-cli.js';

const AUDIT_MD = fileURLToPath(new URL('../../../../docs/audit.md', import.meta.url));

/** The first ```sh block under `heading` in docs/audit.md, as written there. */
const recipe = (heading: string): string => shellBlocks(AUDIT_MD, heading)[0]!;

/**
 * The recipes of docs/audit.md run as an auditor would type them, against `registo start` on
 * PostgreSQL: the openssl one while new checkpoints are being signed (the note and its token
 * must come from one answer), the `audit verify` file example with the files where the platform
 * keeps them, and the exit codes that tell "tampered" from "could not verify".
 */
describe('docs/audit.md recipes against `registo start`', function () {
  this.timeout(300_000);
  let db: TestDatabase;
  let home: string;
  let child: Awaited<ReturnType<typeof startCli>>['child'];
  let base: string;
  let store: SqlEventStore;

  before(async () => {
    db = await createTestDatabase('registo_audit_recipes');
    home = mkdtempSync(join(tmpdir(), 'registo-audit-recipes-'));
    const env = platformTestEnv({
      databaseUrl: db.url,
      tokens: 'dev-auditor:auditor-1:auditor',
      label: 'audit-recipes',
      extra: { REGISTO_DATA_DIR: join(home, 'data'), REGISTO_CHECKPOINT_INTERVAL_MS: '50' },
    });
    ({ child, url: base } = await startCli(['start', '--port', '0'], env));
    store = await SqlEventStore.open(new PostgresDriver({ connectionString: db.url, maxConnections: 2 }));
  });
  after(async () => {
    await store?.close();
    child?.kill('SIGTERM');
    if (child) expect(await exitOf(child)).to.equal(0);
    await db?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  const append = async (): Promise<void> => {
    const id = randomId();
    await store.append(`enrollment-${id}`, lifecycle(id, 2, 'reject'), { expectedRevision: 'no_stream' });
  };
  const docShell = (script: string, cwd: string) => run('bash', ['-e', '-o', 'pipefail', '-c', onPort(script, Number(new URL(base).port))], { cwd });

  it('the openssl recipe verifies the signature and the timestamp every time, while checkpoints keep being signed', async () => {
    const script = recipe('Verifying by hand with openssl');
    expect(script, 'one answer carries the note and its token').to.not.include('/v1/audit/checkpoint >');
    await append();
    for (let tries = 0; !(await fetch(`${base}/v1/audit/checkpoints/latest`)).ok; tries++) {
      expect(tries, 'a first checkpoint within 30 s').to.be.lessThan(300);
      await new Promise((r) => setTimeout(r, 100));
    }
    // New events all along, so that a checkpoint is signed between any two requests of the recipe.
    let loading = true;
    const load = (async () => {
      while (loading) await append();
    })();
    try {
      for (let i = 0; i < 8; i++) {
        const dir = mkdtempSync(join(home, 'openssl-'));
        const r = await docShell(script, dir);
        expect(r.code, `run ${i}: ${r.stdout}${r.stderr}`).to.equal(0);
        expect(r.stdout, `run ${i}`).to.include('Verified OK');
        expect(r.stdout, `run ${i}`).to.include('Verification: OK');
      }
    } finally {
      loading = false;
      await load;
    }
    const latest = (await (await fetch(`${base}/v1/audit/checkpoints/latest`)).json()) as { treeSize: number };
    expect(latest.treeSize, 'checkpoints were signed during the runs').to.be.greaterThan(16);
  });

  it('`audit verify` on the file example finds its files and exits 0; 1 when tampered; 2 when it could not verify', async () => {
    const exportLine = shellBlocks(AUDIT_MD, 'Auditor API').flatMap(commandsOf).find((c) => c.includes('/v1/audit/export?'))!;
    const fetched = await docShell(exportLine, home);
    expect(fetched.code, fetched.stderr).to.equal(0);
    const example = commandsOf(recipe('`registo audit verify`'))[0]!;
    expect(example).to.match(/^npx registo audit verify /);
    const args = example.split(/\s+/).slice(2);
    expect(example).to.include('data/trust/checkpoint.pem');

    const ok = await runCli(args, {}, home);
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/^OK: positions 1–\d+/);
    expect(ok.stdout).to.not.include('timestamps not checked');

    const lines = readFileSync(join(home, 'export.ndjson'), 'utf8').split('\n');
    lines[2] = lines[2]!.replace(/"revision":(\d+)/, (_m, n: string) => `"revision":${Number(n) + 1}`);
    writeFileSync(join(home, 'tampered.ndjson'), lines.join('\n'));
    const tampered = await runCli(args.map((a) => (a === 'export.ndjson' ? 'tampered.ndjson' : a)), {}, home);
    expect(tampered.code, tampered.stdout + tampered.stderr).to.equal(1);
    expect(tampered.stderr).to.include('AUDIT_VERIFICATION_FAILED at position 2');

    mkdirSync(join(home, 'elsewhere'));
    copyFileSync(join(home, 'export.ndjson'), join(home, 'elsewhere', 'export.ndjson'));
    writeFileSync(join(home, 'garbage.ndjson'), 'this is not an export\n');
    const couldNot: Array<[string, string[], string]> = [
      ['the example run where data/trust is not', args, 'elsewhere'],
      ['a missing export', args.map((a) => (a === 'export.ndjson' ? 'missing.ndjson' : a)), ''],
      ['an export that cannot be read', args.map((a) => (a === 'export.ndjson' ? 'garbage.ndjson' : a)), ''],
      ['an unreachable platform', ['audit', 'verify', `http://127.0.0.1:${await freePort()}`, '--token', 'dev-auditor'], ''],
      ['a refused token', ['audit', 'verify', base, '--token', 'not-a-token', '--public-key', 'data/trust/checkpoint.pem'], ''],
      ['bad usage', ['audit', 'verify', 'export.ndjson', '--max-findings', 'many'], ''],
    ];
    for (const [what, argv, sub] of couldNot) {
      const r = await runCli(argv, {}, join(home, sub));
      expect(r.code, `${what}: ${r.stdout}${r.stderr}`).to.equal(2);
      expect(r.stdout, what).to.not.include('OK:');
    }
  });
});
