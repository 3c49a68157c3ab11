import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  BaseCRLNumber,
  CRLNumber,
  CRLReason,
  Certificate,
  DistributionPoint,
  DistributionPointName,
  Extension,
  FreshestCRL,
  GeneralName,
  KeyIdentifier,
  Name,
  RevokedCertificate,
  TBSCertList,
  Time,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
  id_ce_deltaCRLIndicator,
  id_ce_freshestCRL,
} from '@peculiar/asn1-x509';
import type { Signer } from '@registo/hsm';
import { ECDSA_WITH_SHA256, keyIdentifier } from './certificates.js';
import { bitString, derSequence } from './der.js';
import { REVOCATION_REASON_CODES, type RevocationReason } from './ports.js';

/*
 * CertificateList (RFC 5280 §5) built with @peculiar/asn1-x509 and signed through the `Signer`
 * port: the TBSCertList's DER is what the CA's key signs (ECDSA P-256, SHA-256).
 */

export interface CrlEntry {
  serialHex: string;
  reason: RevocationReason;
  /** When the certificate was revoked (for removeFromCRL: when it had been put on hold). */
  revokedAt: Date;
}

export interface CrlSpec {
  issuerCertificateDer: Buffer;
  signer: Signer;
  number: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: readonly CrlEntry[];
  /** A delta CRL against the full CRL of this number (deltaCRLIndicator, critical). */
  deltaOf?: number;
  /** URL of the delta CRL, named in a full CRL's freshestCRL extension. */
  freshestCrlUrl?: string;
}

export interface IssuerOfCrl {
  name: Name;
  keyId: Buffer;
}

const issuerCache = new WeakMap<Buffer, IssuerOfCrl>();

function issuerOf(der: Buffer): IssuerOfCrl {
  let hit = issuerCache.get(der);
  if (!hit) {
    const cert = AsnConvert.parse(der, Certificate);
    const spki = Buffer.from(AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo));
    hit = { name: cert.tbsCertificate.subject, keyId: keyIdentifier(spki) };
    issuerCache.set(der, hit);
  }
  return hit;
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** A positive INTEGER's content bytes for a serial in normalised hex. */
function serialBytes(serialHex: string): ArrayBuffer {
  const raw = Buffer.from(serialHex, 'hex');
  const bytes = raw[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), raw]) : raw;
  return new Uint8Array(bytes).buffer;
}

const whole = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** A signed DER CRL (v2). */
export async function encodeCrl(spec: CrlSpec): Promise<Buffer> {
  const issuer = issuerOf(spec.issuerCertificateDer);
  const revokedCertificates = spec.entries.map(
    (e) =>
      new RevokedCertificate({
        userCertificate: serialBytes(e.serialHex),
        revocationDate: new Time(whole(e.revokedAt)),
        // RFC 5280 §5.3.1: the reasonCode is left out rather than sent as `unspecified`.
        ...(e.reason !== 'unspecified' && { crlEntryExtensions: [extension(id_ce_cRLReasons, false, new CRLReason(REVOCATION_REASON_CODES[e.reason]))] }),
      }),
  );
  const crlExtensions = [
    extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(issuer.keyId) })),
    extension(id_ce_cRLNumber, false, new CRLNumber(spec.number)),
  ];
  if (spec.deltaOf !== undefined) crlExtensions.push(extension(id_ce_deltaCRLIndicator, true, new BaseCRLNumber(spec.deltaOf)));
  if (spec.freshestCrlUrl) {
    crlExtensions.push(
      extension(
        id_ce_freshestCRL,
        false,
        new FreshestCRL([new DistributionPoint({ distributionPoint: new DistributionPointName({ fullName: [new GeneralName({ uniformResourceIdentifier: spec.freshestCrlUrl })] }) })]),
      ),
    );
  }
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    issuer: issuer.name,
    thisUpdate: new Time(whole(spec.thisUpdate)),
    nextUpdate: new Time(whole(spec.nextUpdate)),
    ...(revokedCertificates.length > 0 && { revokedCertificates }),
    crlExtensions,
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = await spec.signer.sign(tbsDer);
  return derSequence(tbsDer, Buffer.from('300a06082a8648ce3d040302', 'hex'), bitString(signature));
}
