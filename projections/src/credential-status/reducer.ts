import { type CredentialEventData, type CredentialRevocationReason, type EventEnvelope, expectEventOf } from '@registo/schemas';

export type CredentialStatusValue = 'ACTIVE' | 'SUSPENDED' | 'REVOKED';

/** One credential as the status services and the APIs see it. `sealed` is the credential itself, still sealed. */
export interface CredentialRow extends Omit<CredentialEventData['CredentialIssued'], 'cause' | 'supersedes'> {
  status: CredentialStatusValue;
  /** RFC 5280 reason while revoked (certificateHold while suspended). */
  reason: CredentialRevocationReason | null;
  issuedPosition: number;
  statusChangedAt: string | null;
  statusPosition: number;
}

export interface StatusRequestRow {
  requestId: string;
  credentialId: string;
  uin: string;
  action: string;
  reason: string | null;
  comment: string;
  requestedBy: string;
  requestedByRole: string;
  state: 'PENDING' | 'APPROVED' | 'REJECTED';
  decidedBy: string | null;
  decisionComment: string | null;
  requestedAt: string;
  decidedAt: string | null;
}

/** One change of a certificate's status at a log position (a delta CRL's row). */
export interface StatusChangeRow {
  position: number;
  credentialId: string;
  serialHex: string | null;
  status: 'revoked' | 'good';
  reason: CredentialRevocationReason | null;
  at: string;
}

export interface CredentialReduceInput {
  /** The holder stream's last applied revision, if any. */
  holderRevision: number | undefined;
  credential: CredentialRow | undefined;
  request: StatusRequestRow | undefined;
}

export type CredentialReduceOutcome =
  | { kind: 'skip' }
  | { kind: 'gap'; expectedRevision: number }
  | { kind: 'apply'; credential?: CredentialRow; request?: StatusRequestRow; change?: StatusChangeRow };


/** Which credential and request an event is about, so the projection loads only those rows. */
export function keysOf(event: EventEnvelope): { credentialId: string | null; requestId: string | null } {
  const { data } = expectEventOf('credential', event);
  return { credentialId: data.credentialId, requestId: 'requestId' in data ? data.requestId : null };
}

/** Pure: what `event` changes; applied only when it is the holder stream's next revision. */
export function reduceCredentialStatus(input: CredentialReduceInput, event: EventEnvelope): CredentialReduceOutcome {
  const expected = (input.holderRevision ?? -1) + 1;
  if (event.revision < expected) return { kind: 'skip' };
  if (event.revision > expected) return { kind: 'gap', expectedRevision: expected };
  const e = expectEventOf('credential', event);
  // When it was decided (the command's time; the store's when the caller gave none): what OCSP and CRLs report.
  const at = e.metadata.occurredAt ?? e.metadata.recordedAt;
  const c = input.credential;
  const changed = (status: CredentialStatusValue, reason: CredentialRevocationReason | null): CredentialRow | undefined =>
    c && { ...c, status, reason, statusChangedAt: at, statusPosition: e.position };
  const change = (status: 'revoked' | 'good', reason: CredentialRevocationReason | null): StatusChangeRow | undefined =>
    c && { position: e.position, credentialId: c.credentialId, serialHex: c.serialHex, status, reason, at };
  switch (e.type) {
    case 'CredentialIssued': {
      const d = e.data;
      return {
        kind: 'apply',
        credential: {
          credentialId: d.credentialId,
          uin: d.uin,
          kind: d.kind,
          credentialType: d.credentialType,
          serialHex: d.serialHex,
          status: 'ACTIVE',
          reason: null,
          statusListId: d.statusListId,
          statusListIndex: d.statusListIndex,
          issuer: d.issuer,
          issuedAt: d.issuedAt,
          expiresAt: d.expiresAt,
          signerMode: d.signerMode,
          credentialSha256: d.credentialSha256,
          sealed: d.sealed,
          issuedPosition: e.position,
          statusChangedAt: null,
          statusPosition: e.position,
        },
      };
    }
    case 'CredentialStatusChangeRequested': {
      const d = e.data;
      return {
        kind: 'apply',
        request: {
          requestId: d.requestId, credentialId: d.credentialId, uin: d.uin, action: d.action, reason: d.reason, comment: d.comment,
          requestedBy: d.requestedBy, requestedByRole: d.requestedByRole, state: 'PENDING', decidedBy: null, decisionComment: null, requestedAt: at, decidedAt: null,
        },
      };
    }
    case 'CredentialStatusChangeApproved':
      return { kind: 'apply', ...(input.request && { request: { ...input.request, state: 'APPROVED', decidedBy: e.data.approvedBy, decisionComment: e.data.comment, decidedAt: at } }) };
    case 'CredentialStatusChangeRejected':
      return { kind: 'apply', ...(input.request && { request: { ...input.request, state: 'REJECTED', decidedBy: e.data.rejectedBy, decisionComment: e.data.comment, decidedAt: at } }) };
    case 'CredentialSuspended':
      return { kind: 'apply', credential: changed('SUSPENDED', 'certificateHold'), change: change('revoked', 'certificateHold') };
    case 'CredentialReinstated':
      return { kind: 'apply', credential: changed('ACTIVE', null), change: change('good', null) };
    case 'CredentialRevoked':
      return { kind: 'apply', credential: changed('REVOKED', e.data.reason), change: change('revoked', e.data.reason) };
  }
  return { kind: 'apply' };
}
