import { expect } from 'chai';
import { anchorNumberOf, namesIdentity, packetContentIssues, residencyOfNationality, updateTargetRefusal, type PacketFacts } from '../../src/index.js';

/* What a packet's content means for the register, given/when/then. */

const citizen: PacketFacts = { packetType: 'NEW', demographics: { nationality: 'STP', civilRegistryNumber: 'CR-1' } };
const foreigner: PacketFacts = { packetType: 'NEW', demographics: { nationality: 'PRT', residencePermitNumber: 'RP-1' } };

describe('packet rules', () => {
  it('given STP nationality, then the person is a citizen; any other nationality, a foreigner', () => {
    expect(['STP', 'PRT', 'AGO', 'stp'].map(residencyOfNationality)).to.deep.equal(['CITIZEN', 'FOREIGNER', 'FOREIGNER', 'FOREIGNER']);
  });

  it('given a packet type, then every type but NEW names the identity it is about', () => {
    expect((['NEW', 'UPDATE', 'LOST', 'CORRECTION'] as const).map(namesIdentity)).to.deep.equal([false, true, true, true]);
  });

  it('given a well-formed citizen or foreigner NEW packet, then no rule is broken', () => {
    expect(packetContentIssues(citizen)).to.deep.equal([]);
    expect(packetContentIssues(foreigner)).to.deep.equal([]);
  });

  it('given a NEW packet with a UIN, then it is told that a NEW packet has none yet', () => {
    expect(packetContentIssues({ ...citizen, uin: '2345678901' })).to.deep.equal([{ path: ['uin'], message: 'a NEW packet has no UIN yet' }]);
  });

  it('given an UPDATE packet without a UIN, then it must name one; with one, it passes', () => {
    expect(packetContentIssues({ ...citizen, packetType: 'UPDATE' })).to.deep.equal([{ path: ['uin'], message: 'a UPDATE packet names the UIN it is about' }]);
    expect(packetContentIssues({ ...citizen, packetType: 'UPDATE', uin: '2345678901' })).to.deep.equal([]);
  });

  it('given a citizen without a civil-registry number or a foreigner without a permit, then the anchor number is required', () => {
    expect(packetContentIssues({ packetType: 'NEW', demographics: { nationality: 'STP', residencePermitNumber: 'RP-1' } })).to.deep.equal([
      { path: ['demographics', 'civilRegistryNumber'], message: 'required for a citizen' },
    ]);
    expect(packetContentIssues({ packetType: 'NEW', demographics: { nationality: 'PRT', civilRegistryNumber: 'CR-1' } })).to.deep.equal([
      { path: ['demographics', 'residencePermitNumber'], message: 'required for a foreigner' },
    ]);
  });

  it('given residency, then the anchor is the civil-registry number of a citizen and the prefixed permit number of a foreigner', () => {
    expect(anchorNumberOf('CITIZEN', { nationality: 'STP', civilRegistryNumber: 'CR-1', residencePermitNumber: 'RP-9' })).to.equal('CR-1');
    expect(anchorNumberOf('FOREIGNER', foreigner.demographics)).to.equal('permit:RP-1');
    expect(anchorNumberOf('FOREIGNER', { nationality: 'PRT' })).to.equal(null);
  });

  describe('updateTargetRefusal', () => {
    it('given an update packet with no UIN, then it is refused as UIN_REQUIRED, naming the packet type', () => {
      expect(updateTargetRefusal('CORRECTION', undefined)).to.deep.equal({ code: 'UIN_REQUIRED', reason: 'a CORRECTION packet must name the identity it updates' });
    });

    it('given a UIN not yet looked up, then nothing is refused yet', () => {
      expect(updateTargetRefusal('UPDATE', '1234567890')).to.equal(null);
    });

    it('given a UIN that names no identity, then it is refused as UIN_UNKNOWN', () => {
      expect(updateTargetRefusal('UPDATE', '1234567890', null)).to.deep.equal({ code: 'UIN_UNKNOWN', reason: 'there is no identity 1234567890 to update' });
    });

    it('given an erased identity, then it is refused as IDENTITY_ERASED; a live one may be updated', () => {
      expect(updateTargetRefusal('LOST', '1234567890', { erased: true })).to.deep.equal({ code: 'IDENTITY_ERASED', reason: 'identity 1234567890 has been erased' });
      expect(updateTargetRefusal('LOST', '1234567890', { erased: false })).to.equal(null);
    });
  });
});
