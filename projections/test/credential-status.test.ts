import { expect } from 'chai';
import { type EventEnvelope, prepareEnvelope } from '@registo/schemas';
import { type CredentialRow, type StatusChangeRow, type StatusRequestRow, keysOf, reduceCredentialStatus } from '../src/index.js';

const uin = '2345678901';
const sealed = { subjectId: 's', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
let position = 200;
const ev = (revision: number, type: string, data: Record<string, unknown>): EventEnvelope => ({
  ...prepareEnvelope({ type, data }, { streamId: `credential-${uin}`, revision, recordedAt: `2026-12-01T11:00:0${revision}.000Z` }),
  position: ++position,
});
const cert = 'x509-2345678901-abcd';
const who = { requestId: 'req-2345678901-1', requestedBy: 'officer-1', approvedBy: 'approver-1' };
const history = [
  ev(0, 'CredentialIssued', {
    credentialId: cert, uin, kind: 'X509', credentialType: 'HolderAuthenticationCertificate', serialHex: '4abc', statusListId: null, statusListIndex: null,
    issuer: 'CN=Registo Identity CA', issuedAt: '2026-12-01T11:00:00.000Z', expiresAt: '2029-12-01T11:00:00.000Z', signerMode: 'non_qualified',
    credentialSha256: 'ab'.repeat(32), cause: 'csr:1', supersedes: [], sealed,
  }),
  ev(1, 'CredentialStatusChangeRequested', { requestId: who.requestId, credentialId: cert, uin, action: 'SUSPEND', reason: 'certificateHold', comment: 'lost', requestedBy: 'officer-1', requestedByRole: 'identity_officer', statusVersion: 0 }),
  ev(2, 'CredentialStatusChangeApproved', { requestId: who.requestId, credentialId: cert, uin, action: 'SUSPEND', requestedBy: 'officer-1', approvedBy: 'approver-1', comment: null }),
  ev(3, 'CredentialSuspended', { credentialId: cert, uin, kind: 'X509', serialHex: '4abc', ...who }),
  ev(4, 'CredentialReinstated', { credentialId: cert, uin, kind: 'X509', serialHex: '4abc', ...who, requestId: 'req-2345678901-2' }),
  ev(5, 'CredentialRevoked', { credentialId: cert, uin, kind: 'X509', serialHex: '4abc', reason: 'cessationOfOperation', source: 'IDENTITY_STATUS', requestId: null, requestedBy: null, approvedBy: null, identityStatus: 'DECEASED', cause: 'e' }),
];

/** Folds like the projection: one holder revision, rows by key, the change log. */
function project(events: EventEnvelope[]) {
  let holderRevision: number | undefined;
  const credentials = new Map<string, CredentialRow>();
  const requests = new Map<string, StatusRequestRow>();
  const changes: StatusChangeRow[] = [];
  for (const e of events) {
    const k = keysOf(e);
    const o = reduceCredentialStatus({ holderRevision, credential: k.credentialId ? credentials.get(k.credentialId) : undefined, request: k.requestId ? requests.get(k.requestId) : undefined }, e);
    if (o.kind !== 'apply') continue;
    holderRevision = e.revision;
    if (o.credential) credentials.set(o.credential.credentialId, o.credential);
    if (o.request) requests.set(o.request.requestId, o.request);
    if (o.change) changes.push(o.change);
  }
  return { credentials, requests, changes, holderRevision };
}

describe('credential_status reducer', () => {
  it('issued → requested (no effect) → approved → suspended → reinstated → revoked, with a change row for each effect', () => {
    const afterRequest = project(history.slice(0, 2));
    expect(afterRequest.credentials.get(cert)).to.include({ status: 'ACTIVE', reason: null, serialHex: '4abc' });
    expect(afterRequest.requests.get(who.requestId)).to.include({ state: 'PENDING', requestedBy: 'officer-1' });
    expect(afterRequest.changes).to.deep.equal([]);
    const afterApproval = project(history.slice(0, 4));
    expect(afterApproval.requests.get(who.requestId)).to.include({ state: 'APPROVED', decidedBy: 'approver-1' });
    expect(afterApproval.credentials.get(cert)).to.include({ status: 'SUSPENDED', reason: 'certificateHold', statusChangedAt: '2026-12-01T11:00:03.000Z' });
    const all = project(history);
    expect(all.credentials.get(cert)).to.include({ status: 'REVOKED', reason: 'cessationOfOperation' });
    expect(all.changes.map((c) => [c.status, c.reason])).to.deep.equal([['revoked', 'certificateHold'], ['good', null], ['revoked', 'cessationOfOperation']]);
    expect(all.changes.map((c) => c.position)).to.deep.equal([history[3]!.position, history[4]!.position, history[5]!.position]);
  });

  it('skips redeliveries and refuses gaps', () => {
    const once = project(history);
    const twice = project([...history, ...history]);
    expect([...twice.credentials.values()]).to.deep.equal([...once.credentials.values()]);
    expect(twice.changes).to.deep.equal(once.changes);
    expect(reduceCredentialStatus({ holderRevision: 0, credential: undefined, request: undefined }, history[2]!)).to.deep.equal({ kind: 'gap', expectedRevision: 1 });
  });
});
