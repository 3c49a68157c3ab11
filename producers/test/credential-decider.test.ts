import { expect } from 'chai';
import fc from 'fast-check';
import { CREDENTIAL_REVOCATION_REASONS, type CredentialRevocationReason, IDENTITY_STATUSES, validateEventData } from '@registo/schemas';
import {
  CommandRejected,
  type CredentialCommand,
  type CredentialHolderState,
  type CredentialStatus,
  decideCredential,
  decideHolderAccess,
  evolveCredential,
  initialCredentialHolderState,
  uinOfCredentialId,
  uinOfRequestId,
  vcCredentialId,
  x509CredentialId,
  statusRequestId,
} from '../src/index.js';

const uin = '2345678901';
const sealed = { subjectId: 's-1', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
const vcId = vcCredentialId(uin, 0);
const certId = x509CredentialId(uin, 'ab'.repeat(32));

const issue = (credentialId: string, over: Partial<Extract<CredentialCommand, { type: 'IssueCredential' }>> = {}): CredentialCommand => ({
  type: 'IssueCredential',
  supersede: false,
  keyCertifiedFor: [],
  credentialId,
  uin,
  kind: credentialId.startsWith('x509') ? 'X509' : 'VC_JWT',
  credentialType: credentialId.startsWith('x509') ? 'HolderAuthenticationCertificate' : 'NationalIdentityCredential',
  serialHex: credentialId.startsWith('x509') ? '4abc' : null,
  statusListId: credentialId.startsWith('x509') ? null : '1',
  statusListIndex: credentialId.startsWith('x509') ? null : 17,
  issuer: 'https://registo.example',
  issuedAt: '2026-12-01T10:00:00.000Z',
  expiresAt: '2031-12-01T10:00:00.000Z',
  signerMode: 'non_qualified',
  credentialSha256: 'ab'.repeat(32),
  cause: 'e-1',
  sealed,
  ...over,
});

const request = (requestId: string, action: 'SUSPEND' | 'REINSTATE' | 'REVOKE', over: Partial<Extract<CredentialCommand, { type: 'RequestStatusChange' }>> = {}): CredentialCommand => ({
  type: 'RequestStatusChange',
  uin,
  requestId,
  credentialId: vcId,
  action,
  reason: action === 'REVOKE' ? 'keyCompromise' : null,
  comment: 'card reported stolen',
  requestedBy: 'officer-1',
  requestedByRole: 'identity_officer',
  ...over,
});
const approve = (requestId: string, approvedBy = 'approver-1', approverRole = 'approver'): CredentialCommand => ({ type: 'ApproveStatusChange', uin, requestId, approvedBy, approverRole, comment: null });
const rejectCmd = (requestId: string, rejectedBy = 'approver-1', rejecterRole = 'approver'): CredentialCommand => ({ type: 'RejectStatusChange', uin, requestId, rejectedBy, rejecterRole, comment: 'not justified' });

function step(s: CredentialHolderState, c: CredentialCommand): { state: CredentialHolderState; types: string[] } {
  const events = decideCredential(c, s);
  for (const e of events) {
    validateEventData(e.type, undefined, e.data);
    s = evolveCredential(s, e);
  }
  return { state: s, types: events.map((e) => e.type) };
}
function run(commands: CredentialCommand[]): CredentialHolderState {
  let s = initialCredentialHolderState();
  for (const c of commands) s = step(s, c).state;
  return s;
}
const rejection = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof CommandRejected) return e.reason;
    throw e;
  }
  throw new Error('expected a rejection');
};

/** A holder whose VC is in `status`, reached through approved requests. */
function inStatus(status: CredentialStatus): CredentialHolderState {
  const cmds: CredentialCommand[] = [issue(vcId)];
  if (status === 'SUSPENDED') cmds.push(request('req-s', 'SUSPEND'), approve('req-s'));
  if (status === 'REVOKED') cmds.push(request('req-r', 'REVOKE'), approve('req-r'));
  return run(cmds);
}

describe('credential decider', () => {
  it('ids carry the holder: the stream is found from any credential or request id', () => {
    expect(uinOfCredentialId(vcId)).to.equal(uin);
    expect(uinOfCredentialId(certId)).to.equal(uin);
    expect(uinOfRequestId(statusRequestId(uin, 'a1b2'))).to.equal(uin);
    for (const bad of ['', 'nid-', 'nid-12-r0', 'other-2345678901-r0', 'nid-2345678901-r0; drop']) expect(uinOfCredentialId(bad), bad).to.equal(null);
    expect(uinOfRequestId('req-x-1')).to.equal(null);
  });

  it('issues once per credential id; the same id again issues nothing', () => {
    const { state, types } = step(initialCredentialHolderState(), issue(vcId));
    expect(types).to.deep.equal(['CredentialIssued']);
    expect(state.credentials[vcId]).to.include({ status: 'ACTIVE', kind: 'VC_JWT', statusVersion: 0 });
    expect(decideCredential(issue(vcId, { issuedAt: '2027-01-01T00:00:00.000Z' }), state)).to.deep.equal([]);
  });

  describe('holder binding: who may act for the holder on the holder channel', () => {
    const keyDigest = 'ab'.repeat(32); // the key of certId
    const allowed = (state: CredentialHolderState, presence = { provenUin: uin, publicKeySha256: keyDigest }, target = uin): string => {
      try {
        decideHolderAccess(state, target, presence);
        return 'allowed';
      } catch (e) {
        if (e instanceof CommandRejected) return e.reason;
        throw e;
      }
    };
    const certRequest = (id: string, action: 'SUSPEND' | 'REINSTATE' | 'REVOKE') => request(id, action, { credentialId: certId });

    it('given an ACTIVE holder certificate for the key, when the proof names this holder, then it may act', () => {
      expect(allowed(run([issue(vcId), issue(certId)]))).to.equal('allowed');
    });
    it('given no certificate for the key (only the VC, or nothing at all), then it is not bound', () => {
      expect(allowed(initialCredentialHolderState())).to.equal('HOLDER_NOT_BOUND');
      expect(allowed(run([issue(vcId)]))).to.equal('HOLDER_NOT_BOUND');
      expect(allowed(run([issue(vcId), issue(certId)]), { provenUin: uin, publicKeySha256: 'cd'.repeat(32) })).to.equal('HOLDER_NOT_BOUND');
    });
    it('given the certificate, when the proof names another holder, then it is not bound', () => {
      expect(allowed(run([issue(certId)]), { provenUin: '9999999999', publicKeySha256: keyDigest })).to.equal('HOLDER_NOT_BOUND');
    });
    it('given anything, when the UIN is not one a holder can have, then it is not bound', () => {
      for (const bad of ['', 'abc', '\u0000', '12', `${uin}/x`, '1'.repeat(21)]) {
        expect(allowed(initialCredentialHolderState(), { provenUin: bad, publicKeySha256: keyDigest }, bad), JSON.stringify(bad)).to.equal('HOLDER_NOT_BOUND');
      }
    });
    it("given another holder's stream, when asked for this UIN, then it is refused as another holder's", () => {
      expect(allowed(run([issue(certId)]), { provenUin: '9999999999', publicKeySha256: keyDigest }, '9999999999')).to.equal('HOLDER_MISMATCH');
    });
    it('given the certificate suspended, then not bound; reinstated, bound again; revoked, never again', () => {
      const suspended = run([issue(certId), certRequest('req-1', 'SUSPEND'), approve('req-1')]);
      expect(allowed(suspended)).to.equal('HOLDER_NOT_BOUND');
      expect(allowed(run([issue(certId), certRequest('req-1', 'SUSPEND'), approve('req-1'), certRequest('req-2', 'REINSTATE'), approve('req-2')]))).to.equal('allowed');
      expect(allowed(run([issue(certId), certRequest('req-1', 'REVOKE'), approve('req-1')]))).to.equal('HOLDER_NOT_BOUND');
      expect(allowed(run([issue(certId), { type: 'ApplyIdentityStatus', uin, identityStatus: 'DECEASED', cause: 'e-9' }]))).to.equal('HOLDER_NOT_BOUND');
    });
    it('given a requested but unapproved suspension, then still bound (a request alone changes nothing)', () => {
      expect(allowed(run([issue(certId), certRequest('req-1', 'SUSPEND')]))).to.equal('allowed');
    });
  });

  it('a holder key certified for another UIN is refused for this one; certified for this UIN alone (or new) it is issued', () => {
    const refusal = (keyCertifiedFor: readonly string[]): CommandRejected => {
      try {
        decideCredential(issue(certId, { keyCertifiedFor }), initialCredentialHolderState());
      } catch (e) {
        expect(e).to.be.instanceOf(CommandRejected);
        return e as CommandRejected;
      }
      return expect.fail('expected a refusal');
    };
    for (const others of [['3456789012'], ['3456789012', uin]]) {
      const e = refusal(others);
      expect(e.reason).to.equal('HOLDER_KEY_CERTIFIED_FOR_ANOTHER_UIN');
      // Whose key it is stays out of the refusal.
      expect(JSON.stringify({ message: e.message, details: e.details })).to.not.include('3456789012');
    }
    for (const keyCertifiedFor of [[], [uin]]) {
      expect(decideCredential(issue(certId, { keyCertifiedFor }), initialCredentialHolderState()).map((e) => e.type)).to.deep.equal(['CredentialIssued']);
    }
  });

  it('refuses commands for another holder on this stream', () => {
    expect(rejection(() => decideCredential(issue('nid-9999999999-r0', { uin: '9999999999' }), run([issue(vcId)])))).to.equal('HOLDER_MISMATCH');
  });

  it('an update supersedes the live VCs of the same type, not the certificates, in the same decision', () => {
    const s = run([issue(vcId), issue(certId)]);
    const next = vcCredentialId(uin, 3);
    const events = decideCredential(issue(next, { supersede: true }), s);
    expect(events.map((e) => e.type)).to.deep.equal(['CredentialIssued', 'CredentialRevoked']);
    expect((events[0]!.data as { supersedes: string[] }).supersedes).to.deep.equal([vcId]);
    expect(events[1]!.data).to.include({ credentialId: vcId, reason: 'superseded', source: 'SUPERSEDED', cause: next });
    const after = run([issue(vcId), issue(certId), issue(next, { supersede: true })]);
    expect(after.credentials[certId]!.status).to.equal('ACTIVE');
    expect(after.credentials[next]!.status).to.equal('ACTIVE');
  });

  describe('requests in every status', () => {
    const table: Record<CredentialStatus, Record<'SUSPEND' | 'REINSTATE' | 'REVOKE', string>> = {
      ACTIVE: { SUSPEND: 'ok', REINSTATE: 'STATUS_CHANGE_NOT_APPLICABLE', REVOKE: 'ok' },
      SUSPENDED: { SUSPEND: 'STATUS_CHANGE_NOT_APPLICABLE', REINSTATE: 'ok', REVOKE: 'ok' },
      REVOKED: { SUSPEND: 'CREDENTIAL_REVOKED', REINSTATE: 'CREDENTIAL_REVOKED', REVOKE: 'CREDENTIAL_REVOKED' },
    };
    for (const [status, row] of Object.entries(table) as Array<[CredentialStatus, Record<string, string>]>) {
      for (const [action, expected] of Object.entries(row) as Array<['SUSPEND' | 'REINSTATE' | 'REVOKE', string]>) {
        it(`${status}: request ${action} → ${expected}; approved by another approver → the change`, () => {
          const s = inStatus(status);
          expect(s.credentials[vcId]!.status).to.equal(status);
          const c = request('req-x', action);
          if (expected !== 'ok') return void expect(rejection(() => decideCredential(c, s))).to.equal(expected);
          const requested = step(s, c);
          expect(requested.types).to.deep.equal(['CredentialStatusChangeRequested']);
          // Requested only: nothing changed yet.
          expect(requested.state.credentials[vcId]!.status).to.equal(status);
          const approved = step(requested.state, approve('req-x'));
          const effect = { SUSPEND: 'CredentialSuspended', REINSTATE: 'CredentialReinstated', REVOKE: 'CredentialRevoked' }[action];
          expect(approved.types).to.deep.equal(['CredentialStatusChangeApproved', effect]);
          expect(approved.state.credentials[vcId]!.status).to.equal({ SUSPEND: 'SUSPENDED', REINSTATE: 'ACTIVE', REVOKE: 'REVOKED' }[action]);
        });
      }
    }
  });

  it('both people are in the events of an approved revocation, with its RFC 5280 reason', () => {
    const s = run([issue(vcId), request('req-1', 'REVOKE', { reason: 'affiliationChanged' })]);
    const [approved, revoked] = decideCredential(approve('req-1', 'approver-2'), s);
    expect(approved!.data).to.include({ requestedBy: 'officer-1', approvedBy: 'approver-2', action: 'REVOKE' });
    expect(revoked!.data).to.include({ reason: 'affiliationChanged', source: 'DUAL_CONTROL', requestedBy: 'officer-1', approvedBy: 'approver-2', requestId: 'req-1' });
  });

  it('dual control: the requester cannot approve, even holding the approver role; nor can a non-approver', () => {
    const s = run([issue(vcId), request('req-1', 'REVOKE', { requestedBy: 'alice', requestedByRole: 'approver' })]);
    expect(rejection(() => decideCredential(approve('req-1', 'alice'), s))).to.equal('DUAL_CONTROL_VIOLATION');
    expect(rejection(() => decideCredential(approve('req-1', 'bob', 'identity_officer'), s))).to.equal('APPROVER_ROLE_REQUIRED');
    expect(rejection(() => decideCredential(rejectCmd('req-1', 'bob', 'operator'), s))).to.equal('APPROVER_ROLE_REQUIRED');
    expect(step(s, approve('req-1', 'bob')).state.credentials[vcId]!.status).to.equal('REVOKED');
  });

  it('refuses unknown, decided and stale requests; the same approval retried is a no-op', () => {
    const s = run([issue(vcId), request('req-1', 'SUSPEND'), request('req-2', 'REVOKE')]);
    expect(rejection(() => decideCredential(approve('req-nope'), s))).to.equal('REQUEST_NOT_FOUND');
    expect(rejection(() => decideCredential(rejectCmd('req-nope'), s))).to.equal('REQUEST_NOT_FOUND');
    const suspended = step(s, approve('req-1')).state;
    expect(decideCredential(approve('req-1'), suspended)).to.deep.equal([]);
    expect(rejection(() => decideCredential(approve('req-1', 'approver-2'), suspended))).to.equal('REQUEST_ALREADY_DECIDED');
    expect(rejection(() => decideCredential(rejectCmd('req-1'), suspended))).to.equal('REQUEST_ALREADY_DECIDED');
    // req-2 was asked of an ACTIVE credential; it has been suspended since: stale.
    expect(rejection(() => decideCredential(approve('req-2'), suspended))).to.equal('REQUEST_STALE');
  });

  it('a rejected request changes nothing and cannot be approved later', () => {
    const { state, types } = step(run([issue(vcId), request('req-1', 'REVOKE')]), rejectCmd('req-1'));
    expect(types).to.deep.equal(['CredentialStatusChangeRejected']);
    expect(state.credentials[vcId]!.status).to.equal('ACTIVE');
    expect(decideCredential(rejectCmd('req-1'), state)).to.deep.equal([]);
    expect(rejection(() => decideCredential(approve('req-1', 'approver-2'), state))).to.equal('REQUEST_ALREADY_DECIDED');
  });

  it('request ids: the same request again is a no-op, another change under its id is refused; unknown credentials are refused', () => {
    const s = run([issue(vcId), request('req-1', 'REVOKE')]);
    expect(decideCredential(request('req-1', 'REVOKE'), s)).to.deep.equal([]);
    expect(rejection(() => decideCredential(request('req-1', 'SUSPEND'), s))).to.equal('REQUEST_ID_REUSED');
    expect(rejection(() => decideCredential(request('req-9', 'REVOKE', { credentialId: certId }), s))).to.equal('CREDENTIAL_NOT_FOUND');
  });

  it('revocation reasons: any RFC 5280 reason but hold and removeFromCRL; suspension is certificateHold', () => {
    const s = run([issue(vcId)]);
    // Written out, not read from REQUESTABLE_REVOCATION_REASONS: the two a request may not name.
    const notRequestable: string[] = ['certificateHold', 'removeFromCRL'];
    expect(CREDENTIAL_REVOCATION_REASONS).to.include.members(notRequestable);
    for (const reason of CREDENTIAL_REVOCATION_REASONS) {
      const c = request('req-r', 'REVOKE', { reason });
      if (!notRequestable.includes(reason)) expect(decideCredential(c, s)[0]!.data, reason).to.include({ reason });
      else expect(rejection(() => decideCredential(c, s)), reason).to.equal('REVOCATION_REASON_INVALID');
    }
    expect(rejection(() => decideCredential(request('req-r', 'REVOKE', { reason: null }), s))).to.equal('REVOCATION_REASON_INVALID');
    expect(decideCredential(request('req-s', 'SUSPEND'), s)[0]!.data).to.include({ reason: 'certificateHold' });
    expect(rejection(() => decideCredential(request('req-s', 'SUSPEND', { reason: 'keyCompromise' }), s))).to.equal('REVOCATION_REASON_INVALID');
  });

  // What each identity status does to the credentials, written out (docs/credentials.md), not read from IDENTITY_STATUS_REVOCATION.
  const revokedFor: Record<(typeof IDENTITY_STATUSES)[number] | 'ERASED', CredentialRevocationReason | null> = {
    ACTIVE: null,
    DEACTIVATED: null,
    BLOCKED: 'privilegeWithdrawn',
    DECEASED: 'cessationOfOperation',
    ERASED: 'cessationOfOperation',
  };
  for (const status of [...IDENTITY_STATUSES, 'ERASED'] as const) {
    it(`identity ${status}: ${revokedFor[status] ? `revokes every live credential (${revokedFor[status]})` : 'changes nothing'}; redelivered, nothing more`, () => {
      // One active, one suspended, one already revoked.
      const s = run([issue(vcId), issue(certId), issue('nid-2345678901-r5'), request('rq-s', 'SUSPEND', { credentialId: certId }), approve('rq-s'), request('rq-r', 'REVOKE', { credentialId: 'nid-2345678901-r5' }), approve('rq-r')]);
      const cmd: CredentialCommand = { type: 'ApplyIdentityStatus', uin, identityStatus: status, cause: 'ev-9' };
      const events = decideCredential(cmd, s);
      const reason = revokedFor[status];
      if (!reason) return void expect(events).to.deep.equal([]);
      expect(events.map((e) => (e.data as { credentialId: string }).credentialId).sort()).to.deep.equal([vcId, certId].sort());
      for (const e of events) expect(e.data).to.include({ reason, source: 'IDENTITY_STATUS', identityStatus: status, cause: 'ev-9' });
      const after = run([issue(vcId), issue(certId), ...[] as CredentialCommand[]]);
      const done = step(step(after, cmd).state, cmd);
      expect(done.types).to.deep.equal([]);
    });
  }

  it('any sequence of commands: schema-valid events, revoked stays revoked, only approvals by another approver change status', () => {
    const people = ['officer-1', 'approver-1', 'approver-2'];
    const arb = fc.oneof(
      fc.constantFrom(vcId, certId).map((id) => issue(id)),
      fc.record({ id: fc.constantFrom('a', 'b', 'c'), action: fc.constantFrom('SUSPEND', 'REINSTATE', 'REVOKE' as const), who: fc.constantFrom(...people), cred: fc.constantFrom(vcId, certId, 'nid-2345678901-r9') }).map(
        (r) => request(`req-${r.id}`, r.action as 'SUSPEND', { requestedBy: r.who, credentialId: r.cred, reason: r.action === 'REVOKE' ? 'keyCompromise' : null }),
      ),
      fc.record({ id: fc.constantFrom('a', 'b', 'c', 'zz'), who: fc.constantFrom(...people), role: fc.constantFrom('approver', 'identity_officer') }).map((r) => approve(`req-${r.id}`, r.who, r.role)),
      fc.record({ id: fc.constantFrom('a', 'b', 'c'), who: fc.constantFrom(...people) }).map((r) => rejectCmd(`req-${r.id}`, r.who)),
      fc.constantFrom(...IDENTITY_STATUSES).map((st): CredentialCommand => ({ type: 'ApplyIdentityStatus', uin, identityStatus: st, cause: 'e' })),
    );
    fc.assert(
      fc.property(fc.array(arb, { maxLength: 40 }), (cmds) => {
        let s = initialCredentialHolderState();
        const revoked = new Set<string>();
        for (const c of cmds) {
          let events;
          try {
            events = decideCredential(c, s);
          } catch (e) {
            if (!(e instanceof CommandRejected)) throw e;
            continue;
          }
          for (const e of events) {
            validateEventData(e.type, undefined, e.data);
            const id = (e.data as { credentialId: string }).credentialId;
            if (e.type === 'CredentialSuspended' || e.type === 'CredentialReinstated' || e.type === 'CredentialRevoked') {
              expect(revoked.has(id), `${e.type} after revocation of ${id}`).to.equal(false);
              if (e.data.approvedBy !== null) {
                expect(c.type).to.equal('ApproveStatusChange');
                const a = c as Extract<CredentialCommand, { type: 'ApproveStatusChange' }>;
                expect(a.approverRole).to.equal('approver');
                expect(a.approvedBy).to.not.equal(e.data.requestedBy);
              } else expect(c.type).to.equal('ApplyIdentityStatus');
            }
            if (e.type === 'CredentialRevoked') revoked.add(id);
            s = evolveCredential(s, e);
          }
        }
        for (const id of revoked) expect(s.credentials[id]!.status).to.equal('REVOKED');
        return true;
      }),
      { numRuns: 400 },
    );
  });
});
