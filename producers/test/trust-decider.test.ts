import { expect } from 'chai';
import { type CeremonyKeyData, validateEventData } from '@registo/schemas';
import { type TrustCommand, type TrustState, decideTrust, evolveTrust, initialTrustState } from '../src/index.js';

const key = (label: string, role: string, pub: string, cert: string | null, flags = { created: false, issued: false }): CeremonyKeyData => ({
  label,
  role,
  created: flags.created,
  publicKeySha256: pub,
  certificate: cert
    ? { serialNumber: '01', sha256: cert, notAfter: '2046-01-01T00:00:00.000Z', subject: `CN=${label}`, issuer: 'CN=root', issued: flags.issued }
    : null,
});

const ceremony = (keys: CeremonyKeyData[], performedBy = 'custodian-1'): TrustCommand => ({
  type: 'RecordKeyCeremony',
  mode: 'non_qualified',
  policyOid: '1.3.6.1.4.1.99999.1.2',
  tokenLabel: null,
  performedBy,
  keys,
});

function apply(state: TrustState, command: TrustCommand): { state: TrustState; appended: number } {
  const events = decideTrust(command, state);
  for (const e of events) {
    expect(() => validateEventData(e.type, undefined, e.data)).not.to.throw();
    state = evolveTrust(state, e);
  }
  return { state, appended: events.length };
}

describe('trust decider (key ceremonies)', () => {
  const first = [key('registo-root-ca', 'root_ca', 'aa', 'c1', { created: true, issued: true }), key('registo-ocsp', 'ocsp_signer', 'bb', 'c2', { created: true, issued: true })];

  it('records the first ceremony', () => {
    const { state, appended } = apply(initialTrustState(), ceremony(first));
    expect(appended).to.equal(1);
    expect(state.ceremonies).to.equal(1);
  });

  it('records nothing when the keys and certificates are the ones recorded, whoever runs it', () => {
    let { state } = apply(initialTrustState(), ceremony(first));
    const same = first.map((k) => ({ ...k, created: false, certificate: k.certificate && { ...k.certificate, issued: false } }));
    const again = apply(state, ceremony([...same].reverse(), 'custodian-2'));
    expect(again.appended).to.equal(0);
    state = again.state;
    expect(state.ceremonies).to.equal(1);
  });

  it('records a new certificate, a new key, or a change of mode', () => {
    const { state } = apply(initialTrustState(), ceremony(first));
    expect(apply(state, ceremony([first[0]!, key('registo-ocsp', 'ocsp_signer', 'bb', 'c3', { created: false, issued: true })])).appended).to.equal(1);
    expect(apply(state, ceremony([...first, key('registo-tsa', 'tsa_signer', 'dd', 'c4')])).appended).to.equal(1);
    expect(apply(state, { ...ceremony(first), mode: 'qualified', policyOid: '1.3.6.1.4.1.99999.1.1', tokenLabel: 't' }).appended).to.equal(1);
  });
});
