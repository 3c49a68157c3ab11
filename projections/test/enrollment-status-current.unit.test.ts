import { expect } from 'chai';
import { PGliteDriver, type ReadStreamOptions } from '@registo/event-store';
import { type EventEnvelope, prepareEnvelope } from '@registo/schemas';
import { currentEnrollmentStatus, enrollmentStatusProjection } from '../src/index.js';

/*
 * GET /v1/packets/{regId} answers from the enrollment_status read model, brought up to date
 * with what the projection has not applied yet. Given how far the projection got, when the
 * enrollment is asked for, then the answer is the whole history's, and the store is read only
 * after the row's revision.
 */

const regId = '10031-00001-20261120100000';
const sealed = { subjectId: 's', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
const officer = { id: 'adjudicator-7', role: 'adjudicator' };
function ev(revision: number, type: string, data: Record<string, unknown>, actor?: { id: string; role: string }): EventEnvelope {
  const e = prepareEnvelope({ type, data, ...(actor && { metadata: { actor } }) }, { streamId: `enrollment-${regId}`, revision, recordedAt: `2026-11-21T10:00:0${revision}.000Z` });
  return { ...e, position: 100 + revision };
}
const history = [
  ev(0, 'EnrollmentSubmitted', { regId, packetType: 'NEW', residency: 'CITIZEN', centreId: '10031', operatorId: 'o', deviceId: 'd', capturedAt: '2026-11-21T09:00:00Z', packetHash: 'h1', sealed }),
  ev(1, 'PacketValidated', { regId, checks: [] }),
  ev(2, 'AdjudicationRequested', { regId, adjudicationId: `adj-${regId}`, reasons: ['possible duplicate'] }),
  ev(3, 'AdjudicationDecided', { regId, adjudicationId: `adj-${regId}`, decision: 'REJECT', reason: 'same person', adjudicatorId: 'adjudicator-7', targetUin: null }, officer),
  ev(4, 'EnrollmentRejected', { regId, code: 'DUPLICATE', reason: 'same person' }),
];

/** A store holding `history`, recording where each read started. */
function storeOf(events: EventEnvelope[], reads: number[]) {
  return {
    readStream: async (_stream: string, options: ReadStreamOptions = {}) => {
      reads.push(options.fromRevision ?? 0);
      return events.filter((e) => e.revision >= (options.fromRevision ?? 0));
    },
  };
}

describe('currentEnrollmentStatus', () => {
  let db: PGliteDriver;
  beforeEach(async () => {
    db = await PGliteDriver.open();
    await db.migrate(enrollmentStatusProjection.ddl);
  });
  afterEach(() => db.close());

  const project = (n: number) => db.transaction(async (tx) => {
    for (const e of history.slice(0, n)) await enrollmentStatusProjection.apply(tx, e);
  });

  it('given the projection has every event, then the row answers and the store is read only past it', async () => {
    await project(5);
    const reads: number[] = [];
    const row = await currentEnrollmentStatus(storeOf(history, reads), db, regId);
    expect(reads).to.deep.equal([5]);
    expect(row).to.include({ status: 'REJECTED', packetHash: 'h1', rejectionCode: 'DUPLICATE', rejectionReason: 'same person', openAdjudication: null });
    expect(row!.timeline[3]).to.deep.equal({ position: 103, type: 'AdjudicationDecided', at: '2026-11-21T10:00:03.000Z', actor: officer });
  });

  it('given the projection lags two events behind, then the answer is the same as when it has caught up', async () => {
    await project(5);
    const caughtUp = await currentEnrollmentStatus(storeOf(history, []), db, regId);
    await db.query('DELETE FROM enrollment_status');
    await project(3);
    const reads: number[] = [];
    expect(await currentEnrollmentStatus(storeOf(history, reads), db, regId)).to.deep.equal(caughtUp);
    expect(reads).to.deep.equal([3]);
  });

  it('given an adjudication is open and not yet projected, then the answer names it', async () => {
    await project(2);
    const row = await currentEnrollmentStatus(storeOf(history.slice(0, 3), []), db, regId);
    expect(row).to.include({ status: 'IN_ADJUDICATION', openAdjudication: `adj-${regId}` });
  });

  it('given no read model, then the whole stream is folded; given no stream, there is no enrollment', async () => {
    const reads: number[] = [];
    expect((await currentEnrollmentStatus(storeOf(history, reads), null, regId))!.status).to.equal('REJECTED');
    expect(reads).to.deep.equal([0]);
    expect(await currentEnrollmentStatus(storeOf([], []), db, regId)).to.equal(undefined);
  });
});
