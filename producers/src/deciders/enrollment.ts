import type {
  AdjudicationDecision,
  CheckOutcome,
  DedupMethod,
  EnrollmentEventData,
  ExternalSystem,
  PacketType,
  Residency,
  SealedData,
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
  | { type: 'RequestExternalCheck'; regId: string; system: ExternalSystem; checkId: string }
  | { type: 'CompleteExternalCheck'; regId: string; checkId: string; outcome: CheckOutcome; discrepancies: string[] }
  | { type: 'SuspectDuplicate'; regId: string; candidateUin: string; method: DedupMethod; score: number }
  | { type: 'RequestAdjudication'; regId: string; adjudicationId: string; reasons: string[] }
  | {
      type: 'DecideAdjudication';
      regId: string;
      adjudicationId: string;
      decision: AdjudicationDecision;
      reason: string;
      adjudicatorId: string;
      targetUin: string | null;
    }
  | { type: 'ApproveEnrollment'; regId: string; uin: string }
  | { type: 'RejectEnrollment'; regId: string; code: string; reason: string };

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
    case 'RequestExternalCheck': {
      requireOpen(state, command, ['VALIDATED']);
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
    case 'DecideAdjudication': {
      requireOpen(state, command, ['IN_ADJUDICATION']);
      if (state.openAdjudication !== command.adjudicationId) {
        reject('ADJUDICATION_NOT_OPEN', `adjudication ${command.adjudicationId} is not the open one`, { open: state.openAdjudication });
      }
      if (command.decision === 'TREAT_AS_UPDATE' && !command.targetUin) {
        reject('TARGET_UIN_REQUIRED', 'treat-as-update needs the UIN of the identity to update');
      }
      const { type: _t, ...data } = command;
      const decided: EnrollmentEvent[] = [{ type: 'AdjudicationDecided', data }];
      if (command.decision === 'REJECT') {
        decided.push({ type: 'EnrollmentRejected', data: { regId: command.regId, code: 'ADJUDICATION_REJECTED', reason: command.reason } });
      }
      return decided;
    }
    case 'ApproveEnrollment':
      requireOpen(state, command, ['VALIDATED']);
      if (Object.keys(state.pendingChecks).length > 0) {
        reject('CHECKS_PENDING', `enrollment ${command.regId} still waits for external checks`, { pending: Object.keys(state.pendingChecks) });
      }
      return [{ type: 'EnrollmentApproved', data: { regId: command.regId, uin: command.uin } }];
    case 'RejectEnrollment':
      requireOpen(state, command, ['SUBMITTED', 'VALIDATED', 'IN_ADJUDICATION']);
      return [{ type: 'EnrollmentRejected', data: { regId: command.regId, code: command.code, reason: command.reason } }];
  }
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
  initialState: initialEnrollmentState,
  decide: decideEnrollment,
  evolve: evolveEnrollment,
};

export const enrollmentStreamId = (regId: string): string => `enrollment-${regId}`;
