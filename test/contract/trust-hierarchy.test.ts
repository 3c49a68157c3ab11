import 'reflect-metadata';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { expect } from 'chai';
import { Pkcs11Token, type SignerConfig, SoftwareSigner } from '@registo/hsm';
import {
  type KeyCeremonyResult,
  HMAC_KEYS,
  INTAKE_KEY,
  KEK_LABEL,
  POLICY_OIDS,
  TRUST_KEYS,
  issueCertificate,
  performKeyCeremony,
} from '@registo/trust';
import { RegistoError } from '@registo/schemas';
import { run } from '../src/support/processes.js';
import { testSoftHsm } from '../src/support/softhsm.js';

const PUBLIC_URL = 'https://registo.example.test';
const LEAVES = ['ocsp.pem', 'tsa.pem', 'checkpoint.pem'];

const text = async (file: string): Promise<string> => {
  const r = await run('openssl', ['x509', '-in', file, '-noout', '-text']);
  expect(r.code, r.stderr).to.equal(0);
  return r.stdout;
};

/** The lines of one extension in `openssl x509 -text` (its header and what follows, up to the next header). */
function extensionText(dump: string, header: string): string {
  const lines = dump.split('\n');
  const at = lines.findIndex((l) => l.includes(header));
  if (at < 0) return '';
  const out = [lines[at]!];
  for (const line of lines.slice(at + 1)) {
    if (/^\s{12}\S/.test(line) || /^\s{4}\S/.test(line)) break;
    out.push(line);
  }
  return out.join('\n');
}

function hierarchySuite(name: string, mode: 'qualified' | 'non_qualified', signerConfig: () => Promise<SignerConfig>): void {
  describe(`trust hierarchy: ${name}`, function () {
    this.timeout(300_000);
    let result: KeyCeremonyResult;
    let dataDir: string;
    let trustDir: string;

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), `registo-trust-${mode}-`));
      result = await performKeyCeremony({ signer: await signerConfig(), dataDir, publicUrl: PUBLIC_URL });
      trustDir = result.trustDir;
    });

    it('creates every key and issues every certificate of the hierarchy on the first run', () => {
      expect(result.mode).to.equal(mode);
      expect(result.changed).to.equal(true);
      expect(result.keys.map((k) => k.label)).to.deep.equal([...TRUST_KEYS.map((k) => k.label), ...(mode === 'qualified' ? [KEK_LABEL, ...HMAC_KEYS.map((k) => k.label), INTAKE_KEY.label] : [])]);
      if (mode === 'qualified') {
        // The intake key agrees keys (ECDH) and has no certificate; its public key is recorded.
        const intake = result.keys.find((k) => k.label === INTAKE_KEY.label)!;
        expect(intake.publicKeySha256).to.match(/^[0-9a-f]{64}$/);
        expect(intake.certificate).to.equal(null);
      }
      for (const key of result.keys.filter((k) => TRUST_KEYS.some((t) => t.label === k.label))) {
        expect(key.certificate?.issued, key.label).to.equal(true);
        expect(key.publicKeySha256).to.match(/^[0-9a-f]{64}$/);
        const der = new X509Certificate(readFileSync(key.certificate!.file)).raw;
        expect(key.certificate!.sha256).to.equal(createHash('sha256').update(der).digest('hex'));
      }
    });

    it('openssl verifies the identity CA against the root, and every leaf through the identity CA', async () => {
      const ca = await run('openssl', ['verify', '-x509_strict', '-CAfile', join(trustDir, 'root-ca.pem'), join(trustDir, 'identity-ca.pem')]);
      expect(ca.code, ca.stdout + ca.stderr).to.equal(0);
      for (const leaf of LEAVES) {
        const r = await run('openssl', ['verify', '-x509_strict', '-CAfile', join(trustDir, 'root-ca.pem'), '-untrusted', join(trustDir, 'identity-ca.pem'), join(trustDir, leaf)]);
        expect(r.code, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.include(': OK');
      }
    });

    it('the root signs only the identity CA: leaves do not verify against the root alone', async () => {
      for (const leaf of LEAVES) {
        const r = await run('openssl', ['verify', '-CAfile', join(trustDir, 'root-ca.pem'), join(trustDir, leaf)]);
        expect(r.code, leaf).to.not.equal(0);
      }
      const issuers = Object.fromEntries(result.keys.filter((k) => k.certificate).map((k) => [k.role, k.certificate!.issuer]));
      const subjects = Object.fromEntries(result.keys.filter((k) => k.certificate).map((k) => [k.role, k.certificate!.subject]));
      expect(issuers.root_ca).to.equal(subjects.root_ca);
      expect(issuers.identity_ca).to.equal(subjects.root_ca);
      for (const role of ['ocsp_signer', 'tsa_signer', 'checkpoint_signer']) expect(issuers[role], role).to.equal(subjects.identity_ca);
    });

    it('profiles: basicConstraints, keyUsage, extendedKeyUsage (openssl x509 -text)', async () => {
      const root = await text(join(trustDir, 'root-ca.pem'));
      expect(extensionText(root, 'Basic Constraints')).to.match(/critical[\s\S]*CA:TRUE, pathlen:1/);
      expect(extensionText(root, 'Key Usage: critical')).to.match(/Certificate Sign, CRL Sign/);
      expect(root).not.to.include('Extended Key Usage');
      const ca = await text(join(trustDir, 'identity-ca.pem'));
      expect(extensionText(ca, 'Basic Constraints')).to.match(/critical[\s\S]*CA:TRUE, pathlen:0/);
      expect(extensionText(ca, 'X509v3 Key Usage')).to.match(/critical[\s\S]*Certificate Sign, CRL Sign/);
      const ocsp = await text(join(trustDir, 'ocsp.pem'));
      expect(extensionText(ocsp, 'Basic Constraints')).to.match(/critical[\s\S]*CA:FALSE/);
      expect(extensionText(ocsp, 'X509v3 Key Usage')).to.match(/critical[\s\S]*Digital Signature/);
      expect(extensionText(ocsp, 'Extended Key Usage')).to.match(/OCSP Signing/);
      expect(ocsp).to.include('OCSP No Check');
      const tsa = await text(join(trustDir, 'tsa.pem'));
      expect(extensionText(tsa, 'Extended Key Usage')).to.match(/Extended Key Usage: critical[\s\S]*Time Stamping/);
      expect(extensionText(tsa, 'X509v3 Key Usage')).to.match(/critical[\s\S]*Digital Signature/);
      const checkpoint = await text(join(trustDir, 'checkpoint.pem'));
      expect(extensionText(checkpoint, 'X509v3 Key Usage')).to.match(/critical[\s\S]*Digital Signature/);
      expect(extensionText(checkpoint, 'X509v3 Key Usage')).not.to.match(/Certificate Sign/);
      expect(checkpoint).not.to.include('Extended Key Usage');
      expect(extensionText(checkpoint, 'Basic Constraints')).to.match(/CA:FALSE/);
    });

    it(`every certificate carries the ${mode} policy OID, and only that one`, async () => {
      const other = POLICY_OIDS[mode === 'qualified' ? 'non_qualified' : 'qualified'];
      for (const file of ['root-ca.pem', 'identity-ca.pem', ...LEAVES]) {
        const dump = await text(join(trustDir, file));
        expect(dump, file).to.include(`Policy: ${POLICY_OIDS[mode]}`);
        expect(dump, file).not.to.include(other);
        // The same through @peculiar/x509.
        const cert = new x509.X509Certificate(readFileSync(join(trustDir, file), 'utf8'));
        expect(cert.getExtension(x509.CertificatePolicyExtension)?.policies, file).to.deep.equal([POLICY_OIDS[mode]]);
        if (mode === 'non_qualified') expect(cert.subject, file).to.include('(non-qualified)');
        else expect(cert.subject, file).not.to.include('non-qualified');
      }
    });

    it('CRL distribution points and the OCSP URL are built from the public URL', async () => {
      const root = await text(join(trustDir, 'root-ca.pem'));
      expect(root).not.to.include('CRL Distribution Points');
      const ca = await text(join(trustDir, 'identity-ca.pem'));
      expect(extensionText(ca, 'CRL Distribution Points')).to.include(`URI:${PUBLIC_URL}/crl/root-ca.crl`);
      expect(extensionText(ca, 'Authority Information Access')).to.include(`OCSP - URI:${PUBLIC_URL}/ocsp`);
      for (const leaf of LEAVES) {
        const dump = await text(join(trustDir, leaf));
        expect(extensionText(dump, 'CRL Distribution Points'), leaf).to.include(`URI:${PUBLIC_URL}/crl/identity-ca.crl`);
        if (leaf === 'ocsp.pem') expect(dump).not.to.include('Authority Information Access');
        else expect(extensionText(dump, 'Authority Information Access'), leaf).to.include(`OCSP - URI:${PUBLIC_URL}/ocsp`);
      }
    });

    it('a second run replaces nothing: same keys, same certificates', async () => {
      const again = await performKeyCeremony({ signer: await signerConfig(), dataDir, publicUrl: PUBLIC_URL });
      expect(again.changed).to.equal(false);
      expect(again.keys.map((k) => [k.label, k.publicKeySha256, k.certificate?.sha256 ?? null])).to.deep.equal(
        result.keys.map((k) => [k.label, k.publicKeySha256, k.certificate?.sha256 ?? null]),
      );
      expect(again.keys.every((k) => !k.keyCreated && k.certificate?.issued !== true)).to.equal(true);
    });

    it('a missing certificate is issued again for the same key; the others are kept', async () => {
      const { rmSync } = await import('node:fs');
      rmSync(join(trustDir, 'tsa.pem'));
      const again = await performKeyCeremony({ signer: await signerConfig(), dataDir, publicUrl: PUBLIC_URL });
      const tsa = again.keys.find((k) => k.role === 'tsa_signer')!;
      const before = result.keys.find((k) => k.role === 'tsa_signer')!;
      expect(tsa.keyCreated).to.equal(false);
      expect(tsa.publicKeySha256).to.equal(before.publicKeySha256);
      expect(tsa.certificate!.issued).to.equal(true);
      expect(tsa.certificate!.sha256).not.to.equal(before.certificate!.sha256);
      expect(again.keys.filter((k) => k.certificate?.issued).map((k) => k.role)).to.deep.equal(['tsa_signer']);
      const r = await run('openssl', ['verify', '-CAfile', join(trustDir, 'root-ca.pem'), '-untrusted', join(trustDir, 'identity-ca.pem'), join(trustDir, 'tsa.pem')]);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
    });

    it('a certificate of another key in the trust folder is refused, not overwritten', async () => {
      const other = mkdtempSync(join(tmpdir(), 'registo-trust-other-'));
      const { copyFileSync } = await import('node:fs');
      // A certificate for a key that is not the ceremony's.
      const stranger = SoftwareSigner.generate('stranger');
      const issued = await issueCertificate({
        issuerSigner: stranger,
        issuerName: [['CN', 'Stranger']],
        subjectName: [['CN', 'Stranger']],
        subjectPublicKeySpki: await stranger.publicKeySpki(),
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 86_400_000),
        ca: { pathLength: 1 },
        keyUsage: 0x20,
      });
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(other, 'root-ca.pem'), issued.pem);
      copyFileSync(join(trustDir, 'identity-ca.pem'), join(other, 'identity-ca.pem'));
      try {
        await performKeyCeremony({ signer: await signerConfig(), dataDir, trustDir: other, publicUrl: PUBLIC_URL });
        expect.fail('expected CONFIG_INVALID');
      } catch (error) {
        expect(error).to.be.instanceOf(RegistoError);
        expect((error as RegistoError).code).to.equal('CONFIG_INVALID');
        expect((error as RegistoError).message).to.match(/root-ca\.pem certifies another key than registo-root-ca/);
      }
      expect(readFileSync(join(other, 'root-ca.pem'), 'utf8')).to.equal(issued.pem);
    });
  });
}

describe('issueCertificate', () => {
  it('signs the TBSCertificate through a Signer; the serial and validity are the ones asked for', async () => {
    const signer = SoftwareSigner.generate('unit');
    const serial = Buffer.from('0123456789abcdef', 'hex');
    const notBefore = new Date('2026-01-01T00:00:00.500Z');
    const notAfter = new Date('2027-01-01T00:00:00Z');
    const issued = await issueCertificate({
      issuerSigner: signer,
      issuerName: [['C', 'MZ'], ['O', 'Registo'], ['CN', 'Unit Root']],
      subjectName: [['C', 'MZ'], ['O', 'Registo'], ['CN', 'Unit Root']],
      subjectPublicKeySpki: await signer.publicKeySpki(),
      serialNumber: serial,
      notBefore,
      notAfter,
      ca: { pathLength: 0 },
      keyUsage: 0x20 | 0x40,
      policies: [POLICY_OIDS.non_qualified],
    });
    const cert = new X509Certificate(issued.der);
    expect(cert.verify(cert.publicKey)).to.equal(true);
    expect(cert.serialNumber.toUpperCase()).to.equal('0123456789ABCDEF');
    expect(issued.serialNumber).to.equal('0123456789ABCDEF');
    expect(cert.subject).to.equal('C=MZ\nO=Registo\nCN=Unit Root');
    expect(new Date(cert.validFrom).toISOString()).to.equal('2026-01-01T00:00:00.000Z');
    expect(new Date(cert.validTo).toISOString()).to.equal('2027-01-01T00:00:00.000Z');
    expect(cert.ca).to.equal(true);
    expect(issued.pem).to.match(/^-----BEGIN CERTIFICATE-----\n/);
  });

  it('refuses a negative serial and an empty validity', async () => {
    const signer = SoftwareSigner.generate('unit');
    const base = {
      issuerSigner: signer,
      issuerName: [['CN', 'x']] as const,
      subjectName: [['CN', 'x']] as const,
      subjectPublicKeySpki: await signer.publicKeySpki(),
      keyUsage: 1,
    };
    for (const bad of [
      { ...base, serialNumber: Buffer.from([0x80, 1]), notBefore: new Date(0), notAfter: new Date(1000) },
      { ...base, notBefore: new Date(1000), notAfter: new Date(1000) },
    ]) {
      try {
        await issueCertificate(bad);
        expect.fail('expected a refusal');
      } catch (error) {
        expect((error as RegistoError).code).to.equal('REQUEST_INVALID');
      }
    }
  });
});

hierarchySuite('software signer (non_qualified)', 'non_qualified', async () => ({ mode: 'non_qualified', pkcs11: null }));

hierarchySuite('SoftHSM2 token (qualified)', 'qualified', async () => {
  const hsm = await testSoftHsm();
  return { mode: 'qualified', pkcs11: { module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env } };
});

describe('trust hierarchy keys on the SoftHSM2 token', function () {
  this.timeout(300_000);

  it('are generated in the token, sensitive and never extractable (the KEK too)', async () => {
    const hsm = await testSoftHsm();
    const signer: SignerConfig = { mode: 'qualified', pkcs11: { module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env } };
    await performKeyCeremony({ signer, dataDir: mkdtempSync(join(tmpdir(), 'registo-trust-attrs-')), publicUrl: PUBLIC_URL });
    const token = await Pkcs11Token.open({ module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env });
    try {
      for (const label of [...TRUST_KEYS.map((k) => k.label), KEK_LABEL, ...HMAC_KEYS.map((k) => k.label), INTAKE_KEY.label]) {
        expect(await token.heldInTokenProblems(label), label).to.deep.equal([]);
        const secret = (await token.keyAttributes(label)).filter((a) => a.class !== 'public');
        expect(secret, label).to.have.length(1);
        expect(secret[0]!.sensitive, label).to.equal(true);
        expect(secret[0]!.extractable, label).to.equal(false);
        expect(secret[0]!.local, label).to.equal(true);
      }
    } finally {
      await token.close();
    }
  });

  it('pkcs11-tool (OpenSC) lists them as private, sensitive, never extractable, local', async () => {
    const hsm = await testSoftHsm();
    const r = await run('pkcs11-tool', ['--module', hsm.module, '--token-label', hsm.tokenLabel, '--list-objects', '--login', '--pin', hsm.userPin], { env: { ...process.env, ...hsm.env } });
    expect(r.code, r.stderr).to.equal(0);
    const blocks = r.stdout.split(/^(?=\S.* Object;)/m);
    for (const [kind, label] of [...TRUST_KEYS.map((k) => ['Private Key', k.label] as const), ['Secret Key', KEK_LABEL] as const, ...HMAC_KEYS.map((k) => ['Secret Key', k.label] as const)]) {
      const block = blocks.find((b) => b.startsWith(kind) && new RegExp(`^\\s+label:\\s*${label}\\s*$`, 'm').test(b));
      expect(block, `${kind} ${label}\n${r.stdout}`).to.not.equal(undefined);
      const access = /^\s+Access:\s*(.*)$/m.exec(block!)?.[1]?.split(',').map((a) => a.trim()) ?? [];
      expect(access, label).to.include.members(['sensitive', 'always sensitive', 'never extractable', 'local']);
      expect(access, label).to.not.include('extractable');
    }
    // Without login the private and secret keys are not even listed (CKA_PRIVATE).
    const anonymous = await run('pkcs11-tool', ['--module', hsm.module, '--token-label', hsm.tokenLabel, '--list-objects'], { env: { ...process.env, ...hsm.env } });
    expect(anonymous.stdout).not.to.match(/Private Key Object|Secret Key Object/);
  });
});
