import { verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Nonce, OCSPRequest, id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { CRLReasons, GeneralName } from '@peculiar/asn1-x509';
import fc from 'fast-check';
import { expect } from 'chai';
import { RegistoError } from '@registo/schemas';
import {
  type CertificateStatusSource,
  InMemoryCertificateStatusSource,
  MAX_CERT_IDS,
  buildOcspRequest,
  readOcspResponse,
  OCSP_ERROR_RESPONSES,
  OcspResponder,
  type TrustKeys,
  decodeOcspRequest,
  keyIdentifier,
} from '../src/index.js';
import { certIdOf, issueHolder, ocspRequest, parseOcspResponse, softwareTrustKeys } from './ocsp-fixtures.js';

describe('OCSP request decoding', () => {
  let trust: TrustKeys;
  before(async () => {
    trust = await softwareTrustKeys();
  });
  after(async () => trust.close());

  it('reads the CertIDs (SHA-1 and SHA-256) and the nonce', () => {
    const der = ocspRequest([certIdOf(trust.certificates.identity_ca.der, '0abc'), certIdOf(trust.certificates.identity_ca.der, '80ff', 'sha256')], 16);
    const decoded = decodeOcspRequest(der);
    if ('problem' in decoded) throw new Error(decoded.detail);
    expect(decoded.certIds.map((c) => c.serialHex)).to.deep.equal(['0abc', '80ff']);
    expect(decoded.certIds.map((c) => c.hashAlgorithm)).to.deep.equal(['1.3.14.3.2.26', '2.16.840.1.101.3.4.2.1']);
    expect(AsnConvert.parse(decoded.nonceExtnValue!, Nonce).byteLength).to.equal(16);
  });

  const refused: Array<[string, () => Buffer]> = [
    ['an empty body', () => Buffer.alloc(0)],
    ['garbage', () => Buffer.from('this is not DER at all')],
    ['a truncated request', () => ocspRequest([certIdOf(trust.certificates.identity_ca.der, '01')]).subarray(0, 40)],
    ['trailing bytes', () => Buffer.concat([ocspRequest([certIdOf(trust.certificates.identity_ca.der, '01')]), Buffer.from([0, 0])])],
    ['a DER certificate instead of a request', () => trust.certificates.identity_ca.der],
    ['a nonce of 33 octets', () => ocspRequest([certIdOf(trust.certificates.identity_ca.der, '01')], 33)],
    ['a nonce of 0 octets', () => ocspRequest([certIdOf(trust.certificates.identity_ca.der, '01')], 0)],
    ['no CertID', () => ocspRequest([])],
    [`${MAX_CERT_IDS + 1} CertIDs`, () => ocspRequest(Array.from({ length: MAX_CERT_IDS + 1 }, (_, i) => certIdOf(trust.certificates.identity_ca.der, (i + 1).toString(16).padStart(2, '0'))))],
  ];
  for (const [what, make] of refused) {
    it(`refuses ${what} as malformedRequest`, () => {
      const decoded = decodeOcspRequest(make());
      expect(decoded).to.have.property('problem', 'malformedRequest');
    });
  }

  it('accepts a nonce of 32 octets', () => {
    expect(decodeOcspRequest(ocspRequest([certIdOf(trust.certificates.identity_ca.der, '01')], 32))).not.to.have.property('problem');
  });
});

/** A source that counts lookups, and can be made to fail. */
class CountingSource implements CertificateStatusSource {
  lookups = 0;
  failWith: Error | null = null;
  constructor(readonly inner: InMemoryCertificateStatusSource) {}
  async statusOf(serialHex: string) {
    this.lookups++;
    if (this.failWith) throw this.failWith;
    return this.inner.statusOf(serialHex);
  }
  revoked = () => this.inner.revoked();
  changesSince = (r: number) => this.inner.changesSince(r);
  revision = () => this.inner.revision();
}

describe('OcspResponder', () => {
  let trust: TrustKeys;
  let memory: InMemoryCertificateStatusSource;
  let source: CountingSource;
  let responder: OcspResponder;
  let holder: string;

  before(async () => {
    trust = await softwareTrustKeys();
  });
  after(async () => trust.close());
  beforeEach(async () => {
    memory = new InMemoryCertificateStatusSource();
    source = new CountingSource(memory);
    holder = (await issueHolder(trust)).serialHex;
    memory.issue(holder);
    responder = await OcspResponder.create({ trust, status: source, pollMs: 0 });
  });
  afterEach(() => responder.close());

  const ask = async (der: Buffer) => {
    const answer = await responder.respond(der);
    return { answer, parsed: parseOcspResponse(answer.der) };
  };

  it('answers good, signed by the OCSP signer, responder by key, its certificate included, the nonce echoed', async () => {
    const request = ocspRequest([certIdOf(trust.certificates.identity_ca.der, holder)], 20);
    const { answer, parsed } = await ask(request);
    expect(answer.responseStatus).to.equal('successful');
    expect(answer.maxAgeSeconds).to.equal(0);
    const basic = parsed.basic!;
    const single = basic.tbsResponseData.responses[0]!;
    expect(single.certStatus.good).to.equal(null);
    expect(single.nextUpdate!.getTime() - single.thisUpdate.getTime()).to.equal(600_000);
    expect(Buffer.from(basic.tbsResponseData.responderID.byKey!.buffer).equals(keyIdentifier(await trust.signers.ocsp_signer.publicKeySpki()))).to.equal(true);
    expect(Buffer.from(AsnConvert.serialize(basic.certs![0]!)).equals(trust.certificates.ocsp_signer.der)).to.equal(true);
    expect(basic.signatureAlgorithm.algorithm).to.equal('1.2.840.10045.4.3.2');
    expect(verify('sha256', parsed.tbsDer!, trust.certificates.ocsp_signer.x509.publicKey, Buffer.from(basic.signature))).to.equal(true);
    const nonce = basic.tbsResponseData.responseExtensions!.find((e) => e.extnID === id_pkix_ocsp_nonce)!;
    const decoded = decodeOcspRequest(request);
    expect(Buffer.from(nonce.extnValue.buffer).equals((decoded as { nonceExtnValue: Buffer }).nonceExtnValue)).to.equal(true);
  });

  it('answers revoked with time and reason, certificateHold for a suspension, unknown for a serial never issued', async () => {
    const held = (await issueHolder(trust)).serialHex;
    memory.issue(held);
    memory.revoke(holder, 'keyCompromise', new Date('2026-07-01T12:34:56Z'));
    memory.hold(held, new Date('2026-07-02T01:02:03Z'));
    const ca = trust.certificates.identity_ca.der;
    const { parsed } = await ask(ocspRequest([certIdOf(ca, holder), certIdOf(ca, held, 'sha256'), certIdOf(ca, '0123456789')]));
    const [revoked, onHold, unknown] = parsed.basic!.tbsResponseData.responses;
    expect(revoked!.certStatus.revoked!.revocationTime.toISOString()).to.equal('2026-07-01T12:34:56.000Z');
    expect(revoked!.certStatus.revoked!.revocationReason?.reason).to.equal(CRLReasons.keyCompromise);
    expect(onHold!.certStatus.revoked!.revocationReason?.reason).to.equal(CRLReasons.certificateHold);
    expect(unknown!.certStatus.unknown).to.equal(null);
  });

  it("answers good for the hierarchy's own certificates under the identity CA (TSA, checkpoint and OCSP signers), signed by the OCSP signer", async () => {
    const ca = trust.certificates.identity_ca.der;
    const own = (['tsa_signer', 'checkpoint_signer', 'ocsp_signer'] as const).map((role) => trust.certificates[role].x509.serialNumber.toLowerCase());
    const { parsed } = await ask(ocspRequest(own.map((serial) => certIdOf(ca, serial)), 16));
    const basic = parsed.basic!;
    expect(basic.tbsResponseData.responses.map((r) => r.certStatus.good)).to.deep.equal([null, null, null]);
    expect(verify('sha256', parsed.tbsDer!, trust.certificates.ocsp_signer.x509.publicKey, Buffer.from(basic.signature))).to.equal(true);
    // Not from the holders' source: it was never asked about them.
    expect(source.lookups).to.equal(0);
  });

  it("answers for the root CA too: the identity CA's certificate is good, another serial unknown, signed by the root's own key", async () => {
    const root = trust.certificates.root_ca;
    const identitySerial = trust.certificates.identity_ca.x509.serialNumber.toLowerCase();
    for (const nonce of [undefined, 16]) {
      const { answer, parsed } = await ask(ocspRequest([certIdOf(root.der, identitySerial, 'sha256'), certIdOf(root.der, holder)], nonce));
      expect(answer.responseStatus).to.equal('successful');
      const basic = parsed.basic!;
      const [identityCa, stranger] = basic.tbsResponseData.responses;
      expect(identityCa!.certStatus.good).to.equal(null);
      expect(stranger!.certStatus.unknown).to.equal(null);
      // RFC 6960 §4.2.2.2: the CA that issued the certificate signs; its certificate comes with the answer.
      expect(Buffer.from(basic.tbsResponseData.responderID.byKey!.buffer).equals(keyIdentifier(await trust.signers.root_ca.publicKeySpki()))).to.equal(true);
      expect(Buffer.from(AsnConvert.serialize(basic.certs![0]!)).equals(root.der)).to.equal(true);
      expect(verify('sha256', parsed.tbsDer!, root.x509.publicKey, Buffer.from(basic.signature))).to.equal(true);
    }
    // The cached, nonce-less answer for one CertID is the root's as well.
    const single = ocspRequest([certIdOf(root.der, identitySerial)]);
    const first = await responder.respond(single);
    expect((await responder.respond(single)).der.equals(first.der)).to.equal(true);
    const cached = parseOcspResponse(first.der);
    expect(cached.basic!.tbsResponseData.responses[0]!.certStatus.good).to.equal(null);
    expect(verify('sha256', cached.tbsDer!, root.x509.publicKey, Buffer.from(cached.basic!.signature))).to.equal(true);
  });

  it('answers unauthorized for a CertID of a CA it does not serve, and for one request naming two issuers', async () => {
    // The TSA certificate as an "issuer": hashes of a name and key that are no CA of this responder.
    const other = await ask(ocspRequest([certIdOf(trust.certificates.tsa_signer.der, holder)]));
    expect(other.answer.responseStatus).to.equal('unauthorized');
    expect(parseOcspResponse(other.answer.der).status).to.equal(6);
    const identitySerial = trust.certificates.identity_ca.x509.serialNumber.toLowerCase();
    const mixed = await ask(ocspRequest([certIdOf(trust.certificates.identity_ca.der, holder), certIdOf(trust.certificates.root_ca.der, identitySerial)], 8));
    expect(mixed.answer.responseStatus).to.equal('unauthorized');
  });

  it('answers malformedRequest for garbage', async () => {
    const { answer } = await ask(Buffer.from([0x30, 0x03, 0x02, 0x01]));
    expect(answer.responseStatus).to.equal('malformedRequest');
    expect(parseOcspResponse(answer.der).status).to.equal(1);
  });

  it('reuses a signed answer without a nonce until the status of that serial changes', async () => {
    const request = ocspRequest([certIdOf(trust.certificates.identity_ca.der, holder)]);
    const first = await responder.respond(request);
    const second = await responder.respond(request);
    expect(second.der.equals(first.der)).to.equal(true);
    expect(first.maxAgeSeconds).to.be.within(1, 60);
    expect(source.lookups).to.equal(1);
    expect(responder.stats.cacheHits).to.equal(1);

    // Another certificate's change leaves this answer in place.
    const other = (await issueHolder(trust)).serialHex;
    memory.issue(other);
    memory.revoke(other, 'superseded', new Date());
    await responder.notify();
    expect((await responder.respond(request)).der.equals(first.der)).to.equal(true);

    memory.revoke(holder, 'affiliationChanged', new Date('2026-08-01T00:00:00Z'));
    await responder.notify();
    const after = parseOcspResponse((await responder.respond(request)).der);
    expect(after.basic!.tbsResponseData.responses[0]!.certStatus.revoked!.revocationReason?.reason).to.equal(CRLReasons.affiliationChanged);
  });

  it('signs every nonce answer afresh, and looks the status up once', async () => {
    const ca = trust.certificates.identity_ca.der;
    const a = await responder.respond(ocspRequest([certIdOf(ca, holder)], 16));
    const b = await responder.respond(ocspRequest([certIdOf(ca, holder)], 16));
    expect(a.der.equals(b.der)).to.equal(false);
    expect(responder.stats.signed).to.equal(2);
    expect(source.lookups).to.equal(1);
  });

  it('drops a cached unknown once the source moves (the serial may have been issued since)', async () => {
    const later = (await issueHolder(trust)).serialHex;
    const request = ocspRequest([certIdOf(trust.certificates.identity_ca.der, later)]);
    expect(parseOcspResponse((await responder.respond(request)).der).basic!.tbsResponseData.responses[0]!.certStatus.unknown).to.equal(null);
    memory.issue(later);
    await responder.notify();
    expect(parseOcspResponse((await responder.respond(request)).der).basic!.tbsResponseData.responses[0]!.certStatus.good).to.equal(null);
  });

  it('answers tryLater when the source is unavailable and internalError when it fails otherwise', async () => {
    const request = ocspRequest([certIdOf(trust.certificates.identity_ca.der, holder)], 8);
    source.failWith = new RegistoError('STORE_UNAVAILABLE', 'database down');
    expect((await responder.respond(request)).responseStatus).to.equal('tryLater');
    source.failWith = new Error('bug');
    const answer = await responder.respond(request);
    expect(answer.responseStatus).to.equal('internalError');
    expect(parseOcspResponse(answer.der).status).to.equal(2);
  });
});

describe('buildOcspRequest', () => {
  it('builds requests the decoder reads back, with the issuer hashes of the CA', async () => {
    const trust = await softwareTrustKeys();
    try {
      const der = buildOcspRequest({ issuerCertificateDer: trust.certificates.identity_ca.der, serialHexes: ['01', 'ff00'], hash: 'sha256', nonceOctets: 32 });
      const decoded = decodeOcspRequest(der);
      if ('problem' in decoded) throw new Error(decoded.detail);
      expect(decoded.certIds.map((c) => c.serialHex)).to.deep.equal(['01', 'ff00']);
      const expected = decodeOcspRequest(ocspRequest([certIdOf(trust.certificates.identity_ca.der, '01', 'sha256')]));
      if ('problem' in expected) throw new Error(expected.detail);
      expect(decoded.certIds[0]!.der.equals(expected.certIds[0]!.der)).to.equal(true);
      expect(decoded.nonceExtnValue!.length).to.equal(34);
    } finally {
      await trust.close();
    }
  });
});

describe('OCSP request decoding agrees with @peculiar/asn1-ocsp', function () {
  this.timeout(60_000);
  let caDer: Buffer;
  before(async () => {
    const trust = await softwareTrustKeys();
    caDer = trust.certificates.identity_ca.der;
    await trust.close();
  });

  it('reads every well-formed request as the schema decoder does', () => {
    const serialArb = fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => {
      const s = Buffer.from(b);
      s[0] = (s[0]! & 0x7f) | 0x01;
      return s.toString('hex');
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(serialArb, fc.constantFrom<'sha1' | 'sha256'>('sha1', 'sha256')), { minLength: 1, maxLength: 4 }),
        fc.option(fc.integer({ min: 1, max: 32 }), { nil: undefined }),
        fc.boolean(),
        (ids, nonce, requestor) => {
          const der = ocspRequest(ids.map(([s, h]) => certIdOf(caDer, s, h)), nonce);
          const withName = requestor ? (() => {
            const r = AsnConvert.parse(der, OCSPRequest);
            r.tbsRequest.requestorName = new GeneralName({ dNSName: 'client.example' });
            return Buffer.from(AsnConvert.serialize(r));
          })() : der;
          const reference = AsnConvert.parse(withName, OCSPRequest);
          const decoded = decodeOcspRequest(withName);
          if ('problem' in decoded) throw new Error(decoded.detail);
          expect(decoded.certIds.map((c) => c.der.toString('hex'))).to.deep.equal(reference.tbsRequest.requestList.map((r) => Buffer.from(AsnConvert.serialize(r.reqCert)).toString('hex')));
          expect(decoded.certIds.map((c) => c.hashAlgorithm)).to.deep.equal(reference.tbsRequest.requestList.map((r) => r.reqCert.hashAlgorithm.algorithm));
          expect(decoded.certIds.map((c) => c.serialHex)).to.deep.equal(ids.map(([s]) => s.replace(/^(00)+/, '')));
          const refNonce = reference.tbsRequest.requestExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
          expect(decoded.nonceExtnValue?.toString('hex') ?? null).to.equal(refNonce ? Buffer.from(refNonce.extnValue.buffer).toString('hex') : null);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('never throws on damaged requests: each is answered or refused', () => {
    const valid = ocspRequest([certIdOf(caDer, '0a0b0c'), certIdOf(caDer, '01', 'sha256')], 16);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(valid.length), (edits, cut) => {
        const damaged = Buffer.from(valid);
        for (const [at, byte] of edits) damaged[at] = byte;
        const result = decodeOcspRequest(damaged.subarray(0, cut === 0 ? valid.length : cut));
        expect(result).to.satisfy((r: object) => 'problem' in r || 'certIds' in r);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('readOcspResponse', () => {
  it('reads what the responder wrote: statuses, nonce, and a signature that verifies (and fails once altered)', async () => {
    const trust = await softwareTrustKeys();
    const status = new InMemoryCertificateStatusSource();
    const responder = await OcspResponder.create({ trust, status, pollMs: 0 });
    try {
      status.issue('0a');
      status.issue('0b');
      status.revoke('0b', 'privilegeWithdrawn', new Date('2026-09-09T09:09:09Z'));
      const request = buildOcspRequest({ issuerCertificateDer: trust.certificates.identity_ca.der, serialHexes: ['0a', '0b', '0c'], nonceOctets: 12 });
      const answer = await responder.respond(request);
      const read = readOcspResponse(answer.der);
      expect(read.responseStatus).to.equal('successful');
      expect(read.signatureValid).to.equal(true);
      expect(read.answers.map((a) => [a.serialHex, a.status])).to.deep.equal([
        ['0a', { status: 'good' }],
        ['0b', { status: 'revoked', reason: 'privilegeWithdrawn', revokedAt: new Date('2026-09-09T09:09:09Z') }],
        ['0c', { status: 'unknown' }],
      ]);
      expect(read.nonceExtnValue!.equals((decodeOcspRequest(request) as { nonceExtnValue: Buffer }).nonceExtnValue)).to.equal(true);
      // The producedAt GeneralizedTime sits in the signed data: change one digit of it.
      const tampered = Buffer.from(answer.der);
      const at = tampered.indexOf(Buffer.from([0x18, 0x0f])) + 15;
      tampered[at] = tampered[at] === 0x30 ? 0x31 : 0x30;
      expect(readOcspResponse(tampered).signatureValid).to.equal(false);
      expect(readOcspResponse(OCSP_ERROR_RESPONSES.unauthorized)).to.deep.equal({ responseStatus: 'unauthorized', answers: [] });
    } finally {
      responder.close();
      await trust.close();
    }
  });
});
