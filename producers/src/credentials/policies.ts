import type { IdentityStatus } from '@registo/schemas';
import { reject } from '../decider.js';
import type { CredentialStatus } from '../deciders/credential.js';

/*
 * Pure rules about credentials that are decided before there is a command to give the
 * credential decider: whether a certificate may be signed at all (signing comes before the
 * IssueCredential command records it), and which credentials the print bureau receives.
 */

/** Only an ACTIVE identity is given a new holder certificate: a closed one keeps none (its certificates are revoked). */
export function requireIdentityIssuable(uin: string, status: IdentityStatus | null): void {
  if (status !== 'ACTIVE') reject('IDENTITY_NOT_ACTIVE', `identity ${uin} is ${status}: no new credentials`, { status });
}

/** A key whose certificate was revoked (a compromised card or wallet) is not certified again: a new key is needed. */
export function requireKeyNotRevoked(credentialId: string, existing: { status: CredentialStatus }): void {
  if (existing.status === 'REVOKED') {
    reject('CREDENTIAL_REVOKED', `the certificate for this key (${credentialId}) was revoked; submit a CSR for a new key`, { credentialId });
  }
}

/** The credentials the print bureau prints: national identity cards that are still good. */
export function isPrintable(credential: { status: string; credentialType: string }): boolean {
  return credential.status === 'ACTIVE' && credential.credentialType === 'NationalIdentityCredential';
}
