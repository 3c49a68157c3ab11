import { expect } from 'chai';
import { CommandRejected, isPrintable, requireIdentityIssuable, requireKeyNotRevoked } from '../../src/index.js';

/* Credential rules decided before a command exists, given/when/then. */

function refusal(f: () => void): { reason: string; details: Record<string, unknown> } | null {
  try {
    f();
    return null;
  } catch (e) {
    if (!(e instanceof CommandRejected)) throw e;
    return { reason: e.reason, details: e.details };
  }
}

describe('credential policies', () => {
  describe('requireIdentityIssuable', () => {
    it('given an ACTIVE identity, then a holder certificate may be issued', () => {
      expect(refusal(() => requireIdentityIssuable('1234567890', 'ACTIVE'))).to.equal(null);
    });

    for (const status of ['DEACTIVATED', 'BLOCKED', 'DECEASED'] as const) {
      it(`given a ${status} identity, then it is refused IDENTITY_NOT_ACTIVE with the status`, () => {
        expect(refusal(() => requireIdentityIssuable('1234567890', status))).to.deep.equal({ reason: 'IDENTITY_NOT_ACTIVE', details: { reason: 'IDENTITY_NOT_ACTIVE', status } });
      });
    }
  });

  describe('requireKeyNotRevoked', () => {
    it('given the key\'s certificate is ACTIVE or SUSPENDED, then the certificate already issued is returned (no refusal)', () => {
      expect(refusal(() => requireKeyNotRevoked('x509-1', { status: 'ACTIVE' }))).to.equal(null);
      expect(refusal(() => requireKeyNotRevoked('x509-1', { status: 'SUSPENDED' }))).to.equal(null);
    });

    it('given the key\'s certificate was REVOKED, then it is refused CREDENTIAL_REVOKED', () => {
      expect(refusal(() => requireKeyNotRevoked('x509-1', { status: 'REVOKED' }))).to.deep.equal({ reason: 'CREDENTIAL_REVOKED', details: { reason: 'CREDENTIAL_REVOKED', credentialId: 'x509-1' } });
    });
  });

  describe('isPrintable', () => {
    it('given an ACTIVE national identity credential, then it is printed', () => {
      expect(isPrintable({ status: 'ACTIVE', credentialType: 'NationalIdentityCredential' })).to.equal(true);
    });

    it('given a suspended or revoked card, or another credential type, then it is not', () => {
      expect(isPrintable({ status: 'SUSPENDED', credentialType: 'NationalIdentityCredential' })).to.equal(false);
      expect(isPrintable({ status: 'REVOKED', credentialType: 'NationalIdentityCredential' })).to.equal(false);
      expect(isPrintable({ status: 'ACTIVE', credentialType: 'HolderAuthenticationCertificate' })).to.equal(false);
    });
  });
});
