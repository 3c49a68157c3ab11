import { expect } from 'chai';
import type { ExternalSyncPort } from '@registo/external';
import { RegistoError } from '@registo/schemas';

export interface ExternalSyncContractSubject {
  name: string;
  open(): Promise<{ port: ExternalSyncPort; validUpdate(uin: string): Record<string, unknown>; announce(type: string, uin: string): Promise<void>; changeTypes: readonly string[] }>;
  cleanup(): Promise<void>;
}

/** What every sync port (SIGA's, Immigration's) must do, whatever the adapter. */
export function externalSyncContract(subject: ExternalSyncContractSubject): void {
  describe(`external sync contract: ${subject.name}`, () => {
    let ctx: Awaited<ReturnType<ExternalSyncContractSubject['open']>>;
    before(async () => {
      ctx = await subject.open();
    });
    after(() => subject.cleanup());

    it('applies a status update once per idempotency key: the same key again is a replay', async () => {
      const body = ctx.validUpdate('3000000001');
      const first = await ctx.port.sendStatusUpdate(body, { idempotencyKey: 'k-1' });
      const again = await ctx.port.sendStatusUpdate(body, { idempotencyKey: 'k-1' });
      expect(first.replayed).to.equal(false);
      expect(again).to.deep.equal({ ...first, replayed: true });
    });

    it('refuses a reused key with another body, and a field outside the agreement (EXTERNAL_REJECTED, not retryable)', async () => {
      await ctx.port.sendStatusUpdate(ctx.validUpdate('3000000002'), { idempotencyKey: 'k-2' });
      for (const [body, key] of [[ctx.validUpdate('3000000003'), 'k-2'], [{ ...ctx.validUpdate('3000000004'), address: 'Rua 1' }, 'k-3']] as const) {
        const e = await ctx.port.sendStatusUpdate(body, { idempotencyKey: key }).then(() => null, (x: unknown) => x);
        expect(e).to.be.instanceOf(RegistoError);
        expect((e as RegistoError).code).to.equal('EXTERNAL_REJECTED');
        expect((e as RegistoError).details, 'a refusal is not worth retrying').to.include({ retryable: false });
      }
    });

    it('exports what it holds, keyed by uin', async () => {
      const records = await ctx.port.exportIdentities();
      expect(records.map((r) => r.uin)).to.include.members(['3000000001', '3000000002']);
    });

    it('pages its change feed from a cursor', async () => {
      for (const [i, type] of ctx.changeTypes.entries()) await ctx.announce(type, `300000000${i + 1}`);
      const all = await ctx.port.changes(0, 100);
      expect(all.changes.map((c) => c.type)).to.deep.equal([...ctx.changeTypes]);
      const rest = await ctx.port.changes(all.changes[0]!.seq, 100);
      expect(rest.changes).to.deep.equal(all.changes.slice(1));
      expect((await ctx.port.changes(all.last, 100)).changes).to.deep.equal([]);
    });
  });
}
