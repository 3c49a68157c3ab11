import 'reflect-metadata';
import { ECDH, X509Certificate, createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/x509';
import { expect } from 'chai';
import type { SignerConfig } from '@registo/hsm';
import {
  type HolderCertificateRequest,
  type HolderIssuer,
  POLICY_OIDS,
  type TrustKeys,
  checkCsr,
  createHolderCertificateIssuer,
  derChildren,
  encodeCsr,
  fromPem,
  issueCertificate,
  openTrustKeys,
  parseCsr,
  performKeyCeremony,
  readDer,
  toPem,
} from '@registo/trust';
import { testSoftHsm } from '../src/support/softhsm.js';
import { opensslOk, run } from '../src/support/processes.js';
import { refusal } from '../src/support/refusal.js';

const PUBLIC_URL = 'https://registo.example.test';

async function openssl(...args: string[]): Promise<string> {
  return (await opensslOk(args)).stdout;
}

function p256Csr(): { csr: Buffer; spki: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return { csr: encodeCsr(privateKey, spki), spki };
}

function requestFor(csr: Buffer, overrides: Partial<HolderCertificateRequest> = {}): HolderCertificateRequest {
  const now = new Date();
  return {
    csrDer: csr,
    uin: '4821973605',
    credentialId: 'credential-1',
    serialNumber: Buffer.from('4a1b2c3d4e5f6071', 'hex'),
    notBefore: now,
    notAfter: new Date(now.getTime() + 5 * 365 * 86_400_000),
    ...overrides,
  };
}

const tbsOf = (der: Buffer) => {
  const [tbs] = derChildren(der, readDer(der));
  return der.subarray(tbs!.start, tbs!.end);
};

describe('holder CSRs: parse and proof of possession', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'registo-csr-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function opensslCsr(name: string, keyArgs: string[]): Promise<Buffer> {
    const key = join(dir, `${name}.key`);
    await openssl('genpkey', ...keyArgs, '-out', key);
    await openssl('req', '-new', '-key', key, '-subj', '/CN=Someone/emailAddress=someone@example.test', '-outform', 'DER', '-out', join(dir, `${name}.csr`));
    return readFileSync(join(dir, `${name}.csr`));
  }

  it('accepts an openssl P-256 CSR and re-encodes its key as the certified SubjectPublicKeyInfo', async () => {
    const csr = await opensslCsr('p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    const checked = await checkCsr(csr);
    const spki = fromPem(await openssl('req', '-inform', 'DER', '-in', join(dir, 'p256.csr'), '-pubkey', '-noout'), 'PUBLIC KEY');
    expect(checked.subjectPublicKeyInfo.toString('hex')).to.equal(spki.toString('hex'));
    expect(checked.signatureHash).to.equal('sha256');
  });

  it('RSA → CSR_KEY_UNSUPPORTED (rsa)', async () => {
    const e = await refusal(checkCsr(await opensslCsr('rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'])));
    expect(e.code).to.equal('CSR_KEY_UNSUPPORTED');
    expect(e.details.keyAlgorithm).to.equal('rsa');
  });

  it('Ed25519 → CSR_KEY_UNSUPPORTED (ed25519)', async () => {
    const e = await refusal(checkCsr(await opensslCsr('ed25519', ['-algorithm', 'ED25519'])));
    expect(e.code).to.equal('CSR_KEY_UNSUPPORTED');
    expect(e.details.keyAlgorithm).to.equal('ed25519');
  });

  it('P-384 and secp256k1 → CSR_CURVE_UNSUPPORTED naming the curve; explicit parameters too', async () => {
    const p384 = await refusal(checkCsr(await opensslCsr('p384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'])));
    expect(p384.code).to.equal('CSR_CURVE_UNSUPPORTED');
    expect(p384.details.curve).to.equal('P-384');
    const k1 = await refusal(checkCsr(await opensslCsr('k1', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1'])));
    expect(k1.details.curve).to.equal('secp256k1');
    const explicit = await refusal(checkCsr(await opensslCsr('explicit', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:explicit'])));
    expect(explicit.code).to.equal('CSR_CURVE_UNSUPPORTED');
  });

  it('a signature that does not verify → CSR_SIGNATURE_INVALID (altered request, altered signature, another key\'s signature)', async () => {
    const { csr } = p256Csr();
    const info = derChildren(csr, readDer(csr))[0]!;
    const alteredInfo = Buffer.from(csr);
    alteredInfo[info.end - 3]! ^= 0x01; // inside the public key: another key, same signature
    const e1 = await refusal(checkCsr(alteredInfo));
    expect(['CSR_SIGNATURE_INVALID', 'CSR_MALFORMED']).to.include(e1.code);
    const alteredSig = Buffer.from(csr);
    alteredSig[alteredSig.length - 5]! ^= 0x01;
    expect((await refusal(checkCsr(alteredSig))).code).to.equal('CSR_SIGNATURE_INVALID');
    // A CSR for key A signed by key B: well-formed, no proof of possession of A.
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const foreign = encodeCsr(b.privateKey, a.publicKey.export({ type: 'spki', format: 'der' }));
    expect((await refusal(checkCsr(foreign))).code).to.equal('CSR_SIGNATURE_INVALID');
  });

  it('garbage, truncated, trailing bytes, empty → CSR_MALFORMED', async () => {
    const { csr } = p256Csr();
    for (const bad of [Buffer.from('not a certification request'), csr.subarray(0, csr.length - 1), csr.subarray(0, 40), Buffer.concat([csr, Buffer.from([0])]), Buffer.alloc(0), Buffer.from('3000', 'hex')]) {
      expect((await refusal(checkCsr(bad))).code, bad.toString('hex').slice(0, 20)).to.equal('CSR_MALFORMED');
    }
  });

  it('a point that is not on P-256 → CSR_MALFORMED', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = Buffer.from(publicKey.export({ type: 'spki', format: 'der' }));
    spki[spki.length - 1]! ^= 0x01; // y no longer matches x
    const e = await refusal(checkCsr(encodeCsr(privateKey, spki)));
    expect(e.code).to.equal('CSR_MALFORMED');
  });

  it('a compressed P-256 point is accepted', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const point = Buffer.from(publicKey.export({ type: 'spki', format: 'der' })).subarray(26);
    const compressed = ECDH.convertKey(point, 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    const spki = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), compressed]);
    const checked = await checkCsr(encodeCsr(privateKey, spki));
    expect(checked.subjectPublicKeyInfo.equals(spki)).to.equal(true);
  });

  it('parseCsr agrees with @peculiar/x509 on the key and the signed bytes', async () => {
    for (let i = 0; i < 5; i++) {
      const { csr, spki } = p256Csr();
      const parsed = parseCsr(csr);
      const reference = new x509.Pkcs10CertificateRequest(csr);
      expect(parsed.subjectPublicKeyInfo.equals(Buffer.from(reference.publicKey.rawData))).to.equal(true);
      expect(parsed.subjectPublicKeyInfo.equals(spki)).to.equal(true);
      const info = AsnConvert.parse(csr, CertificationRequest).certificationRequestInfo;
      expect(parsed.certificationRequestInfo.equals(Buffer.from(AsnConvert.serialize(info)))).to.equal(true);
      expect(await reference.verify()).to.equal(true);
    }
  });
});

function issuerSuite(name: string, mode: 'qualified' | 'non_qualified', signerConfig: () => Promise<SignerConfig>): void {
  describe(`holder certificate issuer: ${name}`, function () {
    this.timeout(120_000);
    let dir: string;
    let trust: TrustKeys;
    let issuer: HolderIssuer;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `registo-holder-${mode}-`));
      const signer = await signerConfig();
      if (mode === 'qualified') await performKeyCeremony({ signer, dataDir: dir, publicUrl: PUBLIC_URL });
      trust = await openTrustKeys({ signer, dataDir: dir, publicUrl: PUBLIC_URL, ensureSoftwareHierarchy: mode === 'non_qualified' });
      issuer = await createHolderCertificateIssuer(trust, { publicUrl: PUBLIC_URL });
    });

    after(async () => {
      await issuer?.close();
      await trust?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function save(der: Buffer, file: string): Promise<string> {
      const path = join(dir, file);
      writeFileSync(path, toPem(der));
      return path;
    }

    it('openssl verify -x509_strict accepts issued certificates through the identity CA', async () => {
      for (let i = 0; i < 3; i++) {
        const { csr } = p256Csr();
        const issued = await issuer.issue(requestFor(csr, { serialNumber: randomBytes(16), uin: String(4000000000 + i) }));
        const file = await save(issued.certificateDer, `holder-${i}.pem`);
        const r = await run('openssl', ['verify', '-x509_strict', '-CAfile', join(trust.trustDir, 'root-ca.pem'), '-untrusted', join(trust.trustDir, 'identity-ca.pem'), file]);
        expect(r.code, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.include(': OK');
        // …and not against the root alone: it is the identity CA's.
        expect((await run('openssl', ['verify', '-CAfile', join(trust.trustDir, 'root-ca.pem'), file])).code).to.not.equal(0);
      }
    });

    it('the holder profile as openssl x509 -text prints it', async () => {
      const key = join(dir, 'holder.key');
      await openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key);
      // The CSR names a person and asks for extensions: none of it reaches the certificate.
      await openssl('req', '-new', '-key', key, '-subj', '/C=ST/GN=Maria/SN=Costa/CN=Maria Costa/emailAddress=maria@correio.st', '-addext', 'basicConstraints=critical,CA:TRUE', '-outform', 'DER', '-out', join(dir, 'holder.csr'));
      const issued = await issuer.issue(requestFor(readFileSync(join(dir, 'holder.csr')), { uin: '4821973605', serialNumber: Buffer.from('4a1b2c3d4e5f6071', 'hex') }));
      const text = await openssl('x509', '-in', await save(issued.certificateDer, 'profile.pem'), '-noout', '-text');
      expect(text).to.include(`Serial Number: ${BigInt('0x4a1b2c3d4e5f6071')} (0x4a1b2c3d4e5f6071)`);
      expect(text).to.match(/Subject: serialNumber = 4821973605, CN = 4821973605\n/);
      for (const personal of ['Maria', 'Costa', 'correio.st', 'C = ST']) expect(text).not.to.include(personal);
      expect(text).to.match(/Issuer: O = Registo, OU = Trust Services, CN = Registo Identity CA/);
      expect(text).to.match(/X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
      expect(text).to.match(/X509v3 Key Usage: critical\n\s+Digital Signature\n/);
      expect(text).to.match(/X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
      expect(text).to.include(`Policy: ${POLICY_OIDS[mode]}`);
      expect(text).to.include(`URI:${PUBLIC_URL}/crl/identity-ca.crl`);
      expect(text).to.include(`OCSP - URI:${PUBLIC_URL}/ocsp`);
      expect(text).to.include('ASN1 OID: prime256v1');
      const caSki = /X509v3 Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(await openssl('x509', '-in', join(trust.trustDir, 'identity-ca.pem'), '-noout', '-text'))![1];
      expect(/X509v3 Authority Key Identifier: \n\s+([0-9A-F:]+)/.exec(text)![1]).to.equal(caSki);
      const pub = await openssl('pkey', '-in', key, '-pubout', '-outform', 'DER', '-out', join(dir, 'holder.spki'));
      expect(pub).to.equal('');
      const point = readFileSync(join(dir, 'holder.spki')).subarray(26);
      const ski = createHash('sha1').update(point).digest('hex').toUpperCase().match(/../g)!.join(':');
      expect(/X509v3 Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(text)![1]).to.equal(ski);
      expect(issued.serialHex).to.equal('4a1b2c3d4e5f6071');
      expect(issued.subjectPublicKeySha256).to.equal(createHash('sha256').update(readFileSync(join(dir, 'holder.spki'))).digest('hex'));
      expect(text).not.to.include('CA:TRUE');
    });

    it('the template gives the same TBSCertificate bytes as issueCertificate, and parses to the same fields', async () => {
      for (let i = 0; i < 8; i++) {
        const { csr, spki } = p256Csr();
        const serial = randomBytes(1 + (i * 3) % 20);
        // A serial is positive: an all-zero draw (1 in 256 for one byte) is not one.
        serial[serial.length - 1]! |= 1;
        const notBefore = new Date(Date.UTC(2026, 0, 1) + Math.floor(Math.random() * 1e10));
        // Some validity ends after 2049: GeneralizedTime instead of UTCTime.
        const notAfter = new Date(notBefore.getTime() + (i % 2 ? 1 : 30) * 365 * 86_400_000 + 12_345);
        const request = requestFor(csr, { serialNumber: serial, uin: randomBytes(6).toString('hex').slice(0, 3 + i), notBefore, notAfter });
        if (notAfter > new Date(trust.certificates.identity_ca.x509.validTo)) {
          expect((await refusal(issuer.issue(request))).code).to.equal('REQUEST_INVALID');
          request.notAfter = new Date(Date.UTC(2050, 5, 1));
          if (request.notAfter > new Date(trust.certificates.identity_ca.x509.validTo)) request.notAfter = new Date(notBefore.getTime() + 86_400_000);
        }
        const fast = await issuer.issue(request);
        const reference = await issueCertificate(issuer.referenceOptions(request, spki));
        expect(tbsOf(fast.certificateDer).toString('hex'), `input ${i}`).to.equal(tbsOf(reference.der).toString('hex'));
        const a = new x509.X509Certificate(fast.certificateDer);
        const b = new x509.X509Certificate(reference.der);
        expect(a.serialNumber).to.equal(b.serialNumber);
        expect(a.subject).to.equal(b.subject);
        expect(a.issuer).to.equal(b.issuer);
        expect(a.notBefore.getTime()).to.equal(b.notBefore.getTime());
        expect(a.notAfter.getTime()).to.equal(b.notAfter.getTime());
        expect(a.extensions.map((e) => [e.type, e.critical, Buffer.from(e.value).toString('hex')])).to.deep.equal(b.extensions.map((e) => [e.type, e.critical, Buffer.from(e.value).toString('hex')]));
        expect(Buffer.from(a.publicKey.rawData).equals(spki)).to.equal(true);
        expect(new X509Certificate(fast.certificateDer).verify(trust.certificates.identity_ca.x509.publicKey)).to.equal(true);
      }
    });

    it('many at once (several token sessions in qualified mode): every certificate verifies, serials as requested', async () => {
      const csrs = Array.from({ length: 20 }, () => p256Csr().csr);
      const issued = await Promise.all(Array.from({ length: 200 }, (_, i) => issuer.issue(requestFor(csrs[i % 20]!, { serialNumber: Buffer.from([0x10, i >> 8, i & 0xff]), uin: String(5000000000 + i) }))));
      const caKey = trust.certificates.identity_ca.x509.publicKey;
      issued.forEach((c, i) => {
        const cert = new X509Certificate(c.certificateDer);
        expect(cert.verify(caKey), String(i)).to.equal(true);
        expect(cert.serialNumber).to.equal(Buffer.from([0x10, i >> 8, i & 0xff]).toString('hex').toUpperCase());
        expect(cert.subject).to.equal(`serialNumber=${5000000000 + i}\nCN=${5000000000 + i}`);
      });
    });

    it('refuses bad requests: CSR refusals pass through, bad UIN / validity / serial are REQUEST_INVALID', async () => {
      const { csr } = p256Csr();
      expect((await refusal(issuer.issue(requestFor(Buffer.from('garbage'))))).code).to.equal('CSR_MALFORMED');
      expect((await refusal(issuer.issue(requestFor(csr, { uin: 'Maria Costa' })))).code).to.equal('REQUEST_INVALID');
      expect((await refusal(issuer.issue(requestFor(csr, { uin: '' })))).code).to.equal('REQUEST_INVALID');
      const now = new Date();
      expect((await refusal(issuer.issue(requestFor(csr, { notBefore: now, notAfter: now })))).code).to.equal('REQUEST_INVALID');
      expect((await refusal(issuer.issue(requestFor(csr, { notAfter: new Date(Date.UTC(2100, 0, 1)) })))).code).to.equal('REQUEST_INVALID');
      expect((await refusal(issuer.issue(requestFor(csr, { serialNumber: Buffer.alloc(21, 0x11) })))).code).to.equal('REQUEST_INVALID');
      expect((await refusal(issuer.issue(requestFor(csr, { serialNumber: Buffer.alloc(3) })))).code).to.equal('REQUEST_INVALID');
      expect(issuer.mode).to.equal(mode);
    });

    it('CSR refusals come back from the worker threads with their codes and details', async () => {
      const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const foreign = encodeCsr(b.privateKey, a.publicKey.export({ type: 'spki', format: 'der' }));
      expect((await refusal(issuer.issue(requestFor(foreign)))).code).to.equal('CSR_SIGNATURE_INVALID');
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const e = await refusal(issuer.issue(requestFor(encodeCsr(a.privateKey, rsa.publicKey.export({ type: 'spki', format: 'der' })))));
      expect(e.code).to.equal('CSR_KEY_UNSUPPORTED');
      expect(e.details.keyAlgorithm).to.equal('rsa');
      const onMainThread = await createHolderCertificateIssuer(trust, { publicUrl: PUBLIC_URL, csrWorkers: 0 });
      try {
        expect((await refusal(onMainThread.issue(requestFor(foreign)))).code).to.equal('CSR_SIGNATURE_INVALID');
        const { csr } = p256Csr();
        expect(new X509Certificate((await onMainThread.issue(requestFor(csr))).certificateDer).verify(trust.certificates.identity_ca.x509.publicKey)).to.equal(true);
      } finally {
        await onMainThread.close();
      }
    });

    it('a serial with the high bit set is encoded positive (a leading zero byte) and reported without it', async () => {
      const { csr } = p256Csr();
      const issued = await issuer.issue(requestFor(csr, { serialNumber: Buffer.from('ff01', 'hex') }));
      expect(issued.serialHex).to.equal('ff01');
      expect(tbsOf(issued.certificateDer).subarray(9, 14).toString('hex')).to.equal('020300ff01'); // after the SEQUENCE header and the version [0]
      expect(new X509Certificate(issued.certificateDer).serialNumber).to.equal('FF01');
    });
  });
}

issuerSuite('software keys (non_qualified)', 'non_qualified', async () => ({ mode: 'non_qualified', pkcs11: null }));

issuerSuite('SoftHSM2 token (qualified)', 'qualified', async () => {
  const hsm = await testSoftHsm();
  return { mode: 'qualified', pkcs11: { module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env } };
});
