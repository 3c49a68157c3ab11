import { expect } from 'chai';
import { type EventEnvelope, prepareEnvelope } from '@registo/schemas';
import { reduceEnrollmentStatus, type EnrollmentStatusRow } from '../src/index.js';

const sealed = { subjectId: 's', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
let position = 0;
function ev(revision: number, type: string, data: Record<string, unknown>): EventEnvelope {
  const e = prepareEnvelope({ type, data }, { streamId: 'enrollment-R-1', revision, recordedAt: `2026-11-21T10:00:0${revision}.000Z` });
  return { ...e, position: ++position };
}

const history = [
  ev(0, 'EnrollmentSubmitted', { regId: 'R-1', packetType: 'NEW', residency: 'FOREIGNER', centreId: 'C-9', operatorId: 'o', deviceId: 'd', capturedAt: '2026-11-21T09:00:00Z', packetHash: 'h', sealed }),
  ev(1, 'PacketValidated', { regId: 'R-1', checks: [] }),
  ev(2, 'ExternalCheckRequested', { regId: 'R-1', system: 'IMMIGRATION', checkId: 'k', attempt: 1 }),
  ev(3, 'ExternalCheckCompleted', { regId: 'R-1', system: 'IMMIGRATION', checkId: 'k', outcome: 'MATCH', discrepancies: [] }),
  ev(4, 'EnrollmentApproved', { regId: 'R-1', uin: '2345678901' }),
];

function fold(events: EventEnvelope[]): EnrollmentStatusRow | undefined {
  let row: EnrollmentStatusRow | undefined;
  for (const e of events) {
    const o = reduceEnrollmentStatus(row, e);
    if (o.kind === 'apply') row = o.row;
  }
  return row;
}

describe('enrollment_status reducer', () => {
  it('follows an enrollment to approval with a timeline of every event', () => {
    const row = fold(history)!;
    expect(row).to.include({ regId: 'R-1', status: 'APPROVED', residency: 'FOREIGNER', centreId: 'C-9', uin: '2345678901', revision: 4 });
    expect(row.timeline.map((t) => t.type)).to.deep.equal(history.map((e) => e.type));
    expect(row.submittedAt).to.equal('2026-11-21T10:00:00.000Z');
  });

  it('shows the status at every step', () => {
    const statuses = history.map((_, i) => fold(history.slice(0, i + 1))!.status);
    expect(statuses).to.deep.equal(['SUBMITTED', 'VALIDATED', 'CHECKING', 'CHECKING', 'APPROVED']);
  });

  it('skips a redelivered event: applying the log twice gives the same row', () => {
    expect(fold([...history, ...history])).to.deep.equal(fold(history));
    const row = fold(history.slice(0, 3));
    expect(reduceEnrollmentStatus(row, history[1]!).kind).to.equal('skip');
  });

  it('refuses to guess across a missing event', () => {
    const row = fold(history.slice(0, 2));
    expect(reduceEnrollmentStatus(row, history[3]!)).to.deep.equal({ kind: 'gap', expectedRevision: 2 });
  });

  it('an UPDATE whose identity claim does not hold: validated, then in adjudication', () => {
    const update = [
      ev(0, 'EnrollmentSubmitted', { regId: 'R-1', packetType: 'UPDATE', residency: 'CITIZEN', centreId: 'C-9', operatorId: 'o', deviceId: 'd', capturedAt: '2026-11-21T09:00:00Z', packetHash: 'h', sealed }),
      ev(1, 'PacketValidated', { regId: 'R-1', checks: [] }),
      ev(2, 'IdentityClaimChecked', { regId: 'R-1', uin: '2345678901', biometric: 'NO_MATCH', score: 0.02, anchorKept: true, problems: ['BIOMETRIC_MISMATCH'] }),
      ev(3, 'AdjudicationRequested', { regId: 'R-1', adjudicationId: 'adj-R-1:claim', reasons: ['BIOMETRIC_MISMATCH'] }),
    ];
    expect(update.map((_, i) => fold(update.slice(0, i + 1))!.status)).to.deep.equal(['SUBMITTED', 'VALIDATED', 'VALIDATED', 'IN_ADJUDICATION']);
  });

  it('records the rejection code', () => {
    const rejected = fold([history[0]!, ev(1, 'PacketRejected', { regId: 'R-1', code: 'BAD_SIGNATURE', reason: 'x' })])!;
    expect(rejected).to.include({ status: 'REJECTED', rejectionCode: 'BAD_SIGNATURE' });
  });
});
