import { X509Certificate, createHash, randomBytes, verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse } from '@peculiar/asn1-ocsp';
import { Certificate } from '@peculiar/asn1-x509';
import { RegistoError } from '@registo/schemas';
import { explicit, octetString, oid, derSequence, unsignedInteger } from './der.js';
import { ID_PKIX_OCSP_NONCE } from './ocsp-request.js';
import { OCSP_RESPONSE_STATUS, type OcspResponseStatus } from './ocsp-response.js';
import { type CertificateStatus, REVOCATION_REASON_CODES, type RevocationReason, normaliseSerialHex } from './ports.js';

/*
 * The client side of OCSP, for the bench and for clients inside the platform: building requests
 * (RFC 6960 §4.1.1; CertIDs name the issuer by the hashes of its name and key, as a relying
 * party's client would) and reading responses.
 */

const HASHES = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1' } as const;

export interface OcspRequestOptions {
  /** The issuing CA's certificate (DER). */
  issuerCertificateDer: Buffer;
  serialHexes: readonly string[];
  hash?: keyof typeof HASHES;
  /** Octets of a nonce (RFC 8954) to send; none when absent. */
  nonceOctets?: number;
}

/** A DER OCSPRequest (unsigned). */
export function buildOcspRequest(o: OcspRequestOptions): Buffer {
  const hash = o.hash ?? 'sha1';
  const ca = AsnConvert.parse(o.issuerCertificateDer, Certificate);
  const nameHash = createHash(hash).update(Buffer.from(AsnConvert.serialize(ca.tbsCertificate.subject))).digest();
  const keyHash = createHash(hash).update(Buffer.from(ca.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey)).digest();
  const algorithm = derSequence(oid(HASHES[hash]), Buffer.from([0x05, 0x00]));
  const requests = o.serialHexes.map((s) => derSequence(derSequence(algorithm, octetString(nameHash), octetString(keyHash), unsignedInteger(Buffer.from(s, 'hex')))));
  const extensions = o.nonceOctets ? [explicit(2, derSequence(derSequence(oid(ID_PKIX_OCSP_NONCE), octetString(octetString(randomBytes(o.nonceOctets))))))] : [];
  return derSequence(derSequence(derSequence(...requests), ...extensions));
}

export interface ReadOcspAnswer {
  serialHex: string;
  status: CertificateStatus;
  thisUpdate: Date;
  nextUpdate: Date | null;
}

export interface ReadOcspResponse {
  responseStatus: OcspResponseStatus;
  producedAt?: Date;
  answers: ReadOcspAnswer[];
  /** The nonce extension's extnValue, if the response has one. */
  nonceExtnValue?: Buffer;
  /** Whether the signature verifies under the key of the first certificate sent (the responder's). */
  signatureValid?: boolean;
}

const REASON_BY_CODE = new Map(Object.entries(REVOCATION_REASON_CODES).map(([name, code]) => [code as number, name as RevocationReason]));
const STATUS_BY_CODE = new Map(Object.entries(OCSP_RESPONSE_STATUS).map(([name, code]) => [code as number, name as OcspResponseStatus]));

/**
 * Reads a DER OCSPResponse with @peculiar/asn1-ocsp (a decoder independent of the one that wrote
 * it): status, answers and nonce, and whether the signature verifies under the included
 * certificate. Checking that certificate's chain and delegation is the caller's (openssl does it in
 * the tests).
 */
export function readOcspResponse(der: Buffer): ReadOcspResponse {
  const response = AsnConvert.parse(der, OCSPResponse);
  const responseStatus = STATUS_BY_CODE.get(response.responseStatus);
  if (!responseStatus) throw new RegistoError('REQUEST_INVALID', `unknown OCSPResponseStatus ${response.responseStatus}`);
  if (!response.responseBytes) return { responseStatus, answers: [] };
  const basic = AsnConvert.parse(response.responseBytes.response, BasicOCSPResponse);
  const data = basic.tbsResponseData;
  const answers = data.responses.map((r): ReadOcspAnswer => {
    const revoked = r.certStatus.revoked;
    const status: CertificateStatus = revoked
      ? { status: 'revoked', reason: REASON_BY_CODE.get(revoked.revocationReason?.reason ?? 0) ?? 'unspecified', revokedAt: revoked.revocationTime }
      : r.certStatus.good !== undefined
        ? { status: 'good' }
        : { status: 'unknown' };
    return { serialHex: normaliseSerialHex(Buffer.from(r.certID.serialNumber)), status, thisUpdate: r.thisUpdate, nextUpdate: r.nextUpdate ?? null };
  });
  const nonce = data.responseExtensions?.find((e) => e.extnID === ID_PKIX_OCSP_NONCE);
  const signerCert = basic.certs?.[0];
  const tbs = Buffer.from(basic.tbsResponseDataRaw ?? AsnConvert.serialize(data));
  const signatureValid = signerCert
    ? verify('sha256', tbs, new X509Certificate(Buffer.from(AsnConvert.serialize(signerCert))).publicKey, Buffer.from(basic.signature))
    : undefined;
  return {
    responseStatus,
    producedAt: data.producedAt,
    answers,
    ...(nonce && { nonceExtnValue: Buffer.from(nonce.extnValue.buffer) }),
    ...(signatureValid !== undefined && { signatureValid }),
  };
}
