import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import {
  type CertificateStatusSource,
  REVOCATION_REASONS,
  type RevocationReason,
  normaliseSerialHex,
} from '@registo/trust';

/**
 * What every `CertificateStatusSource` adapter does, driven through the operations that change
 * status in that adapter's world (for the credential read model: the events it projects).
 */
export interface CertificateStatusFixture {
  source: CertificateStatusSource;
  issue(serialHex: string): Promise<void>;
  revoke(serialHex: string, reason: RevocationReason, at: Date): Promise<void>;
  hold(serialHex: string, at: Date): Promise<void>;
  reinstate(serialHex: string): Promise<void>;
  /** Resolves once the source shows every operation before it (a read model catching up); default none. */
  settle?(): Promise<void>;
  close?(): Promise<void>;
}

/** A fresh positive 16-byte serial in normalised hex, sometimes with the high bit of its value set. */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! | 0x01;
  return normaliseSerialHex(b);
}

const at = (iso: string): Date => new Date(iso);

export interface CertificateStatusContractOptions {
  /** The revocation reasons the adapter's world can record (default: all but certificateHold and removeFromCRL). */
  reasons?: RevocationReason[];
}

export function certificateStatusContract(name: string, open: () => Promise<CertificateStatusFixture>, options: CertificateStatusContractOptions = {}): void {
  /** The reason used where any revocation will do. */
  const reason: RevocationReason = options.reasons?.[0] ?? 'keyCompromise';
  const other: RevocationReason = options.reasons?.[1] ?? options.reasons?.[0] ?? 'superseded';
  describe(`CertificateStatusSource contract: ${name}`, function () {
    this.timeout(60_000);
    let f: CertificateStatusFixture;
    const settle = async () => f.settle?.();

    beforeEach(async () => {
      f = await open();
    });
    afterEach(async () => f.close?.());

    it('a serial never issued is unknown; an issued one is good', async () => {
      const s = serial();
      expect(await f.source.statusOf(s)).to.deep.equal({ status: 'unknown' });
      await f.issue(s);
      await settle();
      expect(await f.source.statusOf(s)).to.deep.equal({ status: 'good' });
      expect(await f.source.statusOf(serial())).to.deep.equal({ status: 'unknown' });
    });

    it('a revocation keeps its reason and time, for every reason a revocation can have', async () => {
      const reasons = options.reasons ?? REVOCATION_REASONS.filter((r) => r !== 'removeFromCRL' && r !== 'certificateHold');
      const serials = reasons.map(() => serial());
      for (const s of serials) await f.issue(s);
      for (const [i, reason] of reasons.entries()) await f.revoke(serials[i]!, reason, at(`2026-03-0${(i % 9) + 1}T10:20:3${i % 10}Z`));
      await settle();
      for (const [i, reason] of reasons.entries()) {
        const status = await f.source.statusOf(serials[i]!);
        expect(status, reason).to.deep.equal({ status: 'revoked', reason, revokedAt: at(`2026-03-0${(i % 9) + 1}T10:20:3${i % 10}Z`) });
      }
    });

    it('a suspension is revoked with reason certificateHold, and a reinstatement makes it good again', async () => {
      const s = serial();
      await f.issue(s);
      await f.hold(s, at('2026-04-01T08:00:00Z'));
      await settle();
      expect(await f.source.statusOf(s)).to.deep.equal({ status: 'revoked', reason: 'certificateHold', revokedAt: at('2026-04-01T08:00:00Z') });
      await f.reinstate(s);
      await settle();
      expect(await f.source.statusOf(s)).to.deep.equal({ status: 'good' });
    });

    it('a certificate on hold can then be revoked for good', async () => {
      const s = serial();
      await f.issue(s);
      await f.hold(s, at('2026-04-01T08:00:00Z'));
      await f.revoke(s, reason, at('2026-04-02T09:00:00Z'));
      await settle();
      expect(await f.source.statusOf(s)).to.deep.equal({ status: 'revoked', reason, revokedAt: at('2026-04-02T09:00:00Z') });
    });

    it('revoked() lists every certificate revoked or on hold, and no reinstated or good one', async () => {
      const [good, revoked, held, reinstated] = [serial(), serial(), serial(), serial()];
      for (const s of [good, revoked, held, reinstated]) await f.issue(s!);
      await f.revoke(revoked!, other, at('2026-05-01T00:00:00Z'));
      await f.hold(held!, at('2026-05-02T00:00:00Z'));
      await f.hold(reinstated!, at('2026-05-03T00:00:00Z'));
      await f.reinstate(reinstated!);
      await settle();
      const mine = new Set([good, revoked, held, reinstated]);
      const listed = (await f.source.revoked()).filter((r) => mine.has(r.serialHex)).sort((a, b) => a.revokedAt.getTime() - b.revokedAt.getTime());
      expect(listed).to.deep.equal([
        { serialHex: revoked, reason: other, revokedAt: at('2026-05-01T00:00:00Z') },
        { serialHex: held, reason: 'certificateHold', revokedAt: at('2026-05-02T00:00:00Z') },
      ]);
    });

    it('the revision grows with every change, and changesSince lists the changes after it, oldest first', async () => {
      const [a, b] = [serial(), serial()];
      await f.issue(a);
      await f.issue(b);
      await settle();
      const r0 = await f.source.revision();
      await f.revoke(a, reason, at('2026-06-01T00:00:00Z'));
      await settle();
      const r1 = await f.source.revision();
      expect(r1).to.be.greaterThan(r0);
      await f.hold(b, at('2026-06-02T00:00:00Z'));
      await settle();
      const r2 = await f.source.revision();
      expect(r2).to.be.greaterThan(r1);
      await f.reinstate(b);
      await settle();
      const r3 = await f.source.revision();
      expect(r3).to.be.greaterThan(r2);

      const mine = (changes: Awaited<ReturnType<CertificateStatusSource['changesSince']>>) => changes.filter((c) => c.serialHex === a || c.serialHex === b);
      const all = mine(await f.source.changesSince(r0));
      expect(all.map(({ serialHex, status, reason, revokedAt }) => ({ serialHex, status, reason, revokedAt }))).to.deep.equal([
        { serialHex: a, status: 'revoked', reason, revokedAt: at('2026-06-01T00:00:00Z') },
        { serialHex: b, status: 'revoked', reason: 'certificateHold', revokedAt: at('2026-06-02T00:00:00Z') },
        { serialHex: b, status: 'good', reason: null, revokedAt: null },
      ]);
      const revisions = all.map((c) => c.revision);
      expect(revisions[0]).to.be.greaterThan(r0).and.at.most(r1);
      expect(revisions[1]).to.be.greaterThan(r1).and.at.most(r2);
      expect(revisions[2]).to.be.greaterThan(r2).and.at.most(r3);
      expect(mine(await f.source.changesSince(r1)).map((c) => c.status)).to.deep.equal(['revoked', 'good']);
      expect(mine(await f.source.changesSince(r3))).to.deep.equal([]);
    });
  });
}
