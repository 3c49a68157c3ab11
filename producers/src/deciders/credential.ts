import {
  type CredentialEventData,
  type CredentialKind,
  type CredentialRevocationReason,
  type CredentialStatusAction,
  type IdentityStatus,
  eventGuard,
} from '@registo/schemas';
import { type Decider, type DeciderEvent, reject } from '../decider.js';

/*
 * The credentials of one holder (stream `credential-<uin>`). One stream per holder, not per
 * credential, so that "the identity died: revoke everything it holds" and "this update
 * supersedes the previous card" are each one decision over every credential, appended atomically.
 */

export type CredentialStatus = 'ACTIVE' | 'SUSPENDED' | 'REVOKED';

export interface HeldCredential {
  credentialId: string;
  kind: CredentialKind;
  credentialType: string;
  serialHex: string | null;
  status: CredentialStatus;
  revocationReason: CredentialRevocationReason | null;
  /** Status changes so far: a request remembers it, and an approval after another change is stale. */
  statusVersion: number;
}

/** A request as it was made, and where it stands. */
export interface StatusChangeRequest
  extends Pick<Requested, 'requestId' | 'credentialId' | 'action' | 'reason' | 'comment' | 'requestedBy' | 'statusVersion'> {
  state: 'PENDING' | 'APPROVED' | 'REJECTED';
  decidedBy: string | null;
}

export interface CredentialHolderState {
  uin: string | null;
  credentials: Record<string, HeldCredential>;
  requests: Record<string, StatusChangeRequest>;
}

/** The role that may approve (or reject) a status change; the person must not be the requester. */
export const APPROVER_ROLE = 'approver';

/** Reasons an officer may give for a revocation (certificateHold is a suspension, removeFromCRL a reinstatement). */
export const REQUESTABLE_REVOCATION_REASONS: readonly CredentialRevocationReason[] = [
  'unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn', 'aACompromise',
];

/**
 * What an identity's status does to its credentials, automatically (no dual control: the
 * identity decision was already taken by whoever changed it). DECEASED: the holder ceased to
 * exist (cessationOfOperation); BLOCKED: the state withdrew the holder's privileges
 * (privilegeWithdrawn). ERASED (the subject's data key destroyed): the platform can no longer
 * stand behind the attributes, the credential's purpose has ended (cessationOfOperation).
 * DEACTIVATED leaves them alone: an officer can request a suspension.
 */
export type HolderCondition = IdentityStatus | 'ERASED';
export const IDENTITY_STATUS_REVOCATION: Readonly<Partial<Record<HolderCondition, CredentialRevocationReason>>> = {
  DECEASED: 'cessationOfOperation',
  BLOCKED: 'privilegeWithdrawn',
  ERASED: 'cessationOfOperation',
};

type Issued = CredentialEventData['CredentialIssued'];
type Requested = CredentialEventData['CredentialStatusChangeRequested'];

export type CredentialCommand =
  /**
   * Issue; `supersede` revokes (superseded) the holder's other live credentials of the same kind and
   * type. `keyCertifiedFor`: the UINs the certified key already has certificates for, as the
   * holder-key register knows them (empty for a VC, which certifies no holder key).
   */
  | ({ type: 'IssueCredential'; supersede: boolean; keyCertifiedFor: readonly string[] } & Omit<Issued, 'supersedes'>)
  /** `reason`: REVOKE: required; SUSPEND: certificateHold (or null); REINSTATE: null. */
  | ({ type: 'RequestStatusChange' } & Omit<Requested, 'statusVersion'>)
  | { type: 'ApproveStatusChange'; uin: string; requestId: string; approvedBy: string; approverRole: string; comment: string | null }
  | { type: 'RejectStatusChange'; uin: string; requestId: string; rejectedBy: string; rejecterRole: string; comment: string }
  | { type: 'ApplyIdentityStatus'; uin: string; identityStatus: HolderCondition; cause: string };

export type CredentialEvent = DeciderEvent<CredentialEventData>;

export function initialCredentialHolderState(): CredentialHolderState {
  return { uin: null, credentials: {}, requests: {} };
}

function requireCredential(state: CredentialHolderState, credentialId: string): HeldCredential {
  const c = state.credentials[credentialId];
  if (!c) reject('CREDENTIAL_NOT_FOUND', `no credential ${credentialId}`, { credentialId });
  return c;
}

function checkHolder(state: CredentialHolderState, uin: string): void {
  if (state.uin !== null && state.uin !== uin) reject('HOLDER_MISMATCH', `these credentials belong to ${state.uin}, not ${uin}`);
}

/** Whether `action` can apply to a credential in `status` (before any approval). */
function applicable(action: CredentialStatusAction, status: CredentialStatus): boolean {
  return action === 'SUSPEND' ? status === 'ACTIVE' : action === 'REINSTATE' ? status === 'SUSPENDED' : status !== 'REVOKED';
}

function revokedEvent(c: HeldCredential, uin: string, reason: CredentialRevocationReason, extra: Partial<CredentialEventData['CredentialRevoked']> & Pick<CredentialEventData['CredentialRevoked'], 'source'>): CredentialEvent {
  return {
    type: 'CredentialRevoked',
    data: { credentialId: c.credentialId, uin, kind: c.kind, serialHex: c.serialHex, reason, requestId: null, requestedBy: null, approvedBy: null, identityStatus: null, cause: null, ...extra },
  };
}

export function decideCredential(command: CredentialCommand, state: CredentialHolderState): CredentialEvent[] {
  checkHolder(state, command.uin);
  switch (command.type) {
    case 'IssueCredential':
      return issue(command, state);
    case 'RequestStatusChange':
      return requestStatusChange(command, state);
    case 'ApproveStatusChange':
      return approveStatusChange(command, state);
    case 'RejectStatusChange':
      return rejectStatusChange(command, state);
    case 'ApplyIdentityStatus': {
      const reason = IDENTITY_STATUS_REVOCATION[command.identityStatus];
      if (!reason) return [];
      // Already-revoked credentials are skipped, so a redelivered status change appends nothing.
      return Object.values(state.credentials)
        .filter((c) => c.status !== 'REVOKED')
        .map((c) => revokedEvent(c, command.uin, reason, { source: 'IDENTITY_STATUS', identityStatus: command.identityStatus, cause: command.cause }));
    }
  }
  return [];
}

function issue(command: Extract<CredentialCommand, { type: 'IssueCredential' }>, state: CredentialHolderState): CredentialEvent[] {
  // Idempotent per credential id: a redelivered identity event or a retried CSR issues nothing twice.
  if (state.credentials[command.credentialId]) return [];
  // One holder key speaks for one person: a key certified for another UIN is never certified for this one.
  // The other UIN is not named: the caller may not know whose key it presented.
  if (command.kind === 'X509' && command.keyCertifiedFor.some((other) => other !== command.uin)) {
    reject('HOLDER_KEY_CERTIFIED_FOR_ANOTHER_UIN', 'this key is already certified for another identity; a holder key is bound to one UIN', { credentialId: command.credentialId });
  }
  const { type: _t, supersede, keyCertifiedFor: _k, ...data } = command;
  const superseded = supersede
    ? Object.values(state.credentials).filter((c) => c.status !== 'REVOKED' && c.kind === command.kind && c.credentialType === command.credentialType)
    : [];
  return [
    { type: 'CredentialIssued', data: { ...data, supersedes: superseded.map((c) => c.credentialId) } },
    ...superseded.map((c) => revokedEvent(c, command.uin, 'superseded', { source: 'SUPERSEDED', cause: command.credentialId })),
  ];
}

function requestStatusChange(command: Extract<CredentialCommand, { type: 'RequestStatusChange' }>, state: CredentialHolderState): CredentialEvent[] {
  const previous = state.requests[command.requestId];
  if (previous) {
    const same = previous.credentialId === command.credentialId && previous.action === command.action && previous.requestedBy === command.requestedBy;
    if (same) return [];
    reject('REQUEST_ID_REUSED', `request ${command.requestId} already exists for another change`, { requestId: command.requestId });
  }
  const c = requireCredential(state, command.credentialId);
  if (c.status === 'REVOKED') reject('CREDENTIAL_REVOKED', `credential ${c.credentialId} is revoked; revocation is final`, { credentialId: c.credentialId });
  if (!applicable(command.action, c.status)) {
    reject('STATUS_CHANGE_NOT_APPLICABLE', `credential ${c.credentialId} is ${c.status}: cannot ${command.action}`, { credentialId: c.credentialId, status: c.status, action: command.action });
  }
  let reason: CredentialRevocationReason | null;
  if (command.action === 'REVOKE') {
    if (!command.reason || !REQUESTABLE_REVOCATION_REASONS.includes(command.reason)) {
      reject('REVOCATION_REASON_INVALID', `a revocation needs an RFC 5280 reason, one of ${REQUESTABLE_REVOCATION_REASONS.join(', ')}`, { revocationReason: command.reason });
    }
    reason = command.reason;
  } else if (command.action === 'SUSPEND') {
    if (command.reason !== null && command.reason !== 'certificateHold') reject('REVOCATION_REASON_INVALID', 'a suspension is certificateHold', { revocationReason: command.reason });
    reason = 'certificateHold';
  } else {
    if (command.reason !== null && command.reason !== 'removeFromCRL') reject('REVOCATION_REASON_INVALID', 'a reinstatement has no reason', { revocationReason: command.reason });
    reason = null;
  }
  return [
    {
      type: 'CredentialStatusChangeRequested',
      data: {
        requestId: command.requestId,
        credentialId: c.credentialId,
        uin: command.uin,
        action: command.action,
        reason,
        comment: command.comment,
        requestedBy: command.requestedBy,
        requestedByRole: command.requestedByRole,
        statusVersion: c.statusVersion,
      },
    },
  ];
}

function approveStatusChange(command: Extract<CredentialCommand, { type: 'ApproveStatusChange' }>, state: CredentialHolderState): CredentialEvent[] {
  const r = state.requests[command.requestId];
  if (!r) reject('REQUEST_NOT_FOUND', `no status-change request ${command.requestId}`, { requestId: command.requestId });
  if (r.state === 'APPROVED' && r.decidedBy === command.approvedBy) return []; // the same approval, retried
  if (r.state !== 'PENDING') reject('REQUEST_ALREADY_DECIDED', `request ${r.requestId} was already ${r.state.toLowerCase()}`, { requestId: r.requestId, state: r.state });
  if (command.approverRole !== APPROVER_ROLE) reject('APPROVER_ROLE_REQUIRED', `approving needs the ${APPROVER_ROLE} role, not ${command.approverRole}`, { role: command.approverRole });
  if (command.approvedBy === r.requestedBy) {
    reject('DUAL_CONTROL_VIOLATION', `${command.approvedBy} requested this change and cannot also approve it: a different person must`, { requestId: r.requestId, person: command.approvedBy });
  }
  const c = requireCredential(state, r.credentialId);
  if (c.statusVersion !== r.statusVersion || !applicable(r.action, c.status)) {
    reject('REQUEST_STALE', `credential ${c.credentialId} changed since request ${r.requestId} was made (now ${c.status}); make a new request`, { requestId: r.requestId, status: c.status });
  }
  const who = { requestId: r.requestId, requestedBy: r.requestedBy, approvedBy: command.approvedBy };
  const approved: CredentialEvent = {
    type: 'CredentialStatusChangeApproved',
    data: { requestId: r.requestId, credentialId: c.credentialId, uin: command.uin, action: r.action, requestedBy: r.requestedBy, approvedBy: command.approvedBy, comment: command.comment },
  };
  const base = { credentialId: c.credentialId, uin: command.uin, kind: c.kind, serialHex: c.serialHex, ...who };
  switch (r.action) {
    case 'SUSPEND':
      return [approved, { type: 'CredentialSuspended', data: base }];
    case 'REINSTATE':
      return [approved, { type: 'CredentialReinstated', data: base }];
    case 'REVOKE':
      return [approved, revokedEvent(c, command.uin, r.reason!, { source: 'DUAL_CONTROL', ...who })];
  }
}

function rejectStatusChange(command: Extract<CredentialCommand, { type: 'RejectStatusChange' }>, state: CredentialHolderState): CredentialEvent[] {
  const r = state.requests[command.requestId];
  if (!r) reject('REQUEST_NOT_FOUND', `no status-change request ${command.requestId}`, { requestId: command.requestId });
  if (r.state === 'REJECTED' && r.decidedBy === command.rejectedBy) return [];
  if (r.state !== 'PENDING') reject('REQUEST_ALREADY_DECIDED', `request ${r.requestId} was already ${r.state.toLowerCase()}`, { requestId: r.requestId, state: r.state });
  if (command.rejecterRole !== APPROVER_ROLE) reject('APPROVER_ROLE_REQUIRED', `rejecting needs the ${APPROVER_ROLE} role, not ${command.rejecterRole}`, { role: command.rejecterRole });
  return [
    {
      type: 'CredentialStatusChangeRejected',
      data: { requestId: r.requestId, credentialId: r.credentialId, uin: command.uin, requestedBy: r.requestedBy, rejectedBy: command.rejectedBy, comment: command.comment },
    },
  ];
}

function withCredential(state: CredentialHolderState, id: string, change: (c: HeldCredential) => HeldCredential): CredentialHolderState {
  const c = state.credentials[id];
  return c ? { ...state, credentials: { ...state.credentials, [id]: change(c) } } : state;
}

function withRequest(state: CredentialHolderState, id: string, change: (r: StatusChangeRequest) => StatusChangeRequest): CredentialHolderState {
  const r = state.requests[id];
  return r ? { ...state, requests: { ...state.requests, [id]: change(r) } } : state;
}

export function evolveCredential(state: CredentialHolderState, event: CredentialEvent): CredentialHolderState {
  switch (event.type) {
    case 'CredentialIssued': {
      const d = event.data;
      const held: HeldCredential = { credentialId: d.credentialId, kind: d.kind, credentialType: d.credentialType, serialHex: d.serialHex, status: 'ACTIVE', revocationReason: null, statusVersion: 0 };
      return { ...state, uin: d.uin, credentials: { ...state.credentials, [d.credentialId]: held } };
    }
    case 'CredentialStatusChangeRequested': {
      const d = event.data;
      const r: StatusChangeRequest = { requestId: d.requestId, credentialId: d.credentialId, action: d.action, reason: d.reason, comment: d.comment, requestedBy: d.requestedBy, statusVersion: d.statusVersion, state: 'PENDING', decidedBy: null };
      return { ...state, requests: { ...state.requests, [d.requestId]: r } };
    }
    case 'CredentialStatusChangeApproved':
      return withRequest(state, event.data.requestId, (r) => ({ ...r, state: 'APPROVED', decidedBy: event.data.approvedBy }));
    case 'CredentialStatusChangeRejected':
      return withRequest(state, event.data.requestId, (r) => ({ ...r, state: 'REJECTED', decidedBy: event.data.rejectedBy }));
    case 'CredentialSuspended':
      return withCredential(state, event.data.credentialId, (c) => ({ ...c, status: 'SUSPENDED', revocationReason: 'certificateHold', statusVersion: c.statusVersion + 1 }));
    case 'CredentialReinstated':
      return withCredential(state, event.data.credentialId, (c) => ({ ...c, status: 'ACTIVE', revocationReason: null, statusVersion: c.statusVersion + 1 }));
    case 'CredentialRevoked':
      return withCredential(state, event.data.credentialId, (c) => ({ ...c, status: 'REVOKED', revocationReason: event.data.reason, statusVersion: c.statusVersion + 1 }));
  }
}

export const credentialDecider: Decider<CredentialCommand, CredentialHolderState, CredentialEventData> = {
  accepts: eventGuard('credential'),
  initialState: initialCredentialHolderState,
  decide: decideCredential,
  evolve: evolveCredential,
};

const UIN_SHAPE = /^\d{6,20}$/;
const isUinShaped = (uin: string): boolean => UIN_SHAPE.test(uin);

/**
 * Whether the holder's stream can change the holder-binding answer: not when the proof names
 * another holder, nor for a "UIN" that no holder can have (the answer is then no, unread).
 */
export function holderStreamWorthReading(uin: string, presence: HolderPresence): boolean {
  return isUinShaped(uin) && presence.provenUin === uin;
}

/** Who asks to act for a holder on the holder channel: the UIN their proof names and the key that signed it. */
export interface HolderPresence {
  /** The UIN the holder's proof names (its `sub`). */
  provenUin: string;
  /** SHA-256 hex of the SubjectPublicKeyInfo of the key that signed the proof. */
  publicKeySha256: string;
}

/**
 * The holder binding: the holder channel may act for `uin` (read its credentials, certify a
 * further key) only for a holder who proves presence with a key already certified to that very
 * UIN by an X.509 credential that is ACTIVE: not suspended (a card reported lost is held), not
 * revoked, not another holder's. The first key is certified in person: an identity officer
 * submits the CSR for a holder standing at the counter. Throws `HOLDER_NOT_BOUND`.
 */
export function decideHolderAccess(state: CredentialHolderState, uin: string, presence: HolderPresence): void {
  if (!holderStreamWorthReading(uin, presence)) {
    reject('HOLDER_NOT_BOUND', isUinShaped(uin) ? 'the holder proof names another holder' : 'no holder has this UIN');
  }
  checkHolder(state, uin);
  const bound = state.credentials[x509CredentialId(uin, presence.publicKeySha256)];
  if (!bound || bound.kind !== 'X509') reject('HOLDER_NOT_BOUND', 'the holder proof key is not certified for this holder');
  if (bound.status !== 'ACTIVE') reject('HOLDER_NOT_BOUND', `the holder proof key's certificate is ${bound.status.toLowerCase()}`, { credentialId: bound.credentialId, status: bound.status });
}

export const credentialStreamId = (uin: string): string => `credential-${uin}`;

/*
 * Ids carry the holder's UIN, so that any id found in a request leads to its stream without a
 * read model (which may lag the write just made).
 */
const CREDENTIAL_ID = /^(nid|x509)-(\d{6,20})-([A-Za-z0-9]{1,64})$/;
const REQUEST_ID = /^req-(\d{6,20})-([A-Za-z0-9]{1,64})$/;

/** The national-ID VC issued for an identity event (its revision in the identity stream). */
export const vcCredentialId = (uin: string, identityRevision: number): string => `nid-${uin}-r${identityRevision}`;
/** The X.509 credential for a holder key: one per (holder, public key) whatever the retries. */
export const x509CredentialId = (uin: string, keyDigestHex: string): string => `x509-${uin}-${keyDigestHex.slice(0, 32)}`;
export const statusRequestId = (uin: string, nonce: string): string => `req-${uin}-${nonce}`;

export function uinOfCredentialId(credentialId: string): string | null {
  return CREDENTIAL_ID.exec(credentialId)?.[2] ?? null;
}

export function uinOfRequestId(requestId: string): string | null {
  return REQUEST_ID.exec(requestId)?.[1] ?? null;
}
