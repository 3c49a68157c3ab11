import { expect } from 'chai';
import type { BiometricVerdict, CheckOutcome, PacketType, Residency } from '@registo/schemas';
import {
  CommandRejected,
  type EnrollmentCommand,
  type EnrollmentEvent,
  type EnrollmentState,
  decideEnrollment,
  evolveEnrollment,
  initialEnrollmentState,
} from '@registo/producers';
import { type ProcessAction, nextActions } from '../src/index.js';

const REG_ID = '10031-00001-20261121090000';

const sealed = { subjectId: 's', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };

/** How the outside world answers in one scenario. */
interface World {
  validPacket: boolean;
  /** Outcome of each successive external check. */
  checks: CheckOutcome[];
  duplicateOf: string | null;
  adjudication: 'APPROVE' | 'REJECT' | 'TREAT_AS_UPDATE';
  packetType?: PacketType;
  /** For a packet that names an identity: the ABIS's 1:1 verdict, and whether the number is the identity's own. */
  claim?: { biometric: BiometricVerdict; anchorKept: boolean };
}

/**
 * Runs the process to rest: every event goes through nextActions, every action through the
 * decider (the outside world's answers come from `world`). With `redeliver`, every event is
 * processed twice, as after a consumer crash.
 */
function run(residency: Residency, world: World, redeliver = false): { log: EnrollmentEvent[]; state: EnrollmentState; calls: string[] } {
  let state = initialEnrollmentState();
  const log: EnrollmentEvent[] = [];
  const calls: string[] = [];
  let checksAsked = 0;
  const queue: EnrollmentEvent[] = [];
  const apply = (command: EnrollmentCommand): void => {
    let events: EnrollmentEvent[];
    try {
      events = decideEnrollment(command, state);
    } catch (e) {
      if (e instanceof CommandRejected) return; // already done (a repeat): nothing new
      throw e;
    }
    for (const e of events) {
      state = evolveEnrollment(state, e);
      log.push(e);
      queue.push(e);
      if (redeliver) queue.push(e);
    }
  };
  const perform = (a: ProcessAction): void => {
    calls.push(a.kind);
    switch (a.kind) {
      case 'command':
        return apply(a.command);
      case 'verifyExternally': {
        if (state.completedChecks.some((c) => c.checkId === a.checkId)) return; // answered before the crash
        const outcome = world.checks[Math.min(checksAsked++, world.checks.length - 1)]!;
        return apply({ type: 'CompleteExternalCheck', regId: a.regId, checkId: a.checkId, outcome, discrepancies: outcome === 'MISMATCH' ? ['dateOfBirth'] : [] });
      }
      case 'checkIdentityClaim': {
        const claim = world.claim ?? { biometric: 'MATCH', anchorKept: true };
        const packetAnchorIndex = 'crn-own';
        return apply({ type: 'CheckIdentityClaim', regId: a.regId, uin: '3456789012', biometric: claim.biometric, score: null, packetAnchorIndex, identityAnchorIndex: claim.anchorKept ? packetAnchorIndex : 'crn-other' });
      }
      case 'deduplicate':
        if (state.packetType !== 'NEW') return perform({ kind: 'updateIdentity', regId: a.regId, uin: '3456789012' });
        if (world.duplicateOf) return apply({ type: 'SuspectDuplicate', regId: a.regId, candidateUin: world.duplicateOf, method: 'BIOMETRIC', score: 0.98 });
        return perform({ kind: 'allocateIdentity', regId: a.regId });
      case 'allocateIdentity':
        return apply({ type: 'ApproveEnrollment', regId: a.regId, uin: '2345678901' });
      case 'updateIdentity':
        return apply({ type: 'ApproveEnrollment', regId: a.regId, uin: a.uin });
    }
  };
  // Intake checks the packet at the door: accepted (submitted + validated) or refused.
  if (world.validPacket) {
    apply({ type: 'AcceptPacket', checks: ['signature', 'schema', 'quality'], regId: REG_ID, packetType: world.packetType ?? 'NEW', residency, centreId: '10031', operatorId: 'o', deviceId: 'd', device: { deviceId: 'd', centreId: '10031' }, capturedAt: '2026-11-21T09:00:00Z', packetHash: 'h', sealed });
  } else {
    apply({ type: 'RejectPacket', regId: REG_ID, code: 'PACKET_QUALITY_TOO_LOW', reason: 'biometric quality below 40: FINGER/RIGHT_THUMB', packetHash: 'h', device: { deviceId: 'd', centreId: '10031' }, claimedCentreId: '10031' });
  }
  for (let guard = 0; queue.length > 0 && guard < 200; guard++) {
    const event = queue.shift()!;
    for (const action of nextActions(state, event)) perform(action);
    // An officer decides whatever reaches adjudication.
    if (event.type === 'AdjudicationRequested' && state.openAdjudication === event.data.adjudicationId) {
      apply({ type: 'DecideAdjudication', regId: REG_ID, adjudicationId: event.data.adjudicationId, decision: world.adjudication, reason: 'checked the documents', adjudicatorId: 'adj-1', targetUin: world.adjudication === 'TREAT_AS_UPDATE' ? '3456789012' : null });
    }
  }
  return { log, state, calls };
}

const types = (log: EnrollmentEvent[]): string[] => log.map((e) => e.type);
const clean: World = { validPacket: true, checks: ['MATCH'], duplicateOf: null, adjudication: 'APPROVE' };

describe('enrollment process (saga decisions)', () => {
  it('a clean citizen: validated, checked with SIGA, no duplicate, approved with a new UIN', () => {
    const { log, state, calls } = run('CITIZEN', clean);
    expect(types(log)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
    expect(log[2]!.data).to.include({ system: 'SIGA' });
    expect(calls).to.include.members(['verifyExternally', 'deduplicate', 'allocateIdentity']);
    expect(state).to.include({ status: 'APPROVED', uin: '2345678901' });
  });

  it('a foreigner is checked with Immigration', () => {
    const { log } = run('FOREIGNER', clean);
    expect(log[2]!.data).to.include({ system: 'IMMIGRATION' });
  });

  it('a packet refused at intake is only a PacketRejected and nothing else happens', () => {
    const { log, calls } = run('CITIZEN', { ...clean, validPacket: false });
    expect(types(log)).to.deep.equal(['PacketRejected']);
    expect(calls).to.deep.equal([]);
  });

  it('a civil-registry discrepancy goes to adjudication, whose approval allocates the identity', () => {
    const { log, state } = run('CITIZEN', { ...clean, checks: ['MISMATCH'] });
    expect(types(log)).to.deep.equal([
      'EnrollmentSubmitted', 'PacketValidated', 'ExternalCheckRequested', 'ExternalCheckCompleted',
      'AdjudicationRequested', 'AdjudicationDecided', 'EnrollmentApproved',
    ]);
    expect((log[4]!.data as { reasons: string[] }).reasons).to.deep.equal(['SIGA disagrees on dateOfBirth']);
    expect(state.status).to.equal('APPROVED');
  });

  it('an unavailable external system is asked again, then falls back to an officer', () => {
    const { log } = run('CITIZEN', { ...clean, checks: ['UNAVAILABLE'], adjudication: 'REJECT' });
    const requested = log.filter((e) => e.type === 'ExternalCheckRequested').map((e) => (e.data as { attempt: number }).attempt);
    expect(requested).to.deep.equal([1, 2, 3]);
    const adj = log.find((e) => e.type === 'AdjudicationRequested')!;
    expect((adj.data as { reasons: string[] }).reasons[0]).to.match(/SIGA unavailable after 3 attempts/);
    expect(types(log).slice(-2)).to.deep.equal(['AdjudicationDecided', 'EnrollmentRejected']);
  });

  it('a suspected duplicate goes to adjudication; treat-as-update approves with the existing UIN', () => {
    const { log, state } = run('CITIZEN', { ...clean, duplicateOf: '3456789012', adjudication: 'TREAT_AS_UPDATE' });
    expect(types(log)).to.include.members(['DuplicateSuspected', 'AdjudicationRequested', 'AdjudicationDecided']);
    expect(state).to.include({ status: 'APPROVED', uin: '3456789012' });
  });

  it('an UPDATE proves it is the person it names before SIGA is asked, then updates that identity', () => {
    const { log, state, calls } = run('CITIZEN', { ...clean, packetType: 'UPDATE' });
    expect(types(log)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'IdentityClaimChecked', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
    expect(calls.indexOf('checkIdentityClaim')).to.be.below(calls.indexOf('verifyExternally'));
    expect(calls).to.include('updateIdentity').and.not.include('allocateIdentity');
    expect(state).to.include({ status: 'APPROVED', uin: '3456789012' });
  });

  it("an UPDATE with someone else's biometrics goes to an officer with BIOMETRIC_MISMATCH; nobody else is asked, and a rejection ends it", () => {
    const { log, calls } = run('CITIZEN', { ...clean, packetType: 'UPDATE', claim: { biometric: 'NO_MATCH', anchorKept: true }, adjudication: 'REJECT' });
    expect(types(log)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'IdentityClaimChecked', 'AdjudicationRequested', 'AdjudicationDecided', 'EnrollmentRejected']);
    expect(log[3]!.data).to.deep.include({ adjudicationId: `adj-${REG_ID}:claim`, reasons: ['BIOMETRIC_MISMATCH'] });
    expect(calls).not.to.include.members(['verifyExternally']);
    expect(calls).not.to.include('updateIdentity');
  });

  it("a CORRECTION of the number goes to an officer; their approval leads to SIGA's check and the update", () => {
    const { log, state } = run('CITIZEN', { ...clean, packetType: 'CORRECTION', claim: { biometric: 'MATCH', anchorKept: false } });
    expect(types(log)).to.deep.equal([
      'EnrollmentSubmitted', 'PacketValidated', 'IdentityClaimChecked', 'AdjudicationRequested', 'AdjudicationDecided',
      'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved',
    ]);
    expect(log[3]!.data).to.deep.include({ reasons: ['ANCHOR_CORRECTION'] });
    expect(state).to.include({ status: 'APPROVED', uin: '3456789012' });
  });

  for (const [name, world] of [
    ['update', { ...clean, packetType: 'UPDATE' as PacketType }],
    ['update, impostor', { ...clean, packetType: 'UPDATE' as PacketType, claim: { biometric: 'NO_MATCH' as BiometricVerdict, anchorKept: false } }],
    ['clean', clean],
    ['mismatch', { ...clean, checks: ['MISMATCH'] as CheckOutcome[] }],
    ['outage', { ...clean, checks: ['UNAVAILABLE', 'MATCH'] as CheckOutcome[] }],
    ['duplicate', { ...clean, duplicateOf: '3456789012' }],
  ] as Array<[string, World]>) {
    it(`redelivering every event (${name}) changes nothing: same log, same end state`, () => {
      const once = run('CITIZEN', world);
      const twice = run('CITIZEN', world, true);
      expect(types(twice.log)).to.deep.equal(types(once.log));
      expect(twice.state).to.deep.equal(once.state);
    });
  }
});
