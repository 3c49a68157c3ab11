import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGliteDriver, SqlEventStore } from '@registo/event-store';
import { expectLogIntact, publishedCheckpointKey } from '../../src/index.js';
import { exitOf, runCli, startCli } from './run-cli.js';

/**
 * One process owns an embedded data directory. A second `registo start`, and every command
 * that opens the store itself (`replay`; the operator commands call the platform instead,
 * operator-commands.test.ts), is refused at once with the directory and the owner's pid;
 * the running platform keeps its data intact.
 */
describe('embedded data directory: one owner', function () {
  this.timeout(180_000);

  it('a second platform and every store-opening command on a running platform\'s directory are refused; the first keeps working', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-lock-')), 'data');
    const env = { REGISTO_DATA_DIR: dataDir, HOST: '127.0.0.1', REGISTO_SIGA_PORT: '0', REGISTO_IMMIGRATION_PORT: '0', REGISTO_ABIS_PORT: '0' };
    const first = await startCli(['start', '--port', '0'], env);
    try {
      const headBefore = ((await (await fetch(`${first.url}/readyz`)).json()) as { checks: { eventStore: { headPosition: number } } }).checks.eventStore.headPosition;
      const refusals: Array<[string, string[]]> = [
        ['start', ['start', '--port', '0']],
        ['replay', ['replay', '--projection', 'enrollment_status']],
      ];
      for (const [name, args] of refusals) {
        const r = await runCli(args, env);
        expect(r.code, `${name} exits non-zero`).to.not.equal(0);
        expect(r.stderr, `${name} names the directory`).to.include(dataDir);
        expect(r.stderr, `${name} names the owner`).to.include(`pid ${first.child.pid}`);
        expect(r.stderr, name).to.include('in use by another registo process');
      }
      const ready = await fetch(`${first.url}/readyz`);
      expect(ready.status, 'the first platform is unharmed').to.equal(200);
      const headAfter = ((await ready.json()) as { checks: { eventStore: { headPosition: number } } }).checks.eventStore.headPosition;
      expect(headAfter).to.be.at.least(headBefore);
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await exitOf(first.child)).to.equal(0);
    // Once the owner is gone (even by SIGKILL, the kernel drops the lock), the next one starts.
    const second = await startCli(['start', '--port', '0'], env);
    second.child.kill('SIGKILL');
    await exitOf(second.child);
    const third = await startCli(['start', '--port', '0'], env);
    let checkpointKey;
    try {
      expect((await fetch(`${third.url}/readyz`)).status).to.equal(200);
      checkpointKey = await publishedCheckpointKey(third.url);
    } finally {
      third.child.kill('SIGTERM');
    }
    expect(await exitOf(third.child)).to.equal(0);
    // What the refused commands, the crash and three owners left in the directory: one log, intact.
    const driver = await PGliteDriver.open(dataDir);
    const store = await SqlEventStore.open(driver);
    try {
      await expectLogIntact({ db: driver, store, checkpointKey });
    } finally {
      await store.close();
    }
  });
});
