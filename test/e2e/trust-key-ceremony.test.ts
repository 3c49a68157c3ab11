import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { openEventStore } from '@registo/event-store';
import { POLICY_OIDS } from '@registo/trust';
import { KEY_CEREMONY_STREAM } from '@registo/producers';
import type { EventEnvelope, TrustEventData } from '@registo/schemas';
import { qualifiedSignerEnv, testSoftHsm } from '../src/support/softhsm.js';
import { runCli } from './cli/run-cli.js';

const LEAVES = ['ocsp.pem', 'tsa.pem', 'checkpoint.pem'];

function openssl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('openssl', args, { timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? 1 : 0, out: stdout + stderr }));
  });
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(path) : e.isFile() ? [path] : [];
  });
}

/** Files under `dir` whose bytes hold a PEM private key. */
function privateKeyFiles(dir: string): string[] {
  return filesUnder(dir).filter((f) => readFileSync(f).includes('PRIVATE KEY'));
}

/** `public key SHA-256 …` and `certificate SHA-256 …` lines, as the command prints them. */
function fingerprints(out: string): string[] {
  return out.split('\n').filter((l) => /^\s+(public key|certificate) SHA-256\s/.test(l)).map((l) => l.trim());
}

async function ceremonies(dataDir: string): Promise<EventEnvelope[]> {
  const store = await openEventStore({ kind: 'pglite', dataDir });
  try {
    return (await store.readStream(KEY_CEREMONY_STREAM)).filter((e) => e.type === 'KeyCeremonyPerformed');
  } finally {
    await store.close();
  }
}

const colons = (hex: string) => hex.toUpperCase().match(/../g)!.join(':');

async function chainVerifies(trustDir: string): Promise<void> {
  for (const leaf of LEAVES) {
    const r = await openssl(['verify', '-CAfile', join(trustDir, 'root-ca.pem'), '-untrusted', join(trustDir, 'identity-ca.pem'), join(trustDir, leaf)]);
    expect(r.code, r.out).to.equal(0);
  }
}

describe('registo keys init', function () {
  this.timeout(300_000);

  it('--help describes the ceremony, its options and the modes', async () => {
    const r = await runCli(['keys', 'init', '--help']);
    expect(r.code).to.equal(0);
    for (const text of ['--trust-dir', '--actor', '--json', 'REGISTO_SIGNER_MODE=qualified', 'registo-kek', 'REGISTO_PUBLIC_URL', 'replaces nothing']) expect(r.stdout).to.include(text);
    const keys = await runCli(['keys', '--help']);
    expect(keys.stdout).to.include('init');
  });

  describe('non_qualified (software keys)', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-keys-')), 'data');
    const env = { REGISTO_DATA_DIR: dataDir, REGISTO_SIGNER_MODE: 'non_qualified', REGISTO_PUBLIC_URL: 'http://trust.example.test:8080' };
    let first: { stdout: string; stderr: string; code: number | null };

    before(async () => {
      first = await runCli(['keys', 'init', '--actor', 'custodian-a'], env);
    });

    it('creates the keys in a 0600 PKCS#8 file labelled non-qualified, issues the hierarchy, prints fingerprints', async () => {
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stdout).to.include('signer mode non_qualified');
      expect(first.stdout).to.match(/KeyCeremonyPerformed recorded in trust-key-ceremony at position \d+/);
      const keyFile = join(dataDir, 'keys', 'trust-keys.non-qualified.pem');
      expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
      const keyText = readFileSync(keyFile, 'utf8');
      expect(keyText).to.include('NON-QUALIFIED');
      expect(keyText.match(/-----BEGIN PRIVATE KEY-----/g)).to.have.length(5);
      expect(fingerprints(first.stdout)).to.have.length(10);
      await chainVerifies(join(dataDir, 'trust'));
      const root = await openssl(['x509', '-in', join(dataDir, 'trust', 'identity-ca.pem'), '-noout', '-text']);
      expect(root.out).to.include(`Policy: ${POLICY_OIDS.non_qualified}`);
      expect(root.out).to.include('URI:http://trust.example.test:8080/crl/root-ca.crl');
      const certFingerprint = createHash('sha256').update(new X509Certificate(readFileSync(join(dataDir, 'trust', 'root-ca.pem'))).raw).digest('hex');
      expect(first.stdout).to.include(colons(certFingerprint));
    });

    it('records the ceremony as KeyCeremonyPerformed with the fingerprints and who ran it', async () => {
      const events = await ceremonies(dataDir);
      expect(events).to.have.length(1);
      const data = events[0]!.data as unknown as TrustEventData['KeyCeremonyPerformed'];
      expect(data.mode).to.equal('non_qualified');
      expect(data.policyOid).to.equal(POLICY_OIDS.non_qualified);
      expect(data.performedBy).to.equal('custodian-a');
      expect(events[0]!.metadata.actor).to.deep.include({ id: 'custodian-a' });
      expect(data.keys.map((k) => k.label)).to.deep.equal(['registo-root-ca', 'registo-identity-ca', 'registo-ocsp', 'registo-tsa', 'registo-checkpoint']);
      for (const key of data.keys) {
        expect(key.created).to.equal(true);
        expect(first.stdout).to.include(colons(key.publicKeySha256!));
        expect(first.stdout).to.include(colons(key.certificate!.sha256));
        expect(first.stdout).to.include(key.certificate!.serialNumber);
      }
      const file = { root_ca: 'root-ca.pem', identity_ca: 'identity-ca.pem', ocsp_signer: 'ocsp.pem', tsa_signer: 'tsa.pem', checkpoint_signer: 'checkpoint.pem' } as Record<string, string>;
      for (const key of data.keys) {
        const cert = new X509Certificate(readFileSync(join(dataDir, 'trust', file[key.role]!)));
        expect(key.certificate!.sha256).to.equal(createHash('sha256').update(cert.raw).digest('hex'));
        expect(key.publicKeySha256).to.equal(createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('hex'));
        expect(key.certificate!.notAfter).to.equal(new Date(cert.validTo).toISOString());
      }
    });

    it('a second run keeps every key and certificate, prints the same fingerprints and appends nothing', async () => {
      const before = readFileSync(join(dataDir, 'keys', 'trust-keys.non-qualified.pem'), 'utf8');
      const certs = ['root-ca.pem', 'identity-ca.pem', ...LEAVES].map((f) => readFileSync(join(dataDir, 'trust', f), 'utf8'));
      const second = await runCli(['keys', 'init', '--actor', 'custodian-b'], env);
      expect(second.code, second.stderr).to.equal(0);
      expect(fingerprints(second.stdout)).to.deep.equal(fingerprints(first.stdout));
      expect(second.stdout).to.include('nothing changed since the last recorded ceremony: no event appended');
      expect(second.stdout).not.to.include('generated');
      expect(second.stdout).not.to.include('issued ');
      expect(readFileSync(join(dataDir, 'keys', 'trust-keys.non-qualified.pem'), 'utf8')).to.equal(before);
      expect(['root-ca.pem', 'identity-ca.pem', ...LEAVES].map((f) => readFileSync(join(dataDir, 'trust', f), 'utf8'))).to.deep.equal(certs);
      expect(await ceremonies(dataDir)).to.have.length(1);
    });

    it('--json reports the same keys; a reissued certificate is a change and is recorded', async () => {
      const { rmSync } = await import('node:fs');
      rmSync(join(dataDir, 'trust', 'checkpoint.pem'));
      const r = await runCli(['keys', 'init', '--json'], env);
      expect(r.code, r.stderr).to.equal(0);
      const result = JSON.parse(r.stdout) as { recorded: boolean; keys: Array<{ label: string; keyCreated: boolean; certificate: { issued: boolean } }> };
      expect(result.recorded).to.equal(true);
      expect(result.keys.filter((k) => k.certificate.issued).map((k) => k.label)).to.deep.equal(['registo-checkpoint']);
      expect(result.keys.some((k) => k.keyCreated)).to.equal(false);
      expect(await ceremonies(dataDir)).to.have.length(2);
      await chainVerifies(join(dataDir, 'trust'));
    });
  });

  describe('qualified (SoftHSM2 token)', () => {
    it('generates the keys in the token, issues the hierarchy, records it once; no file holds a private key', async () => {
      const hsm = await testSoftHsm();
      const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-keys-q-')), 'data');
      const env = { REGISTO_DATA_DIR: dataDir, ...qualifiedSignerEnv(hsm) };
      const first = await runCli(['keys', 'init'], env);
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stdout).to.include(`keys in PKCS#11 token "${hsm.tokenLabel}"`);
      expect(first.stdout).to.include('registo-kek (kek)');
      expect(first.stdout).to.match(/KeyCeremonyPerformed recorded/);
      await chainVerifies(join(dataDir, 'trust'));
      const dump = await openssl(['x509', '-in', join(dataDir, 'trust', 'tsa.pem'), '-noout', '-text']);
      expect(dump.out).to.include(`Policy: ${POLICY_OIDS.qualified}`);
      const second = await runCli(['keys', 'init'], env);
      expect(second.code, second.stderr).to.equal(0);
      expect(fingerprints(second.stdout)).to.deep.equal(fingerprints(first.stdout));
      expect(second.stdout).to.include('no event appended');
      const events = await ceremonies(dataDir);
      expect(events).to.have.length(1);
      const data = events[0]!.data as unknown as TrustEventData['KeyCeremonyPerformed'];
      expect(data.mode).to.equal('qualified');
      expect(data.tokenLabel).to.equal(hsm.tokenLabel);
      expect(data.keys.find((k) => k.role === 'kek')).to.deep.include({ label: 'registo-kek', publicKeySha256: null, certificate: null });
      // The intake key-agreement key: in the token, recorded with its public key's fingerprint, found again on the rerun.
      const intake = data.keys.find((k) => k.role === 'intake_key');
      expect(intake).to.deep.include({ label: 'registo-intake', certificate: null });
      expect(intake!.publicKeySha256).to.match(/^[0-9a-f]{64}$/);
      expect(first.stdout).to.include('registo-intake (intake_key)');
      expect(second.stdout).to.match(/found\s+EC P-256 key-agreement key registo-intake in the token/);
      expect(existsSync(join(dataDir, 'keys', 'trust-keys.non-qualified.pem'))).to.equal(false);
      expect(privateKeyFiles(dataDir)).to.deep.equal([]);
    });

    it('with the token missing: CONFIG_INVALID naming it, exit 1, nothing written, no private key anywhere', async () => {
      const hsm = await testSoftHsm();
      const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-keys-missing-')), 'data');
      const r = await runCli(['keys', 'init'], { REGISTO_DATA_DIR: dataDir, ...qualifiedSignerEnv(hsm, 'no-such-token') });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('CONFIG_INVALID');
      expect(r.stderr).to.include('no PKCS#11 token labelled "no-such-token"');
      expect(existsSync(join(dataDir, 'trust'))).to.equal(false);
      expect(existsSync(join(dataDir, 'keys'))).to.equal(false);
      expect(privateKeyFiles(dataDir)).to.deep.equal([]);

      const unset = await runCli(['keys', 'init'], { REGISTO_DATA_DIR: dataDir, REGISTO_SIGNER_MODE: 'qualified', REGISTO_PKCS11_MODULE: '', REGISTO_PKCS11_TOKEN: '', REGISTO_PKCS11_PIN: '' });
      expect(unset.code).to.equal(1);
      expect(unset.stderr).to.match(/CONFIG_INVALID[\s\S]*REGISTO_PKCS11_MODULE/);
      expect(privateKeyFiles(dataDir)).to.deep.equal([]);
    });
  });
});
