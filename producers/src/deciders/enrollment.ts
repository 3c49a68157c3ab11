import {
  type AdjudicationDecision,
  type BiometricVerdict,
  type CheckOutcome,
  type EnrollmentEventData,
  type ExternalSystem,
  type PacketType,
  type Residency,
  eventGuard,
} from '@registo/schemas';
import { type Decider, type DeciderEvent, reject } from '../decider.js';
import { type SigningDevice, requireOwnCentre } from '../enrollment/device-centre.js';

export type EnrollmentStatus = 'NONE' | 'SUBMITTED' | 'VALIDATED' | 'IN_ADJUDICATION' | 'APPROVED' | 'REJECTED';

export interface EnrollmentState {
  status: EnrollmentStatus;
  regId: string | null;
  packetHash: string | null;
  packetType: PacketType | null;
  residency: Residency | null;
  /** checkId → system, for checks requested and not yet completed. */
  pendingChecks: Record<string, ExternalSystem>;
  completedChecks: Array<{ checkId: string; system: ExternalSystem; outcome: CheckOutcome }>;
  attempts: Partial<Record<ExternalSystem, number>>;
  /** checkId → which attempt it was (for the process to number the next one from the event). */
  checkAttempts: Record<string, number>;
  suspectedDuplicates: string[];
  openAdjudication: string | null;
  decisions: Array<{ adjudicationId: string; decision: AdjudicationDecision }>;
  uin: string | null;
  rejection: { code: string; reason: string } | null;
  /** UPDATE, LOST and CORRECTION packets: the identity they name, and what stood against the claim (empty: it holds). */
  claim: { uin: string; problems: string[] } | null;
}

export type EnrollmentCommand =
  | ({ type: 'SubmitEnrollment' } & EnrollmentEventData['EnrollmentSubmitted'])
  /**
   * Intake: an authentic packet that passed every check at the door, submitted and validated in
   * one append; `device` is who signed it (its certificate), which must be of the packet's centre.
   */
  | ({ type: 'AcceptPacket'; checks: string[]; device: SigningDevice } & EnrollmentEventData['EnrollmentSubmitted'])
  | { type: 'ValidatePacket'; regId: string; checks: string[] }
  /** Refused after submission. */
  | { type: 'RejectPacket'; regId: string; code: string; reason: string }
  /**
   * Refused at intake (the stream may not exist yet): an authentic packet that failed a check,
   * signed by `device`, naming `claimedCentreId` when its content names a centre at all.
   */
  | { type: 'RejectPacket'; regId: string; code: string; reason: string; packetHash: string; device: SigningDevice; claimedCentreId: string | null }
  /**
   * The process's findings about the identity a non-NEW packet names: the ABIS's 1:1 verdict
   * and the blind indexes of the packet's and the identity's civil-registry (or permit) number.
   */
  | {
      type: 'CheckIdentityClaim';
      regId: string;
      uin: string;
      biometric: BiometricVerdict;
      score: number | null;
      packetAnchorIndex: string | null;
      identityAnchorIndex: string | null;
    }
  | { type: 'RequestExternalCheck'; regId: string; system: ExternalSystem; checkId: string }
  | { type: 'CompleteExternalCheck'; regId: string; checkId: string; outcome: CheckOutcome; discrepancies: string[] }
  | ({ type: 'SuspectDuplicate' } & EnrollmentEventData['DuplicateSuspected'])
  | ({ type: 'RequestAdjudication' } & EnrollmentEventData['AdjudicationRequested'])
  | ({ type: 'DecideAdjudication' } & EnrollmentEventData['AdjudicationDecided'])
  | ({ type: 'ApproveEnrollment' } & EnrollmentEventData['EnrollmentApproved'])
  | ({ type: 'RejectEnrollment' } & EnrollmentEventData['EnrollmentRejected']);

export type EnrollmentEvent = DeciderEvent<EnrollmentEventData>;

const TERMINAL: readonly EnrollmentStatus[] = ['APPROVED', 'REJECTED'];

function requireOpen(state: EnrollmentState, command: EnrollmentCommand, allowed: readonly EnrollmentStatus[]): void {
  if (state.status === 'NONE') reject('ENROLLMENT_NOT_FOUND', `${command.type}: enrollment ${command.regId} was never submitted`);
  if (TERMINAL.includes(state.status)) {
    reject('ENROLLMENT_CLOSED', `${command.type}: enrollment ${command.regId} is already ${state.status}`, { status: state.status });
  }
  if (!allowed.includes(state.status)) {
    reject('ENROLLMENT_WRONG_STATE', `${command.type} is not allowed while the enrollment is ${state.status}`, {
      status: state.status,
      allowed: [...allowed],
    });
  }
}

/**
 * Store-and-forward clients re-upload: the same packet again is not a new fact (true), and a
 * different packet under a registration id already used is refused.
 */
function isResubmission(state: EnrollmentState, packet: { regId: string; packetHash: string }): boolean {
  if (state.status === 'NONE') return false;
  if (state.packetHash === packet.packetHash) return true;
  reject('PACKET_ID_REUSED', `registration id ${packet.regId} was already used by another packet`);
}

/** The adjudication a packet goes to when its claim to be the identity it names does not hold. */
export const identityClaimAdjudicationId = (regId: string): string => `adj-${regId}:claim`;

/** Stable codes for what stands against a claim (docs/errors.md). */
export type IdentityClaimProblem = 'BIOMETRIC_MISMATCH' | 'BIOMETRIC_REFERENCE_MISSING' | 'BIOMETRIC_UNAVAILABLE' | 'ANCHOR_MISMATCH' | 'ANCHOR_CORRECTION';

const BIOMETRIC_PROBLEMS: Record<Exclude<BiometricVerdict, 'MATCH'>, IdentityClaimProblem> = {
  NO_MATCH: 'BIOMETRIC_MISMATCH',
  NO_REFERENCE: 'BIOMETRIC_REFERENCE_MISSING',
  UNAVAILABLE: 'BIOMETRIC_UNAVAILABLE',
};

/**
 * A packet may change an identity only when it is that person: the biometrics match the
 * identity's enrolled references, and an UPDATE or LOST keeps the identity's own civil-registry
 * or permit number. A CORRECTION may change that number, but only an officer can agree to it.
 */
export function identityClaimProblems(packetType: PacketType, biometric: BiometricVerdict, anchorKept: boolean): IdentityClaimProblem[] {
  const problems: IdentityClaimProblem[] = [];
  if (biometric !== 'MATCH') problems.push(BIOMETRIC_PROBLEMS[biometric]);
  if (!anchorKept) problems.push(packetType === 'CORRECTION' ? 'ANCHOR_CORRECTION' : 'ANCHOR_MISMATCH');
  return problems;
}

export type IdentityClaimStanding = 'NOT_REQUIRED' | 'UNCHECKED' | 'HOLDS' | 'APPROVED' | 'UNPROVEN';

/** Whether this enrollment has shown it is about the identity it names (NEW packets name none). */
export function identityClaimStanding(state: EnrollmentState): IdentityClaimStanding {
  if (state.packetType === 'NEW' || state.regId === null) return 'NOT_REQUIRED';
  if (!state.claim) return 'UNCHECKED';
  if (state.claim.problems.length === 0) return 'HOLDS';
  const id = identityClaimAdjudicationId(state.regId);
  return state.decisions.some((d) => d.adjudicationId === id && d.decision === 'APPROVE') ? 'APPROVED' : 'UNPROVEN';
}

/**
 * Whether an identity update from this enrollment may change the identity's civil-registry
 * number: only an officer's decision says so (approving a claim, or treating a duplicate as an update).
 */
export function anchorChangeApproved(state: EnrollmentState): boolean {
  const claimId = state.regId === null ? null : identityClaimAdjudicationId(state.regId);
  return state.decisions.some((d) => d.decision === 'TREAT_AS_UPDATE' || (d.adjudicationId === claimId && d.decision === 'APPROVE'));
}

function requireProvenClaim(state: EnrollmentState, command: EnrollmentCommand): void {
  const standing = identityClaimStanding(state);
  if (standing === 'UNCHECKED' || standing === 'UNPROVEN') {
    reject('IDENTITY_CLAIM_UNPROVEN', `${command.type}: enrollment ${command.regId} has not shown it is about the identity it names`, { standing });
  }
}

export function initialEnrollmentState(): EnrollmentState {
  return {
    status: 'NONE',
    regId: null,
    packetHash: null,
    packetType: null,
    residency: null,
    pendingChecks: {},
    completedChecks: [],
    attempts: {},
    checkAttempts: {},
    suspectedDuplicates: [],
    openAdjudication: null,
    decisions: [],
    uin: null,
    rejection: null,
    claim: null,
  };
}

export function decideEnrollment(command: EnrollmentCommand, state: EnrollmentState): EnrollmentEvent[] {
  switch (command.type) {
    case 'SubmitEnrollment': {
      const { type: _t, ...data } = command;
      if (isResubmission(state, command)) return [];
      return [{ type: 'EnrollmentSubmitted', data }];
    }
    case 'AcceptPacket': {
      const { type: _t, checks, device, ...data } = command;
      requireOwnCentre(device, command.regId, command.centreId);
      if (isResubmission(state, command)) return [];
      return [
        { type: 'EnrollmentSubmitted', data },
        { type: 'PacketValidated', data: { regId: command.regId, checks } },
      ];
    }
    case 'ValidatePacket':
      requireOpen(state, command, ['SUBMITTED']);
      return [{ type: 'PacketValidated', data: { regId: command.regId, checks: command.checks } }];
    case 'RejectPacket':
      if ('packetHash' in command) {
        requireOwnCentre(command.device, command.regId, command.claimedCentreId);
        if (isResubmission(state, { regId: command.regId, packetHash: command.packetHash })) return [];
        return [{ type: 'PacketRejected', data: { regId: command.regId, code: command.code, reason: command.reason, packetHash: command.packetHash } }];
      }
      requireOpen(state, command, ['SUBMITTED']);
      return [{ type: 'PacketRejected', data: { regId: command.regId, code: command.code, reason: command.reason } }];
    case 'CheckIdentityClaim':
      return checkIdentityClaim(command, state);
    case 'RequestExternalCheck': {
      requireOpen(state, command, ['VALIDATED']);
      requireProvenClaim(state, command);
      if (state.pendingChecks[command.checkId] || state.completedChecks.some((c) => c.checkId === command.checkId)) {
        reject('CHECK_ID_REUSED', `check ${command.checkId} was already requested`);
      }
      const attempt = (state.attempts[command.system] ?? 0) + 1;
      return [{ type: 'ExternalCheckRequested', data: { regId: command.regId, system: command.system, checkId: command.checkId, attempt } }];
    }
    case 'CompleteExternalCheck': {
      if (state.completedChecks.some((c) => c.checkId === command.checkId)) return [];
      requireOpen(state, command, ['VALIDATED', 'IN_ADJUDICATION']);
      const system = state.pendingChecks[command.checkId];
      if (!system) reject('CHECK_NOT_PENDING', `check ${command.checkId} was never requested`);
      return [
        {
          type: 'ExternalCheckCompleted',
          data: { regId: command.regId, system, checkId: command.checkId, outcome: command.outcome, discrepancies: command.discrepancies },
        },
      ];
    }
    case 'SuspectDuplicate':
      requireOpen(state, command, ['VALIDATED', 'IN_ADJUDICATION']);
      if (state.suspectedDuplicates.includes(command.candidateUin)) return [];
      return [
        {
          type: 'DuplicateSuspected',
          data: { regId: command.regId, candidateUin: command.candidateUin, method: command.method, score: command.score },
        },
      ];
    case 'RequestAdjudication':
      requireOpen(state, command, ['VALIDATED']);
      if (state.decisions.some((d) => d.adjudicationId === command.adjudicationId)) {
        reject('ADJUDICATION_ID_REUSED', `adjudication ${command.adjudicationId} was already decided`);
      }
      return [{ type: 'AdjudicationRequested', data: { regId: command.regId, adjudicationId: command.adjudicationId, reasons: command.reasons } }];
    case 'DecideAdjudication':
      return decideAdjudication(command, state);
    case 'ApproveEnrollment':
      requireOpen(state, command, ['VALIDATED']);
      requireProvenClaim(state, command);
      if (Object.keys(state.pendingChecks).length > 0) {
        reject('CHECKS_PENDING', `enrollment ${command.regId} still waits for external checks`, { pending: Object.keys(state.pendingChecks) });
      }
      return [{ type: 'EnrollmentApproved', data: { regId: command.regId, uin: command.uin } }];
    case 'RejectEnrollment':
      requireOpen(state, command, ['SUBMITTED', 'VALIDATED', 'IN_ADJUDICATION']);
      return [{ type: 'EnrollmentRejected', data: { regId: command.regId, code: command.code, reason: command.reason } }];
  }
}

function checkIdentityClaim(command: Extract<EnrollmentCommand, { type: 'CheckIdentityClaim' }>, state: EnrollmentState): EnrollmentEvent[] {
  if (state.status !== 'NONE' && state.claim) return [];
  requireOpen(state, command, ['VALIDATED']);
  if (state.packetType === 'NEW') reject('IDENTITY_CLAIM_NOT_EXPECTED', `a NEW packet names no identity to check against`);
  // Equal blind indexes mean equal numbers; a missing one on either side proves nothing.
  const anchorKept = command.packetAnchorIndex !== null && command.packetAnchorIndex === command.identityAnchorIndex;
  const problems = identityClaimProblems(state.packetType!, command.biometric, anchorKept);
  const checked: EnrollmentEvent[] = [
    {
      type: 'IdentityClaimChecked',
      data: { regId: command.regId, uin: command.uin, biometric: command.biometric, score: command.score, anchorKept, problems },
    },
  ];
  // A claim that does not hold changes nothing: an officer looks at both versions.
  if (problems.length > 0) {
    checked.push({ type: 'AdjudicationRequested', data: { regId: command.regId, adjudicationId: identityClaimAdjudicationId(command.regId), reasons: problems } });
  }
  return checked;
}

function decideAdjudication(command: Extract<EnrollmentCommand, { type: 'DecideAdjudication' }>, state: EnrollmentState): EnrollmentEvent[] {
  requireOpen(state, command, ['IN_ADJUDICATION']);
  if (state.openAdjudication !== command.adjudicationId) {
    reject('ADJUDICATION_NOT_OPEN', `adjudication ${command.adjudicationId} is not the open one`, { open: state.openAdjudication });
  }
  if (command.decision === 'TREAT_AS_UPDATE' && !command.targetUin) {
    reject('TARGET_UIN_REQUIRED', 'treat-as-update needs the UIN of the identity to update');
  }
  if (command.decision === 'TREAT_AS_UPDATE' && command.adjudicationId === identityClaimAdjudicationId(command.regId)) {
    reject('DECISION_NOT_APPLICABLE', 'the packet already names the identity it is about: approve or reject its claim');
  }
  const { type: _t, ...data } = command;
  const decided: EnrollmentEvent[] = [{ type: 'AdjudicationDecided', data }];
  if (command.decision === 'REJECT') {
    decided.push({ type: 'EnrollmentRejected', data: { regId: command.regId, code: 'ADJUDICATION_REJECTED', reason: command.reason } });
  }
  return decided;
}

export function evolveEnrollment(state: EnrollmentState, event: EnrollmentEvent): EnrollmentState {
  switch (event.type) {
    case 'EnrollmentSubmitted':
      return {
        ...state,
        status: 'SUBMITTED',
        regId: event.data.regId,
        packetHash: event.data.packetHash,
        packetType: event.data.packetType,
        residency: event.data.residency,
      };
    case 'PacketValidated':
      return { ...state, status: 'VALIDATED' };
    case 'PacketRejected':
      return {
        ...state,
        status: 'REJECTED',
        regId: event.data.regId,
        packetHash: state.packetHash ?? event.data.packetHash ?? null,
        rejection: { code: event.data.code, reason: event.data.reason },
      };
    case 'ExternalCheckRequested':
      return {
        ...state,
        pendingChecks: { ...state.pendingChecks, [event.data.checkId]: event.data.system },
        attempts: { ...state.attempts, [event.data.system]: event.data.attempt },
        checkAttempts: { ...state.checkAttempts, [event.data.checkId]: event.data.attempt },
      };
    case 'ExternalCheckCompleted': {
      const { [event.data.checkId]: _done, ...pending } = state.pendingChecks;
      return {
        ...state,
        pendingChecks: pending,
        completedChecks: [...state.completedChecks, { checkId: event.data.checkId, system: event.data.system, outcome: event.data.outcome }],
      };
    }
    case 'IdentityClaimChecked':
      return { ...state, claim: { uin: event.data.uin, problems: event.data.problems } };
    case 'DuplicateSuspected':
      return { ...state, suspectedDuplicates: [...state.suspectedDuplicates, event.data.candidateUin] };
    case 'AdjudicationRequested':
      return { ...state, status: 'IN_ADJUDICATION', openAdjudication: event.data.adjudicationId };
    case 'AdjudicationDecided':
      return {
        ...state,
        status: 'VALIDATED',
        openAdjudication: null,
        decisions: [...state.decisions, { adjudicationId: event.data.adjudicationId, decision: event.data.decision }],
      };
    case 'EnrollmentApproved':
      return { ...state, status: 'APPROVED', uin: event.data.uin };
    case 'EnrollmentRejected':
      return { ...state, status: 'REJECTED', rejection: { code: event.data.code, reason: event.data.reason } };
  }
}

export const enrollmentDecider: Decider<EnrollmentCommand, EnrollmentState, EnrollmentEventData> = {
  accepts: eventGuard('enrollment'),
  initialState: initialEnrollmentState,
  decide: decideEnrollment,
  evolve: evolveEnrollment,
};

export const enrollmentStreamId = (regId: string): string => `enrollment-${regId}`;
