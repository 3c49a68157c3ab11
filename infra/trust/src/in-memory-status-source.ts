import { RegistoError } from '@registo/schemas';
import {
  type CertificateStatus,
  type CertificateStatusChange,
  type CertificateStatusSource,
  type RevocationReason,
  type RevokedCertificate,
  normaliseSerialHex,
} from './ports.js';

interface Entry {
  status: 'good' | 'revoked';
  reason: RevocationReason | null;
  revokedAt: Date | null;
}

/**
 * `CertificateStatusSource` held in memory: for the responder's and publisher's unit tests and the
 * OCSP bench (which measures signing, not a database). The platform's own adapter, which the e2e
 * suites use too, is the credential read model over SQL; both pass
 * `test/contract/certificate-status.contract.ts`.
 */
export class InMemoryCertificateStatusSource implements CertificateStatusSource {
  private readonly entries = new Map<string, Entry>();
  private readonly changes: CertificateStatusChange[] = [];
  private rev = 0;

  /** A certificate this CA issued: `good` from now on. The revision grows: an `unknown` answered before is wrong now. */
  issue(serial: string | Buffer): void {
    const serialHex = normaliseSerialHex(serial);
    if (this.entries.has(serialHex)) throw new RegistoError('REQUEST_INVALID', `certificate ${serialHex} was already issued`);
    this.entries.set(serialHex, { status: 'good', reason: null, revokedAt: null });
    this.rev++;
  }

  revoke(serial: string | Buffer, reason: RevocationReason, at: Date): void {
    if (reason === 'removeFromCRL') throw new RegistoError('REQUEST_INVALID', 'removeFromCRL is not a reason to revoke: reinstate instead');
    const serialHex = normaliseSerialHex(serial);
    const entry = this.known(serialHex);
    if (entry.status === 'revoked' && entry.reason !== 'certificateHold') throw new RegistoError('REQUEST_INVALID', `certificate ${serialHex} is already revoked`);
    this.change(serialHex, { status: 'revoked', reason, revokedAt: new Date(at.getTime()) });
  }

  /** Suspension: revoked with reason certificateHold, until reinstated or revoked for good. */
  hold(serial: string | Buffer, at: Date): void {
    this.revoke(serial, 'certificateHold', at);
  }

  reinstate(serial: string | Buffer): void {
    const serialHex = normaliseSerialHex(serial);
    const entry = this.known(serialHex);
    if (entry.status !== 'revoked' || entry.reason !== 'certificateHold') throw new RegistoError('REQUEST_INVALID', `certificate ${serialHex} is not on hold`);
    this.change(serialHex, { status: 'good', reason: null, revokedAt: null });
  }

  async statusOf(serialHex: string): Promise<CertificateStatus> {
    const entry = this.entries.get(normaliseSerialHex(serialHex));
    if (!entry) return { status: 'unknown' };
    return entry.status === 'good' ? { status: 'good' } : { status: 'revoked', reason: entry.reason!, revokedAt: entry.revokedAt! };
  }

  async revoked(): Promise<RevokedCertificate[]> {
    const out: RevokedCertificate[] = [];
    for (const [serialHex, e] of this.entries) if (e.status === 'revoked') out.push({ serialHex, reason: e.reason!, revokedAt: e.revokedAt! });
    return out;
  }

  async changesSince(revision: number): Promise<CertificateStatusChange[]> {
    return this.changes.filter((c) => c.revision > revision).map((c) => ({ ...c }));
  }

  async revision(): Promise<number> {
    return this.rev;
  }

  private known(serialHex: string): Entry {
    const entry = this.entries.get(serialHex);
    if (!entry) throw new RegistoError('NOT_FOUND', `certificate ${serialHex} was not issued by this CA`);
    return entry;
  }

  private change(serialHex: string, entry: Entry): void {
    this.entries.set(serialHex, entry);
    this.rev++;
    this.changes.push({ serialHex, status: entry.status, reason: entry.reason, revokedAt: entry.revokedAt, revision: this.rev });
  }
}
