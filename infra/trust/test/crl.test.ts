import { verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BaseCRLNumber, CRLNumber, CRLReason, CRLReasons, CertificateList, FreshestCRL, id_ce_cRLNumber, id_ce_cRLReasons, id_ce_deltaCRLIndicator, id_ce_freshestCRL } from '@peculiar/asn1-x509';
import { expect } from 'chai';
import { PGliteDriver } from '@registo/event-store';
import { CrlPublisher, InMemoryCertificateStatusSource, SqlCrlNumberStore, type TrustKeys } from '../src/index.js';
import { issueHolder, softwareTrustKeys } from './ocsp-fixtures.js';

interface ParsedCrl {
  number: number;
  deltaOf?: number;
  freshest?: string;
  entries: Map<string, { reason: number | null; at: string }>;
  list: CertificateList;
}

function parseCrl(der: Buffer, issuer: TrustKeys['certificates']['identity_ca']): ParsedCrl {
  const list = AsnConvert.parse(der, CertificateList);
  const tbsDer = Buffer.from(list.tbsCertListRaw ?? AsnConvert.serialize(list.tbsCertList));
  expect(verify('sha256', tbsDer, issuer.x509.publicKey, Buffer.from(list.signature)), 'CRL signature').to.equal(true);
  const ext = (id: string) => list.tbsCertList.crlExtensions?.find((e) => e.extnID === id);
  const delta = ext(id_ce_deltaCRLIndicator);
  if (delta) expect(delta.critical).to.equal(true);
  const freshest = ext(id_ce_freshestCRL);
  const entries = new Map<string, { reason: number | null; at: string }>();
  for (const r of list.tbsCertList.revokedCertificates ?? []) {
    const reason = r.crlEntryExtensions?.find((e) => e.extnID === id_ce_cRLReasons);
    entries.set(Buffer.from(r.userCertificate).toString('hex').replace(/^00/, ''), {
      reason: reason ? AsnConvert.parse(reason.extnValue, CRLReason).reason : null,
      at: r.revocationDate.getTime().toISOString(),
    });
  }
  return {
    number: AsnConvert.parse(ext(id_ce_cRLNumber)!.extnValue, CRLNumber).value,
    ...(delta && { deltaOf: AsnConvert.parse(delta.extnValue, BaseCRLNumber).value }),
    ...(freshest && { freshest: AsnConvert.parse(freshest.extnValue, FreshestCRL)[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier! }),
    entries,
    list,
  };
}

/** Waits for the publisher to show `published` (it works on its own timers), failing after 30 s. */
async function publishedSoon(what: string, published: () => boolean): Promise<void> {
  for (let polls = 0; !published(); polls++) {
    if (polls > 600) throw new Error(`never published: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('CRLs and the CrlPublisher', function () {
  this.timeout(60_000);
  let trust: TrustKeys;
  let db: PGliteDriver;
  let source: InMemoryCertificateStatusSource;
  let publisher: CrlPublisher | undefined;
  const serials: string[] = [];

  before(async () => {
    trust = await softwareTrustKeys();
    db = await PGliteDriver.open();
    for (let i = 0; i < 4; i++) serials.push((await issueHolder(trust)).serialHex);
  });
  after(async () => {
    await db.close();
    await trust.close();
  });
  beforeEach(() => {
    source = new InMemoryCertificateStatusSource();
    for (const s of serials) source.issue(s);
  });
  afterEach(() => publisher?.close());

  const start = async (o: { intervalSeconds?: number; pollMs?: number } = {}) =>
    (publisher = await CrlPublisher.start({ trust, status: source, numbers: await SqlCrlNumberStore.open(db), publicUrl: 'https://registo.example.test', pollMs: 0, ...o }));

  it('publishes the full CRL with reasons, number, freshestCRL, and a delta against it; the root CRL is empty', async () => {
    const [a, b] = serials;
    source.revoke(a!, 'keyCompromise', new Date('2026-02-03T04:05:06Z'));
    source.revoke(b!, 'unspecified', new Date('2026-02-04T04:05:06Z'));
    const p = await start();
    const full = parseCrl(p.current('identity-ca').der, trust.certificates.identity_ca);
    expect(full.freshest).to.equal('https://registo.example.test/crl/identity-ca-delta.crl');
    expect(full.deltaOf).to.equal(undefined);
    expect(full.entries.get(a!)).to.deep.equal({ reason: CRLReasons.keyCompromise, at: '2026-02-03T04:05:06.000Z' });
    // RFC 5280 §5.3.1: no reasonCode rather than unspecified.
    expect(full.entries.get(b!)).to.deep.equal({ reason: null, at: '2026-02-04T04:05:06.000Z' });
    const delta = parseCrl(p.current('identity-ca-delta').der, trust.certificates.identity_ca);
    // Issued together: one CRL number (RFC 5280 §5.2.3); the delta's base is that full CRL.
    expect(delta.number).to.equal(full.number);
    expect(delta.deltaOf).to.equal(full.number);
    expect(delta.entries.size).to.equal(0);
    const root = parseCrl(p.current('root-ca').der, trust.certificates.root_ca);
    expect(root.entries.size).to.equal(0);
    expect(root.list.tbsCertList.nextUpdate!.getTime().getTime()).to.be.greaterThan(Date.now());
  });

  it('lists what changed since the base in the delta, a reinstatement as removeFromCRL, and moves the number on', async () => {
    const [a, b, c] = serials;
    source.hold(b!, new Date('2026-02-05T00:00:00Z'));
    const p = await start();
    const base = parseCrl(p.current('identity-ca').der, trust.certificates.identity_ca);
    expect(base.entries.get(b!)?.reason).to.equal(CRLReasons.certificateHold);
    source.revoke(a!, 'cessationOfOperation', new Date('2026-02-06T00:00:00Z'));
    source.reinstate(b!);
    source.hold(c!, new Date('2026-02-07T00:00:00Z'));
    await p.notify();
    const full = parseCrl(p.current('identity-ca').der, trust.certificates.identity_ca);
    const delta = parseCrl(p.current('identity-ca-delta').der, trust.certificates.identity_ca);
    // The next number of the one sequence, for both lists; the delta still names its base.
    expect(full.number).to.equal(base.number + 1);
    expect(delta.number).to.equal(full.number);
    expect([...full.entries.keys()].sort()).to.deep.equal([a!, c!].sort());
    expect(delta.deltaOf).to.equal(base.number);
    expect(delta.entries.get(a!)?.reason).to.equal(CRLReasons.cessationOfOperation);
    expect(delta.entries.get(b!)).to.deep.equal({ reason: CRLReasons.removeFromCRL, at: '2026-02-05T00:00:00.000Z' });
    expect(delta.entries.get(c!)?.reason).to.equal(CRLReasons.certificateHold);
    // Nothing changed: nothing republished; nor for a revision that moved without a status change (an issuance).
    await p.notify();
    expect(parseCrl(p.current('identity-ca').der, trust.certificates.identity_ca).number).to.equal(full.number);
    source.issue((await issueHolder(trust)).serialHex);
    await p.notify();
    expect(parseCrl(p.current('identity-ca').der, trust.certificates.identity_ca).number).to.equal(full.number);
  });

  it('keeps CRL numbers increasing across a restart (numbers in trust_crl_numbers)', async () => {
    const first = await start();
    const before = first.current('identity-ca-delta').number;
    const rootBefore = first.current('root-ca').number;
    first.close();
    const second = await start();
    expect(second.current('identity-ca').number).to.equal(before + 1);
    expect(second.current('identity-ca-delta').number).to.equal(before + 1);
    expect(second.current('root-ca').number).to.be.greaterThan(rootBefore);
  });

  it('goes on from a sequence stored when full and delta CRLs took a number each', async () => {
    // A deployment whose last publication was full 7 / delta 8 keeps one rising sequence: 9 for both.
    const numbers = await SqlCrlNumberStore.open(db);
    await db.query(`INSERT INTO trust_crl_numbers (ca, last_number) VALUES ('identity-ca', 8) ON CONFLICT (ca) DO UPDATE SET last_number = 8`);
    const p = (publisher = await CrlPublisher.start({ trust, status: source, numbers, publicUrl: 'https://registo.example.test', pollMs: 0 }));
    expect(parseCrl(p.current('identity-ca').der, trust.certificates.identity_ca).number).to.equal(9);
    expect(parseCrl(p.current('identity-ca-delta').der, trust.certificates.identity_ca)).to.include({ number: 9, deltaOf: 9 });
  });

  it('republishes on its own when the revision moves (poll) and on the schedule with a new base', async () => {
    const p = await start({ intervalSeconds: 1, pollMs: 100 });
    const firstBase = p.current('identity-ca-delta').deltaOf!;
    const before = p.current('identity-ca').number;
    source.revoke(serials[3]!, 'superseded', new Date());
    await publishedSoon('a CRL with the revocation', () => parseCrl(p.current('identity-ca').der, trust.certificates.identity_ca).entries.has(serials[3]!));
    expect(p.current('identity-ca').number).to.be.greaterThan(before);
    // A publication for a revision keeps the base (see above): only the schedule moves it.
    await publishedSoon('a delta CRL on a new base', () => p.current('identity-ca-delta').deltaOf! > firstBase);
    const nextUpdate = p.current('identity-ca').nextUpdate.getTime() - p.current('identity-ca').thisUpdate.getTime();
    expect(nextUpdate).to.equal(2000);
  });
});
