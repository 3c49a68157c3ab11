import { expect } from 'chai';
import { type EventEnvelope, prepareEnvelope } from '@registo/schemas';
import { type IdentityRow, reduceIdentity } from '../src/index.js';

const sealed = { subjectId: 's', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
let position = 100;
const ev = (revision: number, type: string, data: Record<string, unknown>): EventEnvelope => ({
  ...prepareEnvelope({ type, data }, { streamId: 'identity-2345678901', revision, recordedAt: `2026-11-21T11:00:0${revision}.000Z` }),
  position: ++position,
});

const history = [
  ev(0, 'IdentityCreated', { uin: '2345678901', regId: 'R-1', residency: 'CITIZEN', sealed, civilRegistryIndex: 'ab' }),
  ev(1, 'IdentityStatusChanged', { uin: '2345678901', from: 'ACTIVE', to: 'BLOCKED', reason: 'fraud', source: 'OPERATOR' }),
  ev(2, 'SubjectKeyDestroyed', { uin: '2345678901', subjectId: 's', legalBasis: 'court order', orderRef: null }),
];

function fold(events: EventEnvelope[]): IdentityRow | undefined {
  let row: IdentityRow | undefined;
  for (const e of events) {
    const o = reduceIdentity(row, e);
    if (o.kind === 'apply') row = o.row;
  }
  return row;
}

describe('identity_registry reducer', () => {
  it('creates, changes status, records erasure; keeps the blind index', () => {
    expect(fold(history)).to.deep.include({ uin: '2345678901', status: 'BLOCKED', erased: true, civilRegistryIndex: 'ab', revision: 2, createdAt: '2026-11-21T11:00:00.000Z' });
  });
  it('follows the civil-registry index an update carries; an update without one keeps it', () => {
    const created = history[0]!;
    const corrected = ev(1, 'IdentityUpdated', { uin: '2345678901', regId: 'R-2', changedFields: ['civilRegistryNumber'], sealed, civilRegistryIndex: 'cd' });
    expect(fold([created, corrected])).to.deep.include({ civilRegistryIndex: 'cd', regIds: ['R-1', 'R-2'] });
    const older = ev(2, 'IdentityUpdated', { uin: '2345678901', regId: 'R-3', changedFields: ['address'], sealed });
    expect(fold([created, corrected, older])).to.deep.include({ civilRegistryIndex: 'cd', regIds: ['R-1', 'R-2', 'R-3'] });
  });
  it('skips redeliveries and refuses gaps', () => {
    expect(fold([...history, ...history])).to.deep.equal(fold(history));
    expect(reduceIdentity(fold(history.slice(0, 1)), history[2]!)).to.deep.equal({ kind: 'gap', expectedRevision: 1 });
  });
});
