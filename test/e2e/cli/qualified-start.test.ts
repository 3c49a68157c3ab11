import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initToken } from '@registo/deploy';
import { PGliteDriver } from '@registo/event-store';
import { Pkcs11Token } from '@registo/hsm';
import { qualifiedStartEnv, testSoftHsm, type TestSoftHsm } from '../../src/support/softhsm.js';
import { exitOf, runCli, startCli } from './run-cli.js';

describe('registo start in qualified mode (SoftHSM2)', function () {
  this.timeout(180_000);
  let hsm: TestSoftHsm;

  before(async () => {
    hsm = await testSoftHsm();
  });

  const qualified = (dataDir: string, token = hsm.tokenLabel): NodeJS.ProcessEnv => qualifiedStartEnv(hsm, dataDir, token);

  it('refuses to start without its token, naming it; no software fallback', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-q-')), 'data');
    const r = await runCli(['start', '--port', '0'], qualified(dataDir, 'no-such-token'));
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/no-such-token/);
    expect(r.stderr).to.not.match(/ready on/);
  });

  it('refuses to start while the token has no key-encryption key, and says how to make one', async () => {
    // A token of its own, seen only by the child process: other suites may have put a KEK on the shared one.
    const empty = await initToken({ label: 'registo-no-kek', soPin: hsm.soPin, userPin: hsm.userPin, conf: hsm.conf, module: hsm.module });
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-q-')), 'data');
    const r = await runCli(['start', '--port', '0'], qualified(dataDir, empty.label));
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/registo-kek/);
    expect(r.stderr).to.match(/registo keys init/);
  });

  it('refuses to start while the token has a KEK but no CA hierarchy, and says how to make one', async () => {
    const bare = await initToken({ label: 'registo-kek-only', soPin: hsm.soPin, userPin: hsm.userPin, conf: hsm.conf, module: hsm.module });
    const token = await Pkcs11Token.open({ module: hsm.module, tokenLabel: bare.label, userPin: hsm.userPin, env: hsm.env });
    await token.ensureAesKey('registo-kek');
    await token.close();
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-q-')), 'data');
    const r = await runCli(['start', '--port', '0'], qualified(dataDir, bare.label));
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/root-ca\.pem is missing/);
    expect(r.stderr).to.match(/registo keys init/);
  });

  it('after the key ceremony: starts, seals with the KEK, says so in /readyz; the PIN is never printed', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-q-')), 'data');
    const ceremony = await runCli(['keys', 'init'], qualified(dataDir));
    expect(ceremony.code, ceremony.stderr).to.equal(0);
    const { child, url, output } = await startCli(['start', '--port', '0'], qualified(dataDir));
    try {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { signer: { mode: string; kekKind: string; kek: string; hmacKeys: string[] } };
      expect(ready.signer).to.deep.include({ mode: 'qualified', kekKind: 'pkcs11', kek: `pkcs11:${hsm.tokenLabel}/registo-kek`, policyOid: '1.3.6.1.4.1.99999.1.1' });
      // The blind-index and UIN keys are the token's HMAC keys, not the key file's.
      expect(ready.signer.hmacKeys).to.deep.equal([`pkcs11:${hsm.tokenLabel}/registo-blind-index`, `pkcs11:${hsm.tokenLabel}/registo-uin`]);
      // Packets are decrypted by the token's intake key (ECDH in the token), not the key file's.
      expect((ready.signer as unknown as { intakeKey: string }).intakeKey).to.equal(`pkcs11:${hsm.tokenLabel}/registo-intake`);
      // A few enrollments, so that personal data is sealed under data keys the token wraps.
      const demo = await runCli(['demo', '--enrollments', '3', '--url', url, '--invalid', '0', '--wait', '60'], qualified(dataDir));
      expect(demo.code, demo.stderr).to.equal(0);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exitOf(child)).to.equal(0);
    expect(output()).to.not.include(hsm.userPin);
    expect(output()).to.include('"userPin": "***"');
    // Every data key was wrapped by the token's KEK; the key file's software KEK was never used.
    const db = await PGliteDriver.open(dataDir);
    try {
      const kekIds = (await db.query<{ kek_id: string }>('SELECT DISTINCT kek_id FROM registo_subject_keys')).map((r) => r.kek_id);
      expect(kekIds).to.deep.equal([`pkcs11:${hsm.tokenLabel}/registo-kek`]);
    } finally {
      await db.close();
    }
  });
});
