import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { isRegistoError } from '@registo/schemas';
import { type TrustKeys, openTrustKeys } from '@registo/trust';
import {
  CREDENTIAL_TYPES,
  STATUS_LIST_SIZE,
  base45Decode,
  base45Encode,
  claimsFor,
  credentialFromInput,
  decodeStatusList,
  encodeStatusList,
  fromQrPayload,
  parseStatusListPublicId,
  signVcJwt,
  statusBit,
  statusEntries,
  statusPositionOf,
  toQrPayload,
  vcPayload,
  verifyVcJwt,
} from '../src/index.js';

const signer = { mode: 'non_qualified' as const, pkcs11: null };
const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isRegistoError(e)) return e.code;
    throw e;
  }
  return 'no error';
};

describe('credential formats: Base45, QR payload, status list, VC JWT', () => {
  const dirs: string[] = [];
  let trust: TrustKeys;
  let foreign: TrustKeys;
  const anchors = () => ({ identityCa: trust.certificates.identity_ca.x509, root: trust.certificates.root_ca.x509 });
  const keyOf = (t: TrustKeys) => ({ signer: t.signers.identity_ca, certificateDer: t.certificates.identity_ca.der, chainDer: [t.certificates.root_ca.der] });
  const payload = (over: Partial<Parameters<typeof vcPayload>[0]> = {}) =>
    vcPayload({
      credentialId: 'nid-2345678901-r0',
      credentialType: 'NationalIdentityCredential',
      publicUrl: 'http://127.0.0.1:8080',
      issuerName: 'Registo Identity CA (non-qualified)',
      subjectId: 'urn:registo:uin:2345678901',
      claims: { uin: '2345678901', givenNames: 'Ana', surname: 'Lima' },
      issuedAt: new Date(Date.now() - 60_000),
      expiresAt: new Date(Date.now() + 86_400_000),
      signerMode: 'non_qualified',
      credentialStatus: statusEntries('http://127.0.0.1:8080', '1', 42),
      ...over,
    });

  before(async () => {
    for (let i = 0; i < 2; i++) dirs.push(await mkdtemp(join(tmpdir(), 'registo-vc-')));
    trust = await openTrustKeys({ signer, dataDir: dirs[0]!, publicUrl: 'http://127.0.0.1:8080', ensureSoftwareHierarchy: true });
    foreign = await openTrustKeys({ signer, dataDir: dirs[1]!, publicUrl: 'http://127.0.0.1:8080', ensureSoftwareHierarchy: true });
  });
  after(async () => {
    await trust?.close();
    await foreign?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('Base45 matches the RFC 9285 examples and round-trips any bytes', () => {
    expect(base45Encode(Buffer.from('AB'))).to.equal('BB8');
    expect(base45Encode(Buffer.from('Hello!!'))).to.equal('%69 VD92EX0');
    expect(base45Encode(Buffer.from('base-45'))).to.equal('UJCLQE7W581');
    expect(base45Decode('QED8WEX0').toString()).to.equal('ietf!');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => base45Decode(base45Encode(b)).equals(Buffer.from(b))));
    for (const bad of ['a', 'GGW', 'ZZZ', ':::', 'ab!']) expect(code(() => base45Decode(bad)), bad).to.equal('CREDENTIAL_QR_INVALID');
  });

  it('QR payloads round-trip; garbage is CREDENTIAL_QR_INVALID', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.c2ln';
    const qr = toQrPayload(jwt);
    expect(qr).to.match(/^RGV1:[0-9A-Z $%*+\-./:]+$/);
    expect(fromQrPayload(qr)).to.equal(jwt);
    expect(credentialFromInput(`  ${qr}\n`)).to.equal(jwt);
    expect(credentialFromInput(jwt)).to.equal(jwt);
    for (const bad of ['RGV2:ABC', 'RGV1:', 'RGV1:%69 VD92EX0', 'RGV1:abc']) expect(code(() => fromQrPayload(bad)), bad).to.equal('CREDENTIAL_QR_INVALID');
  });

  it('status positions are unique across lists and scattered within one', () => {
    const seen = new Set<string>();
    for (let s = 0; s < 5000; s++) {
      const p = statusPositionOf(s);
      expect(p.statusListIndex).to.be.within(0, STATUS_LIST_SIZE - 1);
      seen.add(`${p.statusListId}:${p.statusListIndex}`);
    }
    expect(seen.size).to.equal(5000);
    expect(Math.abs(statusPositionOf(1).statusListIndex - statusPositionOf(0).statusListIndex)).to.be.greaterThan(1000);
    expect(statusPositionOf(STATUS_LIST_SIZE).statusListId).to.equal('2');
    expect(parseStatusListPublicId('1-revocation')).to.deep.equal({ statusListId: '1', purpose: 'revocation' });
    for (const bad of ['0-revocation', '1-other', '1', '../1-revocation']) expect(parseStatusListPublicId(bad), bad).to.equal(null);
  });

  it('a bitstring status list sets exactly the given bits, index 0 leftmost, 16 KiB', () => {
    const set = [0, 7, 8, 42, STATUS_LIST_SIZE - 1];
    const bits = decodeStatusList(encodeStatusList(set));
    expect(bits.length).to.equal(STATUS_LIST_SIZE / 8);
    expect(bits[0]).to.equal(0b1000_0001);
    for (let i = 0; i < 100; i++) expect(statusBit(bits, i), String(i)).to.equal(set.includes(i));
    expect(statusBit(bits, STATUS_LIST_SIZE - 1)).to.equal(true);
    expect(code(() => decodeStatusList('zabc'))).to.equal('CREDENTIAL_MALFORMED');
    expect(code(() => decodeStatusList('uAAAA'))).to.equal('CREDENTIAL_MALFORMED');
  });

  it('claims hold only what the credential type allows', () => {
    const claims = claimsFor('NationalIdentityCredential', { uin: '2345678901', givenNames: 'Ana', surname: 'Lima', dateOfBirth: '1990-01-01', sex: 'F', nationality: 'STP', residency: 'CITIZEN', motherName: 'X', civilRegistryNumber: '123', address: 'y' });
    expect(Object.keys(claims)).to.deep.equal([...CREDENTIAL_TYPES.NationalIdentityCredential.attributes]);
    expect(claims).to.not.have.any.keys('motherName', 'civilRegistryNumber', 'address');
  });

  it('signs ES256 through the Signer; a generic JOSE library verifies it with the identity CA key', async () => {
    const jwt = await signVcJwt(keyOf(trust), payload());
    const { payload: p, protectedHeader } = await jwtVerify(jwt, trust.certificates.identity_ca.x509.publicKey, { algorithms: ['ES256'], typ: 'vc+jwt' });
    expect(protectedHeader.x5c).to.have.length(2);
    expect(protectedHeader.kid).to.be.a('string');
    expect(p).to.include({ signerMode: 'non_qualified', sub: 'urn:registo:uin:2345678901' });
    const v = await verifyVcJwt(jwt, anchors());
    expect(v.signatureValid).to.equal(true);
    expect(v.problems).to.deep.equal([]);
  });

  it('a tampered payload, a foreign issuer, an expired or future credential each say why', async () => {
    const jwt = await signVcJwt(keyOf(trust), payload());
    const [h, p, s] = jwt.split('.');
    const forged = Buffer.from(p!, 'base64url').toString().replace('"Ana"', '"Eva"');
    const tampered = await verifyVcJwt(`${h}.${Buffer.from(forged).toString('base64url')}.${s}`, anchors());
    expect(tampered.signatureValid).to.equal(false);
    expect(tampered.problems.map((x) => x.code)).to.deep.equal(['SIGNATURE_INVALID']);

    const alien = await verifyVcJwt(await signVcJwt(keyOf(foreign), payload()), anchors());
    expect(alien.signatureValid).to.equal(false);
    expect(alien.problems.map((x) => x.code)).to.deep.equal(['ISSUER_UNTRUSTED']);
    // The foreign key with our certificate in x5c: the signature does not hold.
    const borrowed = await verifyVcJwt(await signVcJwt({ ...keyOf(foreign), certificateDer: trust.certificates.identity_ca.der }, payload()), anchors());
    expect(borrowed.problems.map((x) => x.code)).to.deep.equal(['SIGNATURE_INVALID']);

    const old = await verifyVcJwt(await signVcJwt(keyOf(trust), payload({ issuedAt: new Date(Date.now() - 2e9), expiresAt: new Date(Date.now() - 1e9) })), anchors());
    expect(old.signatureValid).to.equal(true);
    expect(old.problems.map((x) => x.code)).to.deep.equal(['EXPIRED']);
    const future = await verifyVcJwt(await signVcJwt(keyOf(trust), payload({ issuedAt: new Date(Date.now() + 1e9), expiresAt: new Date(Date.now() + 2e9) })), anchors());
    expect(future.problems.map((x) => x.code)).to.deep.equal(['NOT_YET_VALID']);
  });

  it('what is not a JWT is CREDENTIAL_MALFORMED', async () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', 'e30.e30', '!!.??.**', `${Buffer.from('[1]').toString('base64url')}.e30.c2ln`, 'eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln',
      // Strict JSON: `alg` twice in the header, a claim twice in the payload.
      `${Buffer.from('{"alg":"none","alg":"ES256"}').toString('base64url')}.e30.c2ln`,
      `eyJhbGciOiJFUzI1NiJ9.${Buffer.from('{"sub":"1234567890","sub":"2345678901"}').toString('base64url')}.c2ln`]) {
      let got = 'no error';
      try {
        await verifyVcJwt(bad, anchors());
      } catch (e) {
        got = isRegistoError(e) ? e.code : String(e);
      }
      expect(got, bad).to.equal('CREDENTIAL_MALFORMED');
    }
  });
});
