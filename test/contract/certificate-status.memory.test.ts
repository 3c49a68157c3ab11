import { InMemoryCertificateStatusSource } from '@registo/trust';
import { certificateStatusContract } from './certificate-status.contract.js';

certificateStatusContract('InMemoryCertificateStatusSource', async () => {
  const source = new InMemoryCertificateStatusSource();
  return {
    source,
    issue: async (s) => source.issue(s),
    revoke: async (s, reason, at) => source.revoke(s, reason, at),
    hold: async (s, at) => source.hold(s, at),
    reinstate: async (s) => source.reinstate(s),
  };
});
