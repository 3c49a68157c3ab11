import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';

/*
 * An OCSP CertID names its issuer by hashes of the issuer's name and public key (RFC 6960 §4.1.1),
 * with the hash algorithm the client chose. This computes them once per algorithm.
 */

/** Hash algorithms accepted in a CertID, by OID, with their Node name. */
export const CERT_ID_HASHES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export interface IssuerHashes {
  matches(hashAlgorithm: string, issuerNameHash: Buffer, issuerKeyHash: Buffer): boolean;
}

/** The issuer hashes of the CA certificate `caCertificateDer`, for every algorithm in `CERT_ID_HASHES`. */
export function issuerHashesOf(caCertificateDer: Buffer): IssuerHashes {
  const cert = AsnConvert.parse(caCertificateDer, Certificate);
  const nameDer = Buffer.from(AsnConvert.serialize(cert.tbsCertificate.subject));
  const keyBits = Buffer.from(cert.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey);
  const byAlgorithm = new Map<string, { name: Buffer; key: Buffer }>();
  for (const [algorithmOid, hash] of Object.entries(CERT_ID_HASHES)) {
    byAlgorithm.set(algorithmOid, { name: createHash(hash).update(nameDer).digest(), key: createHash(hash).update(keyBits).digest() });
  }
  return {
    matches(hashAlgorithm, issuerNameHash, issuerKeyHash) {
      const h = byAlgorithm.get(hashAlgorithm);
      return h !== undefined && h.name.equals(issuerNameHash) && h.key.equals(issuerKeyHash);
    },
  };
}
