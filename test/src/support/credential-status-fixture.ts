import { createLogger } from '@registo/base';
import type { EventStore, SqlDriver } from '@registo/event-store';
import { type CertificateStatusSource, type RevocationReason, normaliseSerialHex } from '@registo/trust';
import { SqlConsumer, SqlDeadLetterSink, StoreEventSource } from '@registo/messaging';
import { type CredentialCommand, credentialHandler, credentialStreamId, statusRequestId } from '@registo/producers';
import { SqlCertificateStatusSource, credentialStatusProjection } from '@registo/projections';

/**
 * Drives the credential read model's `CertificateStatusSource` through the events that change
 * status in its world: X.509 credentials issued, status changes requested by one person and
 * approved by another (at the time given), projected by the running `credential_status` consumer.
 */
export interface CredentialStatusFixture {
  source: CertificateStatusSource;
  issue(serialHex: string): Promise<void>;
  revoke(serialHex: string, reason: RevocationReason, at: Date): Promise<void>;
  hold(serialHex: string, at: Date): Promise<void>;
  reinstate(serialHex: string): Promise<void>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

let fixtures = 0;
const sealed = { subjectId: 'subject-fixture', keyVersion: 1, alg: 'A256GCM', iv: 'aXZpdml2aXZpdg', ciphertext: 'Y2lwaGVydGV4dA' };

export async function openCredentialStatusFixture(store: EventStore, db: SqlDriver): Promise<CredentialStatusFixture> {
  const uin = `27${String(process.pid % 1000).padStart(3, '0')}${String(++fixtures).padStart(5, '0')}`;
  const stream = credentialStreamId(uin);
  const ids = new Map<string, string>();
  const consumer = new SqlConsumer(db, credentialStatusProjection, new StoreEventSource(store), new SqlDeadLetterSink(db), { logger: createLogger('silent') });
  await consumer.migrate();
  const running = consumer.run();
  const source = new SqlCertificateStatusSource(db);
  const send = (command: CredentialCommand, who: string, at?: Date) =>
    credentialHandler(store, uin, command, { metadata: { actor: { id: who, role: who === 'approver-1' ? 'approver' : 'identity_officer' }, ...(at && { occurredAt: at.toISOString() }) } });
  const change = async (serialHex: string, action: 'SUSPEND' | 'REINSTATE' | 'REVOKE', reason: RevocationReason | null, at?: Date): Promise<void> => {
    const credentialId = ids.get(serialHex)!;
    const requestId = statusRequestId(uin, `${ids.size}${Math.random().toString(36).slice(2, 10)}`);
    await send({ type: 'RequestStatusChange', uin, requestId, credentialId, action, reason, comment: 'contract', requestedBy: 'officer-1', requestedByRole: 'identity_officer' }, 'officer-1', at);
    await send({ type: 'ApproveStatusChange', uin, requestId, approvedBy: 'approver-1', approverRole: 'approver', comment: null }, 'approver-1', at);
  };
  return {
    source,
    async issue(serialHex) {
      const credentialId = `x509-${uin}-${serialHex.slice(0, 32)}`;
      ids.set(serialHex, credentialId);
      await send(
        {
          // As issuance records it: the serial normalised (lower case, no leading zero octets).
          type: 'IssueCredential', supersede: false, keyCertifiedFor: [], credentialId, uin, kind: 'X509', credentialType: 'HolderAuthenticationCertificate', serialHex: normaliseSerialHex(serialHex),
          statusListId: null, statusListIndex: null, issuer: 'CN=Registo Identity CA', issuedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
          signerMode: 'non_qualified', credentialSha256: '00'.repeat(32), cause: 'contract', sealed,
        },
        'credential-issuance',
      );
    },
    revoke: (s, reason, at) => change(s, 'REVOKE', reason, at),
    hold: (s, at) => change(s, 'SUSPEND', null, at),
    reinstate: (s) => change(s, 'REINSTATE', null),
    async settle() {
      const last = (await store.readStream(stream)).at(-1)?.position ?? 0;
      const deadline = Date.now() + 20_000;
      while ((await source.revision()) < last) {
        if (Date.now() > deadline) throw new Error('credential_status did not catch up');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await consumer.stop();
      await running;
    },
  };
}
