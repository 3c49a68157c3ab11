import { expect } from 'chai';
import { buildProgram } from '@registo/cli';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../src/index.js';
import { exitOf, outputShows, runCli, startCli } from './run-cli.js';

describe('registo start', function () {
  this.timeout(120_000);

  it('runs on embedded PGlite under the data dir, on 127.0.0.1 unless told otherwise, serves /healthz and /readyz (refusals counted), stops cleanly on SIGTERM', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-start-')), 'data');
    const { child, url, output } = await startCli(['start', '--port', '0'], {
      REGISTO_DATA_DIR: dataDir,
      // No HOST: embedded mode, which accepts the development tokens, must keep to this machine.
      HOST: '',
      REGISTO_SIGA_PORT: '0',
      REGISTO_IMMIGRATION_PORT: '0',
    });
    try {
      const health = await fetch(`${url}/healthz`);
      expect(health.status).to.equal(200);
      expect(await health.json()).to.deep.equal({ status: 'ok' });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).to.equal(200);
      const body = (await ready.json()) as {
        status: string;
        checks: { eventStore: { adapter: string } };
        workers: Record<string, { projection?: string; siga?: string; immigration?: string }>;
      };
      expect(body.status).to.equal('ready');
      expect(body.checks.eventStore.adapter).to.equal('pglite');
      // Embedded mode brings the SIGA and Immigration simulators and the projector along.
      expect(body.workers['projector:enrollment_status']!.projection).to.equal('enrollment_status');
      expect(body.workers['projector:identity_registry']!.projection).to.equal('identity_registry');
      // External sync runs in `all` when the systems are simulated (docs/sync.md).
      expect(body.workers.sync, 'the sync role').to.not.equal(undefined);
      expect((await fetch(`${body.workers.simulators!.siga}/health`)).status).to.equal(200);
      expect((await fetch(`${body.workers.simulators!.immigration}/health`)).status).to.equal(200);
      const missing = await fetch(`${url}/no/such/route`);
      expect(missing.status).to.equal(404);
      expect(missing.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(((await missing.json()) as { code: string }).code).to.equal('NOT_FOUND');
      expect(new URL(url).hostname).to.equal('127.0.0.1');
      // A refused request is counted where operators look.
      expect((await fetch(`${url}/v1/adjudications`)).status).to.equal(401);
      expect((await fetch(`${url}/v1/adjudications`, { headers: { authorization: 'Bearer dev-print-bureau' } })).status).to.equal(403);
      const refusals = ((await (await fetch(`${url}/readyz`)).json()) as { refusals: { total: number; byReason: Record<string, number> } }).refusals;
      expect(refusals).to.deep.equal({ total: 2, byReason: { 'FORBIDDEN:ROLE_NOT_ALLOWED': 1, 'UNAUTHENTICATED:NO_BEARER_TOKEN': 1 } });
      await outputShows(output, '"request refused"');
      expect(output()).to.not.include('dev-print-bureau');
      expect(existsSync(dataDir)).to.equal(true);
      expect(output()).to.include('"kind": "pglite"');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exitOf(child)).to.equal(0);
    expect(output()).to.include('registo stopped');
  });

  describe('on PostgreSQL', () => {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase();
    });
    after(() => db.drop());

    it('uses DATABASE_URL, prints the configuration with the password masked, stops on SIGINT', async () => {
      const url = new URL(db.url);
      url.password = 's3cret-never-printed';
      const { child, url: base, output } = await startCli(['start', '--port', '0'], { DATABASE_URL: url.toString(), HOST: '127.0.0.1' });
      try {
        const ready = (await (await fetch(`${base}/readyz`)).json()) as { checks: { eventStore: { adapter: string } } };
        expect(ready.checks.eventStore.adapter).to.equal('postgres');
      } finally {
        child.kill('SIGINT');
      }
      expect(await exitOf(child)).to.equal(0);
      expect(output()).not.to.include('s3cret-never-printed');
      expect(output()).to.include('***');
    });

    it("works as the README's recipe says: loopback, development tokens, simulators and the demo; another key file is refused at start, naming it", async () => {
      const recipe = await createTestDatabase('registo_recipe');
      const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-recipe-')), 'data');
      // Only DATABASE_URL (and free ports): no HOST, tokens or simulator settings.
      const env = { DATABASE_URL: recipe.url, REGISTO_DATA_DIR: dataDir, HOST: '', REGISTO_SIGA_PORT: '0', REGISTO_IMMIGRATION_PORT: '0', REGISTO_ABIS_PORT: '0' };
      try {
        const { child, url: base, output } = await startCli(['start', '--port', '0'], env);
        try {
          expect(new URL(base).hostname).to.equal('127.0.0.1');
          expect((await fetch(`${base}/v1/adjudications`, { headers: { authorization: 'Bearer dev-adjudicator' } })).status).to.equal(200);
          const ready = (await (await fetch(`${base}/readyz`)).json()) as { workers: Record<string, unknown> };
          expect(Object.keys(ready.workers)).to.include.members(['simulators', 'process:enrollment']);
          // Nothing about tokens, external systems or keys is silent.
          const line = output().split('\n').find((l) => l.includes('"what this platform uses"'));
          expect(line, output()).to.include('development tokens').and.include('simulated in-process').and.include(join(dataDir, 'keys', 'software-keys.json'));
          const demo = await runCli(['demo', '--enrollments', '4', '--url', base, '--foreigners', '0', '--duplicates', '0', '--discrepancies', '0', '--invalid', '0', '--wait', '120'], env);
          expect(demo.code, demo.stdout + demo.stderr).to.equal(0);
        } finally {
          child.kill('SIGTERM');
        }
        expect(await exitOf(child)).to.equal(0);
        // The database's personal data was sealed under this data dir's KEK: another key file is refused at once.
        const otherKeys = join(dataDir, 'other-keys.json');
        // A platform that starts anyway is stopped and the test fails; one that refuses exits with its reason.
        const wrong = await startCli(['start', '--port', '0'], { ...env, REGISTO_KEYS_FILE: otherKeys }).then(
          (started) => void started.child.kill('SIGTERM'),
          (e: Error) => e.message,
        );
        expect(wrong, 'started with another key file').to.be.a('string');
        expect(wrong).to.include('sealed under another key-encryption key').and.include(otherKeys);
      } finally {
        await recipe.drop();
      }
    });
  });

  it('refuses invalid configuration with a message naming the setting', async () => {
    const r = await runCli(['start'], { PORT: 'eighty', DATABASE_URL: 'mysql://nope', REGISTO_DISK_RESERVE_MB: '8', REGISTO_STORE_STALL_MS: '10' });
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/invalid configuration/);
    expect(r.stderr).to.match(/PORT/);
    expect(r.stderr).to.match(/DATABASE_URL/);
    // A reserve smaller than a WAL segment and a margin, a watchdog quicker than a statement.
    expect(r.stderr).to.match(/REGISTO_DISK_RESERVE_MB/);
    expect(r.stderr).to.match(/REGISTO_STORE_STALL_MS: 0 or at least 1000/);
  });

  it('has --help on every command', async () => {
    // Every command the program defines, nested ones too, read from the program itself so a
    // new command is covered without editing this list.
    const paths = (command: ReturnType<typeof buildProgram>, above: string[] = []): string[][] =>
      command.commands.flatMap((c) => [[...above, c.name()], ...paths(c, [...above, c.name()])]);
    const commands = paths(buildProgram());
    expect(commands.length, 'the commands found').to.be.at.least(24);
    for (const path of [[], ...commands]) {
      const r = await runCli([...path, '--help']);
      expect(r.code, path.join(' ')).to.equal(0);
      expect(r.stdout, path.join(' ')).to.include(`Usage: registo ${path.join(' ')}`.trimEnd());
    }
  });
});
