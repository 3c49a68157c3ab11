import { expect } from 'chai';
import { type PacketType, validateEventData } from '@registo/schemas';
import {
  CommandRejected,
  type EnrollmentCommand,
  type EnrollmentEvent,
  type EnrollmentState,
  anchorChangeApproved,
  decideEnrollment,
  evolveEnrollment,
  identityClaimAdjudicationId,
  identityClaimStanding,
  initialEnrollmentState,
} from '../src/index.js';

/**
 * An UPDATE, LOST or CORRECTION packet must show it is about the identity it names before
 * anything else happens: given the enrollment's events, when a command arrives, then these
 * events (or this refusal).
 */

const regId = 'R-7';
const uin = '2345678901';
const sealed = { subjectId: 's-7', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
const claimAdjudication = identityClaimAdjudicationId(regId);

function accepted(packetType: PacketType): EnrollmentEvent[] {
  const submitted = {
    regId,
    packetType,
    residency: 'CITIZEN' as const,
    centreId: 'C-1',
    operatorId: 'op-1',
    deviceId: 'd-1',
    capturedAt: '2026-11-20T10:00:00Z',
    packetHash: 'aa',
    sealed,
  };
  return [
    { type: 'EnrollmentSubmitted', data: submitted },
    { type: 'PacketValidated', data: { regId, checks: ['signature'] } },
  ];
}

const stateOf = (events: EnrollmentEvent[]): EnrollmentState => events.reduce(evolveEnrollment, initialEnrollmentState());

function given(events: EnrollmentEvent[]) {
  const state = stateOf(events);
  return {
    state,
    when(command: EnrollmentCommand) {
      const run = () => decideEnrollment(command, state);
      return {
        then(expected: EnrollmentEvent[]) {
          const decided = run();
          expect(decided).to.deep.equal(expected);
          for (const e of decided) validateEventData(e.type, undefined, e.data);
        },
        thenRefused(reason: string) {
          expect(run).to.throw(CommandRejected).with.property('reason', reason);
        },
      };
    },
  };
}

type Check = Extract<EnrollmentCommand, { type: 'CheckIdentityClaim' }>;
const check = (over: Partial<Check> = {}): Check => ({
  type: 'CheckIdentityClaim',
  regId,
  uin,
  biometric: 'MATCH',
  score: 0.99,
  packetAnchorIndex: 'crn-a',
  identityAnchorIndex: 'crn-a',
  ...over,
});
const checked = (c: Check, problems: string[]): EnrollmentEvent => ({
  type: 'IdentityClaimChecked',
  data: { regId, uin: c.uin, biometric: c.biometric, score: c.score, anchorKept: c.packetAnchorIndex !== null && c.packetAnchorIndex === c.identityAnchorIndex, problems },
});
const toOfficer = (reasons: string[]): EnrollmentEvent => ({ type: 'AdjudicationRequested', data: { regId, adjudicationId: claimAdjudication, reasons } });
const decided = (decision: 'APPROVE' | 'REJECT'): EnrollmentEvent => ({
  type: 'AdjudicationDecided',
  data: { regId, adjudicationId: claimAdjudication, decision, reason: 'compared both versions', adjudicatorId: 'adj-3', targetUin: null },
});
const firstCheck: EnrollmentCommand = { type: 'RequestExternalCheck', regId, system: 'SIGA', checkId: `${regId}:SIGA:1` };

describe('enrollment decider: a packet that names an identity must be that person', () => {
  for (const packetType of ['UPDATE', 'LOST', 'CORRECTION'] as const) {
    it(`${packetType}: biometrics that match and the identity's own number: the claim holds, nothing for an officer`, () => {
      given(accepted(packetType)).when(check()).then([checked(check(), [])]);
    });

    it(`${packetType}: biometrics of someone else: BIOMETRIC_MISMATCH, to an officer`, () => {
      const c = check({ biometric: 'NO_MATCH', score: 0.03 });
      given(accepted(packetType)).when(c).then([checked(c, ['BIOMETRIC_MISMATCH']), toOfficer(['BIOMETRIC_MISMATCH'])]);
    });

    it(`${packetType}: an ABIS that holds none of the identity's references, or cannot be asked: an officer compares by hand`, () => {
      const missing = check({ biometric: 'NO_REFERENCE', score: null });
      given(accepted(packetType)).when(missing).then([checked(missing, ['BIOMETRIC_REFERENCE_MISSING']), toOfficer(['BIOMETRIC_REFERENCE_MISSING'])]);
      const down = check({ biometric: 'UNAVAILABLE', score: null });
      given(accepted(packetType)).when(down).then([checked(down, ['BIOMETRIC_UNAVAILABLE']), toOfficer(['BIOMETRIC_UNAVAILABLE'])]);
    });
  }

  for (const packetType of ['UPDATE', 'LOST'] as const) {
    it(`${packetType}: another civil-registry number (or none): ANCHOR_MISMATCH, even when the biometrics match`, () => {
      const other = check({ packetAnchorIndex: 'crn-b' });
      given(accepted(packetType)).when(other).then([checked(other, ['ANCHOR_MISMATCH']), toOfficer(['ANCHOR_MISMATCH'])]);
      const none = check({ packetAnchorIndex: null, identityAnchorIndex: null });
      given(accepted(packetType)).when(none).then([checked(none, ['ANCHOR_MISMATCH']), toOfficer(['ANCHOR_MISMATCH'])]);
    });
  }

  it('UPDATE: both wrong: both codes, one adjudication', () => {
    const c = check({ biometric: 'NO_MATCH', score: 0.01, packetAnchorIndex: 'crn-b' });
    given(accepted('UPDATE')).when(c).then([checked(c, ['BIOMETRIC_MISMATCH', 'ANCHOR_MISMATCH']), toOfficer(['BIOMETRIC_MISMATCH', 'ANCHOR_MISMATCH'])]);
  });

  it('CORRECTION of the number always goes to an officer (ANCHOR_CORRECTION), even from the person themself', () => {
    const c = check({ packetAnchorIndex: 'crn-corrected' });
    given(accepted('CORRECTION')).when(c).then([checked(c, ['ANCHOR_CORRECTION']), toOfficer(['ANCHOR_CORRECTION'])]);
  });

  it('a NEW packet names no identity: refused', () => {
    given(accepted('NEW')).when(check()).thenRefused('IDENTITY_CLAIM_NOT_EXPECTED');
  });

  it('checked once: a redelivered check decides nothing, whatever it says now', () => {
    const c = check({ biometric: 'NO_MATCH', score: 0.02 });
    const history = [...accepted('UPDATE'), checked(c, ['BIOMETRIC_MISMATCH']), toOfficer(['BIOMETRIC_MISMATCH'])];
    given(history).when(check()).then([]);
  });

  it('no registry check and no approval before the claim is checked, nor while it does not hold', () => {
    given(accepted('UPDATE')).when(firstCheck).thenRefused('IDENTITY_CLAIM_UNPROVEN');
    const c = check({ biometric: 'NO_MATCH', score: 0.02 });
    const refusedClaim = [...accepted('UPDATE'), checked(c, ['BIOMETRIC_MISMATCH']), toOfficer(['BIOMETRIC_MISMATCH'])];
    // Even with the adjudication out of the way by another path, an unproven claim cannot be approved.
    given(refusedClaim).when({ type: 'ApproveEnrollment', regId, uin }).thenRefused('ENROLLMENT_WRONG_STATE');
    const claimRejectedElsewhere = stateOf([...accepted('UPDATE'), checked(c, ['BIOMETRIC_MISMATCH'])]);
    expect(identityClaimStanding(claimRejectedElsewhere)).to.equal('UNPROVEN');
    expect(() => decideEnrollment(firstCheck, claimRejectedElsewhere)).to.throw(CommandRejected).with.property('reason', 'IDENTITY_CLAIM_UNPROVEN');
    expect(() => decideEnrollment({ type: 'ApproveEnrollment', regId, uin }, claimRejectedElsewhere)).to.throw(CommandRejected).with.property('reason', 'IDENTITY_CLAIM_UNPROVEN');
  });

  it('a claim that holds opens the registry check; NEW packets need no claim', () => {
    given([...accepted('UPDATE'), checked(check(), [])]).when(firstCheck).then([
      { type: 'ExternalCheckRequested', data: { regId, system: 'SIGA', checkId: `${regId}:SIGA:1`, attempt: 1 } },
    ]);
    expect(identityClaimStanding(stateOf(accepted('NEW')))).to.equal('NOT_REQUIRED');
    expect(identityClaimStanding(stateOf(accepted('UPDATE')))).to.equal('UNCHECKED');
    expect(identityClaimStanding(stateOf([...accepted('UPDATE'), checked(check(), [])]))).to.equal('HOLDS');
  });

  it("an officer's approval of the claim opens the registry check and allows the number to change; a rejection closes the enrollment", () => {
    const c = check({ packetAnchorIndex: 'crn-corrected' });
    const queued = [...accepted('CORRECTION'), checked(c, ['ANCHOR_CORRECTION']), toOfficer(['ANCHOR_CORRECTION'])];
    const approve: EnrollmentCommand = { type: 'DecideAdjudication', ...decided('APPROVE').data } as EnrollmentCommand;
    given(queued).when(approve).then([decided('APPROVE')]);
    const approved = stateOf([...queued, decided('APPROVE')]);
    expect(identityClaimStanding(approved)).to.equal('APPROVED');
    expect(anchorChangeApproved(approved)).to.equal(true);
    expect(anchorChangeApproved(stateOf([...accepted('UPDATE'), checked(check(), [])]))).to.equal(false);
    expect(decideEnrollment(firstCheck, approved).map((e) => e.type)).to.deep.equal(['ExternalCheckRequested']);
    const reject: EnrollmentCommand = { type: 'DecideAdjudication', ...decided('REJECT').data } as EnrollmentCommand;
    given(queued).when(reject).then([decided('REJECT'), { type: 'EnrollmentRejected', data: { regId, code: 'ADJUDICATION_REJECTED', reason: 'compared both versions' } }]);
  });

  it('the claim adjudication cannot be treated as an update of some identity: the packet already names one', () => {
    const c = check({ biometric: 'NO_MATCH', score: 0.02 });
    const queued = [...accepted('UPDATE'), checked(c, ['BIOMETRIC_MISMATCH']), toOfficer(['BIOMETRIC_MISMATCH'])];
    given(queued)
      .when({ type: 'DecideAdjudication', regId, adjudicationId: claimAdjudication, decision: 'TREAT_AS_UPDATE', reason: 'r', adjudicatorId: 'adj-3', targetUin: uin })
      .thenRefused('DECISION_NOT_APPLICABLE');
  });
});
