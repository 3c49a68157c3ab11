import { expect } from 'chai';
import fc from 'fast-check';
import { validateEventData } from '@registo/schemas';
import {
  CommandRejected,
  type EnrollmentCommand,
  type EnrollmentState,
  type EnrollmentStatus,
  decideEnrollment,
  evolveEnrollment,
  initialEnrollmentState,
} from '../src/index.js';

const regId = '10031-00001-20261120100000';
const device = { deviceId: 'd-1', centreId: '10031' };
const sealed = { subjectId: 's-1', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
const submit: EnrollmentCommand = {
  type: 'SubmitEnrollment',
  regId,
  packetType: 'NEW',
  residency: 'CITIZEN',
  centreId: '10031',
  operatorId: 'op-1',
  deviceId: 'd-1',
  capturedAt: '2026-11-20T10:00:00Z',
  packetHash: 'aa',
  sealed,
};

/** One command of every kind, valid in shape. */
const accept: EnrollmentCommand = { ...submit, type: 'AcceptPacket', checks: ['signature', 'schema'], device } as EnrollmentCommand;
const refuseAtDoor: EnrollmentCommand = { type: 'RejectPacket', regId, code: 'PACKET_QUALITY_TOO_LOW', reason: 'biometric quality below 40: FACE/FACE', packetHash: 'bb', device, claimedCentreId: '10031' };
const commands: EnrollmentCommand[] = [
  submit,
  accept,
  refuseAtDoor,
  { type: 'ValidatePacket', regId, checks: ['signature'] },
  { type: 'RejectPacket', regId, code: 'BAD_SIGNATURE', reason: 'signature does not verify' },
  { type: 'RequestExternalCheck', regId, system: 'SIGA', checkId: 'k-new' },
  // A NEW packet names no identity: a claim check is refused in every status.
  { type: 'CheckIdentityClaim', regId, uin: '2345678901', biometric: 'MATCH', score: 0.99, packetAnchorIndex: 'ab', identityAnchorIndex: 'ab' },
  { type: 'CompleteExternalCheck', regId, checkId: 'k-1', outcome: 'MATCH', discrepancies: [] },
  { type: 'SuspectDuplicate', regId, candidateUin: '2345678901', method: 'BIOMETRIC', score: 0.97 },
  { type: 'RequestAdjudication', regId, adjudicationId: 'a-new', reasons: ['duplicate'] },
  { type: 'DecideAdjudication', regId, adjudicationId: 'a-1', decision: 'APPROVE', reason: 'different person', adjudicatorId: 'adj-1', targetUin: null },
  { type: 'ApproveEnrollment', regId, uin: '2345678901' },
  { type: 'RejectEnrollment', regId, code: 'SIGA_MISMATCH', reason: 'civil registry disagrees' },
];

/** A state in each status, reached through real events. */
function stateIn(status: EnrollmentStatus): EnrollmentState {
  let s = initialEnrollmentState();
  const apply = (c: EnrollmentCommand): void => {
    for (const e of decideEnrollment(c, s)) s = evolveEnrollment(s, e);
  };
  if (status === 'NONE') return s;
  apply(submit);
  if (status === 'SUBMITTED') return s;
  if (status === 'REJECTED') {
    apply({ type: 'RejectPacket', regId, code: 'X', reason: 'y' });
    return s;
  }
  apply({ type: 'ValidatePacket', regId, checks: [] });
  apply({ type: 'RequestExternalCheck', regId, system: 'SIGA', checkId: 'k-1' });
  if (status === 'VALIDATED') return s;
  if (status === 'APPROVED') {
    apply({ type: 'CompleteExternalCheck', regId, checkId: 'k-1', outcome: 'MATCH', discrepancies: [] });
    apply({ type: 'ApproveEnrollment', regId, uin: '2345678901' });
    return s;
  }
  apply({ type: 'RequestAdjudication', regId, adjudicationId: 'a-1', reasons: ['x'] });
  return s;
}

/** Which commands each status accepts ('noop': accepted, decides nothing). */
type CommandKey = EnrollmentCommand['type'] | 'RejectPacketAtDoor';
const keyOf = (c: EnrollmentCommand): CommandKey => (c.type === 'RejectPacket' && 'packetHash' in c ? 'RejectPacketAtDoor' : c.type);
const allowed: Record<EnrollmentStatus, Partial<Record<CommandKey, 'events' | 'noop'>>> = {
  NONE: { SubmitEnrollment: 'events', AcceptPacket: 'events', RejectPacketAtDoor: 'events' },
  SUBMITTED: { SubmitEnrollment: 'noop', AcceptPacket: 'noop', ValidatePacket: 'events', RejectPacket: 'events', RejectEnrollment: 'events' },
  VALIDATED: {
    SubmitEnrollment: 'noop',
    AcceptPacket: 'noop',
    RequestExternalCheck: 'events',
    CompleteExternalCheck: 'events',
    SuspectDuplicate: 'events',
    RequestAdjudication: 'events',
    RejectEnrollment: 'events',
  },
  IN_ADJUDICATION: {
    SubmitEnrollment: 'noop',
    AcceptPacket: 'noop',
    CompleteExternalCheck: 'events',
    SuspectDuplicate: 'events',
    DecideAdjudication: 'events',
    RejectEnrollment: 'events',
  },
  // k-1 completed before approval: completing it again is a harmless repeat.
  APPROVED: { SubmitEnrollment: 'noop', AcceptPacket: 'noop', CompleteExternalCheck: 'noop' },
  REJECTED: { SubmitEnrollment: 'noop', AcceptPacket: 'noop' },
};

describe('enrollment decider', () => {
  for (const status of Object.keys(allowed) as EnrollmentStatus[]) {
    describe(`in ${status}`, () => {
      it('reaches that status', () => expect(stateIn(status).status).to.equal(status));
      for (const command of commands) {
        const expected = allowed[status][keyOf(command)];
        it(`${keyOf(command)} → ${expected ?? 'rejected'}`, () => {
          const state = stateIn(status);
          if (!expected) {
            expect(() => decideEnrollment(command, state)).to.throw(CommandRejected);
            return;
          }
          const events = decideEnrollment(command, state);
          if (expected === 'noop') expect(events).to.deep.equal([]);
          else expect(events).to.have.length.greaterThan(0);
          for (const e of events) expect(() => validateEventData(e.type, undefined, e.data)).not.to.throw();
        });
      }
    });
  }

  it('a packet refused at the door: the same packet again changes nothing, another under its id is refused', () => {
    let s = initialEnrollmentState();
    for (const e of decideEnrollment(refuseAtDoor, s)) s = evolveEnrollment(s, e);
    expect(s).to.include({ status: 'REJECTED', packetHash: 'bb' });
    expect(decideEnrollment(refuseAtDoor, s)).to.deep.equal([]);
    expect(() => decideEnrollment(accept, s)).to.throw(CommandRejected, /already used/);
  });

  describe('a device speaks only for its own centre', () => {
    const otherCentre = { deviceId: 'd-9', centreId: '20077' };
    const reasonOf = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        if (e instanceof CommandRejected) return e.reason;
        throw e;
      }
      throw new Error('expected a refusal');
    };

    for (const status of ['NONE', 'SUBMITTED', 'REJECTED'] as const) {
      it(`in ${status}: a packet of another centre's device is refused, whatever the stream holds`, () => {
        const s = stateIn(status);
        expect(reasonOf(() => decideEnrollment({ ...accept, device: otherCentre } as EnrollmentCommand, s))).to.equal('PACKET_CENTRE_MISMATCH');
        expect(reasonOf(() => decideEnrollment({ ...refuseAtDoor, device: otherCentre } as EnrollmentCommand, s))).to.equal('PACKET_CENTRE_MISMATCH');
      });
    }

    it("refuses a packet whose centreId is not the signer's, though the regId's centre is", () => {
      const named = { ...accept, centreId: 'STP-PAGUE-07' } as EnrollmentCommand;
      expect(reasonOf(() => decideEnrollment(named, initialEnrollmentState()))).to.equal('PACKET_CENTRE_MISMATCH');
      const refusal = { ...refuseAtDoor, claimedCentreId: '20077' } as EnrollmentCommand;
      expect(reasonOf(() => decideEnrollment(refusal, initialEnrollmentState()))).to.equal('PACKET_CENTRE_MISMATCH');
    });

    it("refuses a regId under another centre, though the packet's centreId is the signer's", () => {
      const foreignId = { ...accept, regId: '99999-00001-20261120100000' } as EnrollmentCommand;
      expect(reasonOf(() => decideEnrollment(foreignId, initialEnrollmentState()))).to.equal('PACKET_CENTRE_MISMATCH');
    });

    it('a refusal whose content names no centre is judged by the regId alone', () => {
      const unnamed = { ...refuseAtDoor, claimedCentreId: null } as EnrollmentCommand;
      expect(decideEnrollment(unnamed, initialEnrollmentState()).map((e) => e.type)).to.deep.equal(['PacketRejected']);
    });

    it("a device of another centre cannot learn that an id is taken: the centre is refused before the reuse", () => {
      const s = stateIn('SUBMITTED');
      expect(reasonOf(() => decideEnrollment({ ...accept, packetHash: 'other', device: otherCentre } as EnrollmentCommand, s))).to.equal('PACKET_CENTRE_MISMATCH');
    });
  });

  it('accepting a packet submits and validates it in one decision', () => {
    expect(decideEnrollment(accept, initialEnrollmentState()).map((e) => e.type)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated']);
  });

  it('refuses a different packet under a used registration id', () => {
    expect(() => decideEnrollment({ ...submit, packetHash: 'bb' }, stateIn('SUBMITTED'))).to.throw(CommandRejected, /already used/);
  });

  it('cannot approve while an external check is pending, and can after it completes', () => {
    const s = stateIn('VALIDATED');
    expect(() => decideEnrollment({ type: 'ApproveEnrollment', regId, uin: '2' }, s)).to.throw(/external checks/);
    let t = s;
    for (const e of decideEnrollment({ type: 'CompleteExternalCheck', regId, checkId: 'k-1', outcome: 'MATCH', discrepancies: [] }, t)) t = evolveEnrollment(t, e);
    expect(decideEnrollment({ type: 'ApproveEnrollment', regId, uin: '2' }, t)[0]!.type).to.equal('EnrollmentApproved');
  });

  it('refuses to reopen an adjudication that was already decided (a redelivered request)', () => {
    let s = stateIn('IN_ADJUDICATION');
    for (const e of decideEnrollment({ type: 'DecideAdjudication', regId, adjudicationId: 'a-1', decision: 'APPROVE', reason: 'ok', adjudicatorId: 'adj-1', targetUin: null }, s)) s = evolveEnrollment(s, e);
    expect(() => decideEnrollment({ type: 'RequestAdjudication', regId, adjudicationId: 'a-1', reasons: ['again'] }, s)).to.throw(CommandRejected, /already decided/);
    expect(decideEnrollment({ type: 'RequestAdjudication', regId, adjudicationId: 'a-2', reasons: ['new reason'] }, s)).to.have.length(1);
  });

  it('counts attempts per external system', () => {
    let s = stateIn('VALIDATED');
    const [e] = decideEnrollment({ type: 'RequestExternalCheck', regId, system: 'SIGA', checkId: 'k-2' }, s);
    expect(e!.data).to.include({ attempt: 2 });
    s = evolveEnrollment(s, e!);
    expect(() => decideEnrollment({ type: 'RequestExternalCheck', regId, system: 'SIGA', checkId: 'k-2' }, s)).to.throw(/already requested/);
  });

  it('an adjudicator rejection closes the enrollment; treat-as-update needs a target', () => {
    const s = stateIn('IN_ADJUDICATION');
    const decide = (decision: 'REJECT' | 'TREAT_AS_UPDATE', targetUin: string | null) =>
      decideEnrollment({ type: 'DecideAdjudication', regId, adjudicationId: 'a-1', decision, reason: 'r', adjudicatorId: 'adj-9', targetUin }, s);
    expect(decide('REJECT', null).map((e) => e.type)).to.deep.equal(['AdjudicationDecided', 'EnrollmentRejected']);
    expect(() => decide('TREAT_AS_UPDATE', null)).to.throw(/needs the UIN/);
    expect(decide('TREAT_AS_UPDATE', '2345678901')[0]!.data).to.include({ adjudicatorId: 'adj-9', targetUin: '2345678901' });
  });

  it('any sequence of commands yields only schema-valid events and a status the events explain', () => {
    const arbCommand = fc.constantFrom(...commands, { type: 'RequestExternalCheck', regId, system: 'IMMIGRATION', checkId: 'k-1' } as EnrollmentCommand);
    fc.assert(
      fc.property(fc.array(arbCommand, { maxLength: 30 }), (cmds) => {
        let s = initialEnrollmentState();
        const log: string[] = [];
        for (const c of cmds) {
          try {
            for (const e of decideEnrollment(c, s)) {
              validateEventData(e.type, undefined, e.data);
              s = evolveEnrollment(s, e);
              log.push(e.type);
            }
          } catch (err) {
            if (!(err instanceof CommandRejected)) throw err;
          }
        }
        if (log.length === 0) return s.status === 'NONE';
        expect(log[0]).to.be.oneOf(['EnrollmentSubmitted', 'PacketRejected']);
        expect(log.filter((t) => t === 'EnrollmentSubmitted')).to.have.length.at.most(1);
        const closing = log.findIndex((t) => t === 'EnrollmentApproved' || t === 'EnrollmentRejected' || t === 'PacketRejected');
        if (closing >= 0) expect(closing).to.equal(log.length - 1);
        return true;
      }),
      { numRuns: 500 },
    );
  });
});
