import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verify } from 'node:crypto';
import { expect } from 'chai';
import { isRegistoError } from '@registo/schemas';
import {
  TRUST_KEYS,
  TRUST_ROLES,
  certificateUrls,
  normaliseSerialHex,
  openTrustKeys,
  performKeyCeremony,
} from '../src/index.js';

const signer = { mode: 'non_qualified' as const, pkcs11: null };

describe('openTrustKeys (non_qualified)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registo-trust-keys-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('creates a labelled software hierarchy once and opens the same keys again', async () => {
    const first = await openTrustKeys({ signer, dataDir: dir, publicUrl: 'http://127.0.0.1:8080', ensureSoftwareHierarchy: true });
    const again = await openTrustKeys({ signer, dataDir: dir, publicUrl: 'http://127.0.0.1:8080' });
    try {
      expect(first.mode).to.equal('non_qualified');
      expect(first.policyOid).to.equal('1.3.6.1.4.1.99999.1.2');
      for (const role of TRUST_ROLES) {
        expect(first.certificates[role].der.equals(again.certificates[role].der), role).to.equal(true);
        const data = Buffer.from(`signed by ${role}`);
        const signature = await again.signers[role].sign(data);
        expect(verify('sha256', data, first.certificates[role].x509.publicKey, signature), role).to.equal(true);
      }
      expect(first.certificates.root_ca.x509.subject).to.contain('(non-qualified)');
    } finally {
      await first.close();
      await again.close();
    }
  });

  it('refuses to start without a hierarchy, naming the ceremony', async () => {
    try {
      await openTrustKeys({ signer, dataDir: dir, publicUrl: 'http://127.0.0.1:8080' });
      expect.fail('opened without certificates');
    } catch (e) {
      expect(isRegistoError(e) && e.code).to.equal('CONFIG_INVALID');
      expect((e as Error).message).to.contain('registo keys init');
    }
  });

  it('refuses a certificate of another key', async () => {
    const a = await openTrustKeys({ signer, dataDir: dir, publicUrl: 'http://127.0.0.1:8080', ensureSoftwareHierarchy: true });
    await a.close();
    const other = await mkdtemp(join(tmpdir(), 'registo-trust-keys-other-'));
    try {
      const b = await openTrustKeys({ signer, dataDir: other, publicUrl: 'http://127.0.0.1:8080', ensureSoftwareHierarchy: true });
      await writeFile(join(dir, 'trust', 'ocsp.pem'), b.certificates.ocsp_signer.pem);
      await b.close();
      await openTrustKeys({ signer, dataDir: dir, publicUrl: 'http://127.0.0.1:8080' }).then(
        () => expect.fail('opened with a foreign certificate'),
        (e: unknown) => expect((e as Error).message).to.contain('certifies another key than registo-ocsp'),
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('refuses certificates that name another public URL, and the ceremony the message names issues them for the new one', async () => {
    const first = await openTrustKeys({ signer, dataDir: dir, publicUrl: 'http://127.0.0.1:58080', ensureSoftwareHierarchy: true });
    await first.close();
    const error = await openTrustKeys({ signer, dataDir: dir, publicUrl: 'http://127.0.0.1:58081', ensureSoftwareHierarchy: true }).then(
      () => expect.fail('opened certificates naming another URL'),
      (e: unknown) => e,
    );
    expect(isRegistoError(error) && error.code).to.equal('PUBLIC_URL_MISMATCH');
    const message = (error as Error).message;
    for (const text of ['http://127.0.0.1:58080', 'http://127.0.0.1:58081', 'REGISTO_PUBLIC_URL=http://127.0.0.1:58081 registo keys init', join(dir, 'trust')]) expect(message).to.contain(text);
    // What the message says to do: move the certificates that name URLs aside, run the ceremony again.
    await mkdir(join(dir, 'old'));
    for (const spec of TRUST_KEYS.filter((k) => k.issuer !== k.role)) await rename(join(dir, 'trust', spec.file), join(dir, 'old', spec.file));
    await performKeyCeremony({ signer, dataDir: dir, publicUrl: 'http://127.0.0.1:58081' });
    const again = await openTrustKeys({ signer, dataDir: dir, publicUrl: 'http://127.0.0.1:58081' });
    try {
      expect(certificateUrls(again.certificates.identity_ca.der)).to.include.members(['http://127.0.0.1:58081/ocsp', 'http://127.0.0.1:58081/crl/root-ca.crl']);
      expect(again.certificates.root_ca.der.equals(first.certificates.root_ca.der), 'the root is kept').to.equal(true);
    } finally {
      await again.close();
    }
  });
});

describe('normaliseSerialHex', () => {
  it('drops leading zero bytes and case', () => {
    expect(normaliseSerialHex('00AB12')).to.equal('ab12');
    expect(normaliseSerialHex(Buffer.from([0, 0, 0x7f]))).to.equal('7f');
    expect(normaliseSerialHex('f')).to.equal('0f');
    expect(normaliseSerialHex('00')).to.equal('00');
    expect(normaliseSerialHex('12:AB:CD')).to.equal('12abcd');
  });
});
