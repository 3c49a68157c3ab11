import type { ExternalSystem, Residency, SealedData } from './common.js';

// Hand-kept mirrors of schemas/avro/enrollment (checked against them by schemas/test/types.test.ts).
export type PacketType = 'NEW' | 'UPDATE' | 'LOST' | 'CORRECTION';
export const PACKET_TYPES: readonly PacketType[] = ['NEW', 'UPDATE', 'LOST', 'CORRECTION'];
export type CheckOutcome = 'MATCH' | 'MISMATCH' | 'NOT_FOUND' | 'UNAVAILABLE';
export const CHECK_OUTCOMES: readonly CheckOutcome[] = ['MATCH', 'MISMATCH', 'NOT_FOUND', 'UNAVAILABLE'];
export type DedupMethod = 'DEMOGRAPHIC' | 'BIOMETRIC';
export const DEDUP_METHODS: readonly DedupMethod[] = ['DEMOGRAPHIC', 'BIOMETRIC'];
export type BiometricVerdict = 'MATCH' | 'NO_MATCH' | 'NO_REFERENCE' | 'UNAVAILABLE';
export const BIOMETRIC_VERDICTS: readonly BiometricVerdict[] = ['MATCH', 'NO_MATCH', 'NO_REFERENCE', 'UNAVAILABLE'];
export type AdjudicationDecision = 'APPROVE' | 'REJECT' | 'TREAT_AS_UPDATE';
export const ADJUDICATION_DECISIONS: readonly AdjudicationDecision[] = ['APPROVE', 'REJECT', 'TREAT_AS_UPDATE'];

export interface EnrollmentEventData {
  EnrollmentSubmitted: {
    regId: string;
    packetType: PacketType;
    residency: Residency;
    centreId: string;
    operatorId: string;
    deviceId: string;
    capturedAt: string;
    packetHash: string;
    sealed: SealedData;
  };
  PacketValidated: { regId: string; checks: string[] };
  PacketRejected: { regId: string; code: string; reason: string; packetHash?: string | null };
  ExternalCheckRequested: { regId: string; system: ExternalSystem; checkId: string; attempt: number };
  ExternalCheckCompleted: {
    regId: string;
    system: ExternalSystem;
    checkId: string;
    outcome: CheckOutcome;
    discrepancies: string[];
  };
  IdentityClaimChecked: {
    regId: string;
    uin: string;
    biometric: BiometricVerdict;
    score?: number | null;
    anchorKept: boolean;
    problems: string[];
  };
  DuplicateSuspected: { regId: string; candidateUin: string; method: DedupMethod; score: number };
  AdjudicationRequested: { regId: string; adjudicationId: string; reasons: string[] };
  AdjudicationDecided: {
    regId: string;
    adjudicationId: string;
    decision: AdjudicationDecision;
    reason: string;
    adjudicatorId: string;
    targetUin: string | null;
  };
  EnrollmentApproved: { regId: string; uin: string };
  EnrollmentRejected: { regId: string; code: string; reason: string };
}

export type EnrollmentEventType = keyof EnrollmentEventData;
