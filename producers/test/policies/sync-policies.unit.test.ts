import { expect } from 'chai';
import { identityStatusAfterPermit, mayAnnounce } from '../../src/index.js';

/* What the outside systems' word does to an identity, given/when/then. */

describe('sync policies', () => {
  it('given SIGA, then it may announce deaths and name corrections but no permit change', () => {
    expect(mayAnnounce('SIGA', 'DECEASED')).to.equal(true);
    expect(mayAnnounce('SIGA', 'NAME_CORRECTED')).to.equal(true);
    expect(mayAnnounce('SIGA', 'PERMIT_REVOKED')).to.equal(false);
  });

  it('given Immigration, then it may announce permit changes but no death', () => {
    expect(mayAnnounce('IMMIGRATION', 'PERMIT_EXPIRED')).to.equal(true);
    expect(mayAnnounce('IMMIGRATION', 'PERMIT_REVOKED')).to.equal(true);
    expect(mayAnnounce('IMMIGRATION', 'DECEASED')).to.equal(false);
  });

  it('given the ABIS, then it announces nothing', () => {
    expect(mayAnnounce('ABIS', 'DECEASED')).to.equal(false);
  });

  it('given a permit expired, then the identity is deactivated; given it revoked, then blocked', () => {
    expect(identityStatusAfterPermit('EXPIRED')).to.equal('DEACTIVATED');
    expect(identityStatusAfterPermit('REVOKED')).to.equal('BLOCKED');
  });
});
