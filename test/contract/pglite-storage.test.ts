import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINE_LOST_EXIT_CODE, PGliteDriver, SqlEventStore } from '@registo/infra';
import { RegistoError } from '@registo/schemas';

/** Runs `body` (an ES module's text) in a child node with the platform's infra imported as `infra`. */
function runChild(body: string): Promise<{ code: number | null; stderr: string }> {
  const infra = import.meta.resolve('@registo/infra');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', `const infra = await import(${JSON.stringify(infra)});\n${body}`]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('PGlite on a disk below its reserve', function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'registo-reserve-')), 'data');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('writes are refused with the retryable STORE_UNAVAILABLE "disk full", reads go on, ping says why', async () => {
    const first = await PGliteDriver.open(dir, { stallMs: 0 });
    const store = await SqlEventStore.open(first);
    await first.query('CREATE TABLE t (n int)');
    await first.query('INSERT INTO t VALUES (1)');
    await store.close();

    // A reserve larger than any disk: this filesystem is "full" for the store.
    const driver = await PGliteDriver.open(dir, { diskReserveBytes: Number.MAX_SAFE_INTEGER, stallMs: 0 });
    try {
      const refusals: unknown[] = [];
      for (const write of [
        () => driver.query('INSERT INTO t VALUES (2)'),
        () => driver.query('SELECT n FROM t FOR UPDATE'),
        () => driver.transaction(async (tx) => tx.query('UPDATE t SET n = n + 1')),
      ]) refusals.push(await write().then(() => 'written', (e: unknown) => e));
      for (const e of refusals) {
        expect(e).to.be.instanceOf(RegistoError);
        expect((e as RegistoError).code).to.equal('STORE_UNAVAILABLE');
        expect((e as RegistoError).status).to.equal(503);
        expect((e as RegistoError).details).to.include({ cause: 'disk full', reserveBytes: Number.MAX_SAFE_INTEGER });
        expect((e as RegistoError).details.freeBytes).to.be.a('number');
      }
      // Inside a transaction the statement's own error is already the platform's.
      let inside: unknown;
      await driver.transaction(async (tx) => {
        inside = await tx.query('INSERT INTO t VALUES (3)').then(() => 'written', (e: unknown) => e);
        throw inside;
      }).catch(() => undefined);
      expect((inside as RegistoError).code).to.equal('STORE_UNAVAILABLE');
      expect(await driver.query('SELECT n FROM t')).to.deep.equal([{ n: 1 }]);
      expect(await driver.transaction(async (tx) => tx.query('SELECT count(*)::int AS c FROM t'))).to.deep.equal([{ c: 1 }]);
      expect((driver.storageProblem() as RegistoError).details.cause).to.equal('disk full');
    } finally {
      await driver.close();
    }
  });
});

describe('the embedded engine watchdog', function () {
  this.timeout(60_000);

  it(`a database call holding the event loop ends the process with exit code ${ENGINE_LOST_EXIT_CODE} and a clear line`, async () => {
    const r = await runChild(`
      const dog = await infra.EngineWatchdog.start({ stallMs: 1000, what: 'data dir /test' });
      // A call that spins on this thread, as PGlite does on a WAL segment it cannot create.
      await dog.watch(async () => { const t = Date.now(); while (Date.now() - t < 20000); });
      process.stderr.write('survived\\n');
    `);
    expect(r.code, r.stderr).to.equal(ENGINE_LOST_EXIT_CODE);
    expect(r.stderr).to.match(/registo: the embedded database has not answered for \d+ s and holds the event loop \(data dir \/test\); exiting with code 75/);
    expect(r.stderr).to.not.include('survived');
  });

  it('a slow call that leaves the event loop free, and a busy loop outside any call, are left alone', async () => {
    const r = await runChild(`
      const dog = await infra.EngineWatchdog.start({ stallMs: 1000, what: 'data dir /test' });
      await dog.watch(() => new Promise((resolve) => setTimeout(resolve, 2500)));
      const t = Date.now(); while (Date.now() - t < 2500);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await dog.stop();
      process.stderr.write('survived\\n');
    `);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include('survived');
  });
});
