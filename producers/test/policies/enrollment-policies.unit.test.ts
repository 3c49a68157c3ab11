import { expect } from 'chai';
import { PACKET_OPEN_CHECKS } from '@registo/packets';
import type { PermitVerificationResult } from '@registo/external';
import { OWN_CENTRE_CHECK, abisHandedToOfficer, abisUnavailableReasons, immigrationCheckOutcome } from '../../src/index.js';

/* The enrollment process's rules for reading the outside world's answers, given/when/then. */

describe('enrollment policies', () => {
  describe('immigrationCheckOutcome', () => {
    const answer = (r: Partial<PermitVerificationResult>): PermitVerificationResult => ({ outcome: 'MATCH', discrepancies: [], permitStatus: 'VALID', ...r });

    it('given a MATCH on a VALID permit, then the check is a MATCH', () => {
      expect(immigrationCheckOutcome(answer({}))).to.deep.equal({ outcome: 'MATCH', discrepancies: [] });
    });

    for (const status of ['EXPIRED', 'REVOKED'] as const) {
      it(`given a MATCH on a ${status} permit, then the check is a MISMATCH naming the permit status`, () => {
        expect(immigrationCheckOutcome(answer({ permitStatus: status }))).to.deep.equal({ outcome: 'MISMATCH', discrepancies: [`permitStatus:${status}`] });
      });
    }

    it('given a MISMATCH, then it stays one with Immigration\'s discrepancies, whatever the permit status', () => {
      expect(immigrationCheckOutcome(answer({ outcome: 'MISMATCH', discrepancies: ['surname'], permitStatus: 'EXPIRED' }))).to.deep.equal({ outcome: 'MISMATCH', discrepancies: ['surname'] });
    });

    it('given an unknown permit (NOT_FOUND, no status), then it is NOT_FOUND', () => {
      expect(immigrationCheckOutcome(answer({ outcome: 'NOT_FOUND', permitStatus: null }))).to.deep.equal({ outcome: 'NOT_FOUND', discrepancies: [] });
    });
  });

  describe('abisHandedToOfficer', () => {
    it('given the default of 3 attempts, when deliveries 1 and 2 fail, then the consumer retries; on the 3rd an officer takes over', () => {
      expect([1, 2, 3, 4].map((d) => abisHandedToOfficer(d))).to.deep.equal([false, false, true, true]);
    });

    it('given 1 attempt, then the first failure goes to an officer', () => {
      expect(abisHandedToOfficer(1, 1)).to.equal(true);
    });

    it('when handed over, then the officer is told how many attempts failed', () => {
      expect(abisUnavailableReasons(3)).to.deep.equal(['ABIS unavailable after 3 attempts: check biometric duplicates manually']);
    });
  });

  describe('intake checks', () => {
    it('the checks recorded for an accepted packet are what openPacket ran, then the signer-centre rule', () => {
      expect([...PACKET_OPEN_CHECKS, OWN_CENTRE_CHECK]).to.deep.equal(['decryption', 'signature', 'trust-chain', 'signer-validity', 'schema', 'dates', 'admin-units', 'quality', 'signer-device', 'signer-centre']);
    });
  });
});
