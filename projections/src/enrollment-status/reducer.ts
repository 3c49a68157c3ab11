import { type CategoryEvent, type EventEnvelope, type EventMetadata, expectEventOf } from '@registo/schemas';

/** One enrollment as relying parties and officers see its progress. */
export interface EnrollmentStatusRow {
  regId: string;
  status: 'SUBMITTED' | 'VALIDATED' | 'CHECKING' | 'IN_ADJUDICATION' | 'APPROVED' | 'REJECTED';
  residency: string | null;
  packetType: string | null;
  centreId: string | null;
  /** The packet's hash: the submitted one, else the one refused at the door. */
  packetHash: string | null;
  uin: string | null;
  rejectionCode: string | null;
  rejectionReason: string | null;
  /** The adjudication the enrollment waits on, if any. */
  openAdjudication: string | null;
  /** Stream revision of the last event applied: the guard against applying anything twice. */
  revision: number;
  lastPosition: number;
  submittedAt: string | null;
  updatedAt: string;
  timeline: Array<{ position: number; type: string; at: string; actor?: EventMetadata['actor'] }>;
}

export type ReduceOutcome =
  | { kind: 'apply'; row: EnrollmentStatusRow }
  /** Already applied (a redelivery): nothing to do. */
  | { kind: 'skip' }
  /** An event is missing before this one: the source is broken; do not guess. */
  | { kind: 'gap'; expectedRevision: number };

function nextStatus(row: EnrollmentStatusRow | undefined, e: CategoryEvent<'enrollment'>): EnrollmentStatusRow['status'] {
  switch (e.type) {
    case 'EnrollmentSubmitted':
      return 'SUBMITTED';
    case 'PacketValidated':
      return 'VALIDATED';
    case 'ExternalCheckRequested':
      return row?.status === 'IN_ADJUDICATION' ? 'IN_ADJUDICATION' : 'CHECKING';
    case 'ExternalCheckCompleted':
    case 'IdentityClaimChecked':
    case 'DuplicateSuspected':
      return row?.status ?? 'VALIDATED';
    case 'AdjudicationRequested':
      return 'IN_ADJUDICATION';
    case 'AdjudicationDecided':
      return 'VALIDATED';
    case 'EnrollmentApproved':
      return 'APPROVED';
    case 'PacketRejected':
    case 'EnrollmentRejected':
      return 'REJECTED';
  }
}

/** Pure: the row after `event`, or why the event does not apply. */
export function reduceEnrollmentStatus(row: EnrollmentStatusRow | undefined, event: EventEnvelope): ReduceOutcome {
  const expected = (row?.revision ?? -1) + 1;
  if (event.revision < expected) return { kind: 'skip' };
  if (event.revision > expected) return { kind: 'gap', expectedRevision: expected };
  const e = expectEventOf('enrollment', event);
  const base: EnrollmentStatusRow = row ?? {
    regId: e.data.regId,
    status: 'SUBMITTED',
    residency: null,
    packetType: null,
    centreId: null,
    packetHash: null,
    uin: null,
    rejectionCode: null,
    rejectionReason: null,
    openAdjudication: null,
    revision: -1,
    lastPosition: 0,
    submittedAt: null,
    updatedAt: e.metadata.recordedAt,
    timeline: [],
  };
  const next: EnrollmentStatusRow = {
    ...base,
    status: nextStatus(row, e),
    revision: e.revision,
    lastPosition: e.position,
    updatedAt: e.metadata.recordedAt,
    timeline: [...base.timeline, { position: e.position, type: e.type, at: e.metadata.recordedAt, ...(e.metadata.actor && { actor: e.metadata.actor }) }],
  };
  if (e.type === 'EnrollmentSubmitted') {
    next.residency = e.data.residency;
    next.packetType = e.data.packetType;
    next.centreId = e.data.centreId;
    next.packetHash = e.data.packetHash;
    next.submittedAt = e.metadata.recordedAt;
  }
  if (e.type === 'EnrollmentApproved') next.uin = e.data.uin;
  if (e.type === 'PacketRejected') next.packetHash = base.packetHash ?? e.data.packetHash ?? null;
  if (e.type === 'PacketRejected' || e.type === 'EnrollmentRejected') {
    next.rejectionCode = e.data.code;
    next.rejectionReason = e.data.reason;
  }
  if (e.type === 'AdjudicationRequested') next.openAdjudication = e.data.adjudicationId;
  if (e.type === 'AdjudicationDecided') next.openAdjudication = null;
  return { kind: 'apply', row: next };
}
