import type { SignerMode } from '@registo/hsm';

/*
 * The ports between the trust services' parts. The status services (OCSP, CRL) read certificate
 * status through `CertificateStatusSource`, which the credential read model implements; credential
 * issuance issues holder certificates through `HolderCertificateIssuer`; checkpoints and exported
 * evidence are timestamped through `Timestamper`, which the RFC 3161 authority implements.
 */

/** RFC 5280 §5.3.1 CRLReason, by name, with its ASN.1 ENUMERATED value (7 is not used). */
export const REVOCATION_REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASON_CODES;
export const REVOCATION_REASONS = Object.keys(REVOCATION_REASON_CODES) as RevocationReason[];

/**
 * A certificate serial number as the status services key it: lower-case hex of its unsigned
 * value, without leading zero bytes ('00ab12' and 'AB12' are both 'ab12').
 */
export function normaliseSerialHex(serial: string | Buffer): string {
  const hex = (Buffer.isBuffer(serial) ? serial.toString('hex') : serial).toLowerCase().replace(/[^0-9a-f]/g, '');
  const trimmed = hex.replace(/^(00)+/, '');
  return trimmed.length === 0 ? '00' : trimmed.length % 2 === 1 ? `0${trimmed}` : trimmed;
}

/** What a CA says about one of its certificates. A suspension is `revoked` with reason `certificateHold`. */
export type CertificateStatus =
  | { status: 'good' }
  | { status: 'revoked'; reason: RevocationReason; revokedAt: Date }
  | { status: 'unknown' };

export interface RevokedCertificate {
  serialHex: string;
  reason: RevocationReason;
  revokedAt: Date;
}

/** One change of status, at the `revision` of the source at which it happened. */
export interface CertificateStatusChange {
  serialHex: string;
  /** `good` after a reinstatement (a delta CRL lists it as removeFromCRL). */
  status: 'revoked' | 'good';
  reason: RevocationReason | null;
  revokedAt: Date | null;
  revision: number;
}

/** Status of the certificates one issuing CA (the identity CA) has issued. */
export interface CertificateStatusSource {
  /** `unknown` for a serial this CA never issued. */
  statusOf(serialHex: string): Promise<CertificateStatus>;
  /** Every certificate now revoked or on hold (a full CRL). */
  revoked(): Promise<RevokedCertificate[]>;
  /** Changes after `revision`, oldest first (a delta CRL against a base CRL made at `revision`). */
  changesSince(revision: number): Promise<CertificateStatusChange[]>;
  /** Grows whenever any status changes (e.g. the read model's last applied position). */
  revision(): Promise<number>;
}

export interface HolderCertificateRequest {
  /** The holder's PKCS#10 request (DER); its signature is the proof of possession. */
  csrDer: Buffer;
  uin: string;
  credentialId: string;
  /** Chosen by the caller so that a retried issuance names the same certificate. */
  serialNumber: Buffer;
  notBefore: Date;
  notAfter: Date;
}

export interface IssuedHolderCertificate {
  serialHex: string;
  certificateDer: Buffer;
  /** Hex SHA-256 of the certified SubjectPublicKeyInfo. */
  subjectPublicKeySha256: string;
  notBefore: Date;
  notAfter: Date;
}

/** Issues holder certificates (card chip, wallet) under the identity CA. */
export interface HolderCertificateIssuer {
  readonly mode: SignerMode;
  /** Refuses a CSR whose signature does not verify or whose key is not EC P-256 (typed errors). */
  issue(request: HolderCertificateRequest): Promise<IssuedHolderCertificate>;
}

/** Hash algorithms a message imprint may use (RFC 3161 leaves the choice to the requester). */
export type ImprintHash = 'sha256' | 'sha384' | 'sha512';

export interface TimestampRequest {
  /** The hash of the timestamped data, with `hashAlgorithm` (SHA-256 when absent). */
  messageImprint: Buffer;
  hashAlgorithm?: ImprintHash;
  nonce?: bigint;
  /** Include the TSA certificate in the token (RFC 3161 certReq). */
  certReq?: boolean;
}

/** An RFC 3161 time-stamping authority. */
export interface Timestamper {
  readonly mode: SignerMode;
  /** The DER TimeStampToken (a CMS ContentInfo holding SignedData over TSTInfo). */
  timestamp(request: TimestampRequest): Promise<Buffer>;
}
