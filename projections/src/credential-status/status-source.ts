import type { SqlTx } from '@registo/event-store';
import {
  type CertificateStatus,
  type CertificateStatusChange,
  type CertificateStatusSource,
  type RevokedCertificate,
  normaliseSerialHex,
} from '@registo/trust';
import { credentialStatusRevision, findCredentialBySerial, statusChangesAfter } from './projection.js';

/**
 * The status of the identity CA's X.509 credentials, as the credential read model has it, for
 * OCSP and CRLs. Only approved changes are here: a requested revocation that nobody approved
 * has no event of effect, so the certificate stays `good`.
 */
export class SqlCertificateStatusSource implements CertificateStatusSource {
  constructor(private readonly db: SqlTx) {}

  async statusOf(serialHex: string): Promise<CertificateStatus> {
    const row = await findCredentialBySerial(this.db, normaliseSerialHex(serialHex));
    if (!row || row.kind !== 'X509') return { status: 'unknown' };
    if (row.status === 'ACTIVE') return { status: 'good' };
    return { status: 'revoked', reason: row.reason ?? 'unspecified', revokedAt: new Date(row.statusChangedAt!) };
  }

  async revoked(): Promise<RevokedCertificate[]> {
    const rows = await this.db.query<{ serial_hex: string; reason: RevokedCertificate['reason'] | null; status_changed_at: Date | string }>(
      "SELECT serial_hex, reason, status_changed_at FROM credential_status WHERE kind = 'X509' AND status <> 'ACTIVE' AND serial_hex IS NOT NULL ORDER BY status_position, serial_hex",
    );
    return rows.map((r) => ({ serialHex: r.serial_hex, reason: r.reason ?? 'unspecified', revokedAt: new Date(r.status_changed_at) }));
  }

  async changesSince(revision: number): Promise<CertificateStatusChange[]> {
    return (await statusChangesAfter(this.db, revision)).map((c) => ({
      serialHex: c.serialHex!,
      status: c.status,
      reason: c.reason,
      revokedAt: c.status === 'revoked' ? new Date(c.at) : null,
      revision: c.position,
    }));
  }

  async revision(): Promise<number> {
    return credentialStatusRevision(this.db);
  }
}
