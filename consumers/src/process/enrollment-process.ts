import type { EnrollmentEventData, ExternalSystem } from '@registo/schemas';
import { type EnrollmentCommand, type EnrollmentEvent, type EnrollmentState, identityClaimAdjudicationId } from '@registo/producers';

/**
 * What the enrollment process does next, decided purely from the enrollment's state (after
 * the event) and the event itself. The executor performs the actions: commands go to the
 * enrollment decider, the rest call the outside world and come back as commands. Every
 * action is safe to repeat: commands are idempotent or refused as already done, external
 * calls carry the event id as idempotency key, and identities are allocated with a digit
 * source keyed by the registration id.
 */
export type ProcessAction =
  | { kind: 'command'; command: EnrollmentCommand }
  /** Ask SIGA or Immigration; then CompleteExternalCheck with the outcome (UNAVAILABLE when it cannot answer). */
  | { kind: 'verifyExternally'; regId: string; system: ExternalSystem; checkId: string }
  /**
   * An UPDATE, LOST or CORRECTION packet: ask the ABIS whether its biometrics are those of the
   * identity it names (1:1), and compare the numbers; then CheckIdentityClaim with the findings.
   */
  | { kind: 'checkIdentityClaim'; regId: string }
  /** Look for the same person among existing identities; then SuspectDuplicate, or allocateIdentity. */
  | { kind: 'deduplicate'; regId: string }
  /** Create the identity under a new UIN; then ApproveEnrollment with it. */
  | { kind: 'allocateIdentity'; regId: string }
  /** Add this enrollment to an existing identity (treat-as-update); then ApproveEnrollment with that UIN. */
  | { kind: 'updateIdentity'; regId: string; uin: string };

export interface ProcessPolicy {
  /** External checks that came back UNAVAILABLE are asked again this many times before an officer takes over. */
  maxExternalAttempts: number;
}

export const DEFAULT_PROCESS_POLICY: ProcessPolicy = { maxExternalAttempts: 3 };

/** The adjudication that asks an officer to look for biometric duplicates by hand. */
export const manualDedupAdjudicationId = (regId: string): string => `adj-${regId}:abis`;

const systemFor = (state: EnrollmentState): ExternalSystem => (state.residency === 'FOREIGNER' ? 'IMMIGRATION' : 'SIGA');
const checkId = (regId: string, system: ExternalSystem, attempt: number): string => `${regId}:${system}:${attempt}`;

export function nextActions(state: EnrollmentState, event: EnrollmentEvent, policy: ProcessPolicy = DEFAULT_PROCESS_POLICY): ProcessAction[] {
  const regId = event.data.regId;
  switch (event.type) {
    // A packet that names an identity proves it is that person before anyone else is asked.
    case 'PacketValidated':
      return state.packetType === 'NEW' ? [firstCheck(state, regId)] : [{ kind: 'checkIdentityClaim', regId }];
    // A claim that does not hold came with its AdjudicationRequested: the officer has it.
    case 'IdentityClaimChecked':
      return event.data.problems.length === 0 && state.status === 'VALIDATED' ? [firstCheck(state, regId)] : [];
    case 'ExternalCheckRequested':
      return [{ kind: 'verifyExternally', regId, system: event.data.system, checkId: event.data.checkId }];
    case 'ExternalCheckCompleted':
      return afterCheck(state, event.data, policy);
    case 'DuplicateSuspected':
      if (state.status !== 'VALIDATED') return [];
      return [
        {
          kind: 'command',
          command: {
            type: 'RequestAdjudication',
            regId,
            adjudicationId: `adj-${regId}:dup:${event.data.candidateUin}`,
            reasons: [`possible duplicate of ${event.data.candidateUin} (${event.data.method}, score ${event.data.score})`],
          },
        },
      ];
    case 'AdjudicationDecided':
      // An officer's approval of a registry question (a mismatch, an outage) does not say the
      // person is new: de-duplicate first. Approving a suspected duplicate does say it.
      // An officer who checked duplicates by hand (the ABIS was unavailable) has de-duplicated.
      // An officer who accepted a packet's claim to be the identity it names: on to the registry.
      if (event.data.decision === 'APPROVE' && event.data.adjudicationId === identityClaimAdjudicationId(regId)) return [firstCheck(state, regId)];
      if (event.data.decision === 'APPROVE') {
        const deduplicated = state.suspectedDuplicates.length > 0 || event.data.adjudicationId === manualDedupAdjudicationId(regId);
        return [deduplicated ? { kind: 'allocateIdentity', regId } : { kind: 'deduplicate', regId }];
      }
      if (event.data.decision === 'TREAT_AS_UPDATE') return [{ kind: 'updateIdentity', regId, uin: event.data.targetUin! }];
      return [];
    // Intake checked the packet at the door (signature, chain, schema, dates, quality) and
    // appended PacketValidated with it: nothing to do until then.
    case 'EnrollmentSubmitted':
    case 'AdjudicationRequested':
    case 'PacketRejected':
    case 'EnrollmentApproved':
    case 'EnrollmentRejected':
      return [];
  }
}

function firstCheck(state: EnrollmentState, regId: string): ProcessAction {
  const system = systemFor(state);
  return { kind: 'command', command: { type: 'RequestExternalCheck', regId, system, checkId: checkId(regId, system, 1) } };
}

function afterCheck(state: EnrollmentState, data: EnrollmentEventData['ExternalCheckCompleted'], policy: ProcessPolicy): ProcessAction[] {
  const { regId, system, outcome } = data;
  if (state.status !== 'VALIDATED') return [];
  // Everything below is numbered from the event, not from the state, so that a redelivered
  // event asks for exactly what it asked for the first time (and the decider says: done).
  const adjudicationId = `adj-${data.checkId}`;
  if (outcome === 'MATCH') return [{ kind: 'deduplicate', regId }];
  if (outcome === 'UNAVAILABLE') {
    const attempt = (state.checkAttempts[data.checkId] ?? 1) + 1;
    if (attempt <= policy.maxExternalAttempts) {
      return [{ kind: 'command', command: { type: 'RequestExternalCheck', regId, system, checkId: checkId(regId, system, attempt) } }];
    }
    // The manual-fallback queue is the adjudication queue with a reason an officer can act on.
    return [{ kind: 'command', command: { type: 'RequestAdjudication', regId, adjudicationId, reasons: [`${system} unavailable after ${policy.maxExternalAttempts} attempts: check manually`] } }];
  }
  const what = outcome === 'NOT_FOUND' ? `${system} has no record` : `${system} disagrees on ${data.discrepancies.join(', ') || 'some fields'}`;
  return [{ kind: 'command', command: { type: 'RequestAdjudication', regId, adjudicationId, reasons: [what] } }];
}
