import type { CertificateStatus, CertificateStatusChange, CertificateStatusSource, RevokedCertificate } from './ports.js';
import { normaliseSerialHex } from './ports.js';
import { TRUST_KEYS, type TrustRole } from './profiles.js';
import type { TrustKeys } from './trust-keys.js';

/*
 * The status of the certificates the hierarchy issues to itself. The identity CA certifies the
 * OCSP, TSA and checkpoint signers beside the holders, the root certifies the identity CA, and
 * each of those certificates except the OCSP signer's names `/ocsp` in its AIA: the responder must
 * answer for them definitively, not `unknown`. They are not in the credential read model; they
 * are the trust folder's certificates, which the key ceremony issued and `openTrustKeys` checked
 * against their keys, so the hierarchy knows them without a read model of its own.
 */

const GOOD: CertificateStatus = { status: 'good' };

/** Normalised serials of the hierarchy's certificates that `issuer` signed (the root's own excluded). */
export function hierarchySerialsIssuedBy(trust: Pick<TrustKeys, 'certificates'>, issuer: TrustRole): ReadonlySet<string> {
  return new Set(TRUST_KEYS.filter((k) => k.issuer === issuer && k.role !== issuer).map((k) => normaliseSerialHex(trust.certificates[k.role].x509.serialNumber)));
}

/**
 * The identity CA's statuses: its certificates for the hierarchy are good, every other serial is
 * the holders' source's (revocations, CRLs and revisions all come from there).
 */
export class WithHierarchyCertificates implements CertificateStatusSource {
  constructor(
    private readonly hierarchy: ReadonlySet<string>,
    private readonly holders: CertificateStatusSource,
  ) {}

  async statusOf(serialHex: string): Promise<CertificateStatus> {
    return this.hierarchy.has(normaliseSerialHex(serialHex)) ? GOOD : this.holders.statusOf(serialHex);
  }
  revoked(): Promise<RevokedCertificate[]> {
    return this.holders.revoked();
  }
  changesSince(revision: number): Promise<CertificateStatusChange[]> {
    return this.holders.changesSince(revision);
  }
  revision(): Promise<number> {
    return this.holders.revision();
  }
}

/**
 * The root CA's statuses: it certifies only the identity CA (good); any other serial under the
 * root was never issued (`unknown`). Nothing changes between ceremonies, so the revision stays 0.
 */
export class RootCertificates implements CertificateStatusSource {
  constructor(private readonly issued: ReadonlySet<string>) {}

  async statusOf(serialHex: string): Promise<CertificateStatus> {
    return this.issued.has(normaliseSerialHex(serialHex)) ? GOOD : { status: 'unknown' };
  }
  async revoked(): Promise<RevokedCertificate[]> {
    return [];
  }
  async changesSince(): Promise<CertificateStatusChange[]> {
    return [];
  }
  async revision(): Promise<number> {
    return 0;
  }
}
