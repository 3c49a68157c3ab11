import { ID_PKIX_OCSP_NONCE } from './ocsp-request.js';
import type { Signer } from '@registo/hsm';
import { keyIdentifier } from './certificates.js';
import { bitString, enumerated, explicit, generalizedTime, octetString, oid, derSequence, derTlv } from './der.js';
import { type CertificateStatus, REVOCATION_REASON_CODES } from './ports.js';

/*
 * Encoding OCSP responses (RFC 6960 §4.2.1). What is the same for every response — the responder
 * ID by key, the signature algorithm, the OCSP signer's certificate, the response type — is encoded
 * once; per response only the SingleResponses, the times and the nonce are, and the signer signs
 * the ResponseData's DER.
 */

/** OCSPResponseStatus (RFC 6960 §4.2.1); 4 is not used. */
export const OCSP_RESPONSE_STATUS = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;
export type OcspResponseStatus = keyof typeof OCSP_RESPONSE_STATUS;

/** An OCSPResponse without responseBytes: `SEQUENCE { ENUMERATED status }`, five bytes. */
export const OCSP_ERROR_RESPONSES: Readonly<Record<Exclude<OcspResponseStatus, 'successful'>, Buffer>> = {
  malformedRequest: derSequence(enumerated(1)),
  internalError: derSequence(enumerated(2)),
  tryLater: derSequence(enumerated(3)),
  sigRequired: derSequence(enumerated(5)),
  unauthorized: derSequence(enumerated(6)),
};

const ECDSA_WITH_SHA256 = Buffer.from('300a06082a8648ce3d040302', 'hex');
const GOOD = Buffer.from([0x80, 0x00]);
const UNKNOWN = Buffer.from([0x82, 0x00]);
const NONCE_OID = oid(ID_PKIX_OCSP_NONCE);
const SUCCESSFUL = enumerated(0);
/** id-pkix-ocsp-basic */
const BASIC_OID = oid('1.3.6.1.5.5.7.48.1.1');

export interface SingleAnswer {
  /** The request's CertID, re-encoded. */
  certIdDer: Buffer;
  status: CertificateStatus;
}

export interface OcspResponseEncoderOptions {
  signer: Signer;
  /** DER of the signer's certificate, sent in `certs` so the client finds the signer and can check a delegation. */
  signerCertificateDer: Buffer;
  /** DER SubjectPublicKeyInfo of the signer (for the responder ID by key). */
  signerPublicKeySpki: Buffer;
}

function certStatus(status: CertificateStatus): Buffer {
  switch (status.status) {
    case 'good':
      return GOOD;
    case 'unknown':
      return UNKNOWN;
    case 'revoked': {
      // revoked [1] IMPLICIT RevokedInfo { revocationTime, [0] EXPLICIT CRLReason OPTIONAL }
      const reason = explicit(0, enumerated(REVOCATION_REASON_CODES[status.reason]));
      return derTlv(0xa1, generalizedTime(status.revokedAt), reason);
    }
  }
}

/** Builds and signs BasicOCSPResponses with one signer; the constant parts are encoded once. */
export class OcspResponseEncoder {
  private readonly responderId: Buffer;
  private readonly certs: Buffer;

  constructor(private readonly options: OcspResponseEncoderOptions) {
    // ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash } — EXPLICIT tags in RFC 6960's module.
    this.responderId = explicit(2, octetString(keyIdentifier(options.signerPublicKeySpki)));
    this.certs = explicit(0, derSequence(options.signerCertificateDer));
  }

  /** A complete, signed OCSPResponse (status successful). */
  async encode(answers: readonly SingleAnswer[], times: { producedAt: Date; nextUpdate: Date }, nonceExtnValue: Buffer | null): Promise<Buffer> {
    const thisUpdate = generalizedTime(times.producedAt);
    const nextUpdate = explicit(0, generalizedTime(times.nextUpdate));
    const singles = answers.map((a) => derSequence(a.certIdDer, certStatus(a.status), thisUpdate, nextUpdate));
    const extensions = nonceExtnValue ? [explicit(1, derSequence(derSequence(NONCE_OID, octetString(nonceExtnValue))))] : [];
    // ResponseData: version v1 is the DEFAULT and so left out (DER).
    const responseData = derSequence(this.responderId, thisUpdate, derSequence(...singles), ...extensions);
    const signature = await this.options.signer.sign(responseData);
    const basic = derSequence(responseData, ECDSA_WITH_SHA256, bitString(signature), this.certs);
    return derSequence(SUCCESSFUL, explicit(0, derSequence(BASIC_OID, octetString(basic))));
  }
}
