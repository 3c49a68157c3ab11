import type { SealedData } from './common.js';

// Hand-kept mirrors of schemas/avro/credential (checked against them by schemas/test/catalog.test.ts).
export type CredentialKind = 'VC_JWT' | 'X509';
export const CREDENTIAL_KINDS: readonly CredentialKind[] = ['VC_JWT', 'X509'];

export type CredentialStatusAction = 'SUSPEND' | 'REINSTATE' | 'REVOKE';
export const CREDENTIAL_STATUS_ACTIONS: readonly CredentialStatusAction[] = ['SUSPEND', 'REINSTATE', 'REVOKE'];

/** RFC 5280 §5.3.1 CRLReason names (the same list as infra's REVOCATION_REASONS). */
export type CredentialRevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'cACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'removeFromCRL'
  | 'privilegeWithdrawn'
  | 'aACompromise';
export const CREDENTIAL_REVOCATION_REASONS: readonly CredentialRevocationReason[] = [
  'unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded',
  'cessationOfOperation', 'certificateHold', 'removeFromCRL', 'privilegeWithdrawn', 'aACompromise',
];

export type RevocationSource = 'DUAL_CONTROL' | 'IDENTITY_STATUS' | 'SUPERSEDED';
export const REVOCATION_SOURCES: readonly RevocationSource[] = ['DUAL_CONTROL', 'IDENTITY_STATUS', 'SUPERSEDED'];

export interface CredentialEventData {
  CredentialIssued: {
    credentialId: string;
    uin: string;
    kind: CredentialKind;
    credentialType: string;
    serialHex: string | null;
    statusListId: string | null;
    statusListIndex: number | null;
    issuer: string;
    issuedAt: string;
    expiresAt: string;
    signerMode: string;
    credentialSha256: string;
    cause: string;
    supersedes: string[];
    sealed: SealedData;
  };
  CredentialStatusChangeRequested: {
    requestId: string;
    credentialId: string;
    uin: string;
    action: CredentialStatusAction;
    reason: CredentialRevocationReason | null;
    comment: string;
    requestedBy: string;
    requestedByRole: string;
    statusVersion: number;
  };
  CredentialStatusChangeApproved: {
    requestId: string;
    credentialId: string;
    uin: string;
    action: CredentialStatusAction;
    requestedBy: string;
    approvedBy: string;
    comment: string | null;
  };
  CredentialStatusChangeRejected: { requestId: string; credentialId: string; uin: string; requestedBy: string; rejectedBy: string; comment: string };
  CredentialSuspended: { credentialId: string; uin: string; kind: CredentialKind; serialHex: string | null; requestId: string; requestedBy: string; approvedBy: string };
  CredentialReinstated: { credentialId: string; uin: string; kind: CredentialKind; serialHex: string | null; requestId: string; requestedBy: string; approvedBy: string };
  CredentialRevoked: {
    credentialId: string;
    uin: string;
    kind: CredentialKind;
    serialHex: string | null;
    reason: CredentialRevocationReason;
    source: RevocationSource;
    requestId: string | null;
    requestedBy: string | null;
    approvedBy: string | null;
    identityStatus: string | null;
    cause: string | null;
  };
}

export type CredentialEventType = keyof CredentialEventData;
