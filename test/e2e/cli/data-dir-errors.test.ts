import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.js';
import { mountTmpfs } from './tmpfs.js';

/** `registo start` on a data directory it cannot use: one line naming the directory, the cause and what to do. */
describe('registo start: clear errors for an unusable data directory', function () {
  this.timeout(60_000);
  const env = (dataDir: string) => ({ REGISTO_DATA_DIR: dataDir, PORT: '0', REGISTO_SIGA_PORT: '0', REGISTO_IMMIGRATION_PORT: '0', REGISTO_ABIS_PORT: '0' });
  const lastLine = (stderr: string) => stderr.trim().split('\n').filter((l) => l.startsWith('registo: ')).at(-1) ?? stderr;

  it('a path under a file: "not a directory"', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'registo-notdir-')), 'a-file');
    writeFileSync(file, 'x');
    const r = await runCli(['start'], env(join(file, 'data')));
    expect(r.code).to.equal(1);
    expect(lastLine(r.stderr)).to.include(join(file, 'data')).and.to.include('not a directory');
    expect(r.stderr).to.not.include('[object Object]');
  });

  describe('on filesystems the test mounts', function () {
    before(function () {
      if (process.getuid?.() !== 0) this.skip();
    });

    it('a read-only filesystem: "read-only"', async () => {
      const fs = mountTmpfs('ro,size=1m');
      try {
        const r = await runCli(['start'], env(join(fs.dir, 'data')));
        expect(r.code).to.equal(1);
        expect(lastLine(r.stderr)).to.include(join(fs.dir, 'data')).and.to.include('read-only');
      } finally {
        fs.unmount();
      }
    });

    it('a full disk: "disk is full"', async () => {
      const fs = mountTmpfs('size=4m');
      try {
        const r = await runCli(['start'], env(join(fs.dir, 'data')));
        expect(r.code).to.equal(1);
        expect(lastLine(r.stderr)).to.include(join(fs.dir, 'data')).and.to.include('disk is full');
      } finally {
        fs.unmount();
      }
    });
  });
});
