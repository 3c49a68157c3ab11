import { expect } from 'chai';
import { isRegistoError } from '@registo/schemas';
import { loadStatusServicesConfig } from '../src/index.js';

describe('status services configuration', () => {
  it('has defaults, and reads the environment', () => {
    expect(loadStatusServicesConfig({})).to.deep.equal({ crlIntervalSeconds: 3600, ocspValiditySeconds: 600, ocspMaxAgeSeconds: 60 });
    expect(loadStatusServicesConfig({ REGISTO_CRL_INTERVAL_S: '60', REGISTO_OCSP_VALIDITY_S: '120', REGISTO_OCSP_MAX_AGE_S: '10' })).to.deep.equal({
      crlIntervalSeconds: 60,
      ocspValiditySeconds: 120,
      ocspMaxAgeSeconds: 10,
    });
  });

  for (const [what, env] of [
    ['a CRL interval that is not a number', { REGISTO_CRL_INTERVAL_S: 'hourly' }],
    ['a CRL interval over a week', { REGISTO_CRL_INTERVAL_S: String(8 * 24 * 3600) }],
    ['a zero OCSP validity', { REGISTO_OCSP_VALIDITY_S: '0' }],
    ['an OCSP max-age beyond the validity', { REGISTO_OCSP_VALIDITY_S: '30', REGISTO_OCSP_MAX_AGE_S: '60' }],
  ] as const) {
    it(`refuses ${what} with CONFIG_INVALID`, () => {
      try {
        loadStatusServicesConfig(env);
        expect.fail('accepted');
      } catch (error) {
        expect(isRegistoError(error, 'CONFIG_INVALID'), String(error)).to.equal(true);
      }
    });
  }
});
