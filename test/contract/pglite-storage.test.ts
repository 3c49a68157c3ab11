import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINE_LOST_EXIT_CODE, PGliteDriver, SqlEventStore } from '@registo/event-store';
import { RegistoError } from '@registo/schemas';
import { lifecycle, randomId } from '../src/index.js';
import { freeBytes, mountTmpfs } from '../e2e/cli/tmpfs.js';

const MiB = 1024 * 1024;

/** Runs `body` (an ES module's text) in a child node with the platform's infra imported as `infra`. */
function runChild(body: string, args: string[] = []): Promise<{ code: number | null; stderr: string }> {
  const infra = import.meta.resolve('@registo/event-store');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', `const infra = await import(${JSON.stringify(infra)});\n${body}`, ...args]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('PGlite on a disk below its reserve', function () {
  this.timeout(60_000);
  let fs: { dir: string; unmount(): void } | undefined;

  before(function () {
    // A tmpfs the test mounts itself: root only.
    if (process.getuid?.() !== 0) this.skip();
    fs = mountTmpfs('size=128m');
  });
  after(() => fs?.unmount());

  it('writes are refused with the retryable STORE_UNAVAILABLE "disk full", reads go on, ping says why; writes resume once space returns', async () => {
    const driver = await PGliteDriver.open(join(fs!.dir, 'data'), { stallMs: 0 });
    const store = await SqlEventStore.open(driver);
    const filler = join(fs!.dir, 'filler');
    try {
      await driver.query('CREATE TABLE t (n int)');
      await driver.query('INSERT INTO t VALUES (1)');
      // 40 MiB left: below the 64 MiB reserve, far from really full.
      writeFileSync(filler, Buffer.alloc(freeBytes(fs!.dir) - 40 * MiB));
      await new Promise((r) => setTimeout(r, 300));

      const refusals: unknown[] = [];
      for (const write of [
        () => driver.query('INSERT INTO t VALUES (2)'),
        () => driver.query('SELECT n FROM t FOR UPDATE'),
        () => driver.transaction(async (tx) => tx.query('UPDATE t SET n = n + 1')),
        () => {
          const id = randomId();
          return store.append(`enrollment-${id}`, lifecycle(id, 1, 'reject'), { expectedRevision: 'no_stream' });
        },
      ]) refusals.push(await write().then(() => 'written', (e: unknown) => e));
      for (const e of refusals) {
        expect(e).to.be.instanceOf(RegistoError);
        expect((e as RegistoError).code).to.equal('STORE_UNAVAILABLE');
        expect((e as RegistoError).status).to.equal(503);
        expect((e as RegistoError).details).to.include({ cause: 'disk full', reserveBytes: 64 * MiB });
        expect((e as RegistoError).details.freeBytes).to.be.below(64 * MiB);
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
      expect((await store.ping().then(() => 'ready', (e: unknown) => e)) as RegistoError).to.have.nested.property('details.cause', 'disk full');

      rmSync(filler);
      await new Promise((r) => setTimeout(r, 300));
      await driver.query('INSERT INTO t VALUES (2)');
      expect(await driver.query('SELECT n FROM t ORDER BY n')).to.deep.equal([{ n: 1 }, { n: 2 }]);
      await store.ping();
    } finally {
      await store.close();
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

describe('PGlite that runs out of room for its WAL', function () {
  this.timeout(120_000);
  let fs: { dir: string; unmount(): void } | undefined;

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    // Room for the first 16 MiB WAL segment and a little data, not for the second segment.
    fs = mountTmpfs('size=48m');
  });
  after(() => fs?.unmount());

  it(`ends the process with exit code ${ENGINE_LOST_EXIT_CODE} and a clear line instead of spinning; a restart with space finds every committed row`, async () => {
    const dataDir = join(fs!.dir, 'data');
    // No reserve (the configuration never allows less than 20 MiB): the engine meets the full disk itself.
    const r = await runChild(
      `
      const driver = await infra.PGliteDriver.open(process.argv[1], { diskReserveBytes: 0, stallMs: 5000 });
      await driver.query('CREATE TABLE t (n int, b text)');
      for (let n = 1; n <= 2000; n++) {
        await driver.query("INSERT INTO t SELECT $1, string_agg(md5(random()::text), '') FROM generate_series(1, 3000)", [n])
          .then(() => process.stderr.write('committed ' + n + '\\n'), (e) => process.stderr.write('refused ' + e.code + ' ' + e.details?.cause + '\\n'));
      }
      process.stderr.write('survived\\n');
      `,
      [dataDir],
    );
    expect(r.code, r.stderr.slice(-1000)).to.equal(ENGINE_LOST_EXIT_CODE);
    expect(r.stderr).to.match(/registo: the embedded database (lost its write-ahead log|has not answered)/);
    expect(r.stderr).to.not.include('survived');
    const committed = Math.max(0, ...[...r.stderr.matchAll(/committed (\d+)/g)].map((m) => Number(m[1])));
    expect(committed).to.be.greaterThan(0);

    execFileSync('mount', ['-o', 'remount,size=128m', fs!.dir]);
    const driver = await PGliteDriver.open(dataDir, { stallMs: 0 });
    try {
      const [row] = await driver.query<{ n: number; max: number }>('SELECT count(*)::int AS n, max(n)::int AS max FROM t');
      expect(row).to.deep.equal({ n: committed, max: committed });
    } finally {
      await driver.close();
    }
  });
});
