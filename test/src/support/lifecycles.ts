import type { NewEvent } from '@registo/schemas';
import { enrollmentSubmitted, packetValidated } from './events.js';

/**
 * A plausible enrollment history of `length` events (1..8): submitted, validated, checked,
 * then approved, rejected or sent to adjudication, in the order the saga would write them.
 */
export function lifecycle(regId: string, length: number, outcome: 'approve' | 'reject' | 'adjudicate'): NewEvent[] {
  const all: NewEvent[] = [
    enrollmentSubmitted(regId),
    packetValidated(regId),
    { type: 'ExternalCheckRequested', data: { regId, system: 'SIGA', checkId: `${regId}-siga`, attempt: 1 } },
    { type: 'ExternalCheckCompleted', data: { regId, system: 'SIGA', checkId: `${regId}-siga`, outcome: 'MATCH', discrepancies: [] } },
    { type: 'ExternalCheckRequested', data: { regId, system: 'ABIS', checkId: `${regId}-abis`, attempt: 1 } },
    { type: 'ExternalCheckCompleted', data: { regId, system: 'ABIS', checkId: `${regId}-abis`, outcome: 'MATCH', discrepancies: [] } },
    ...(outcome === 'approve'
      ? [{ type: 'EnrollmentApproved', data: { regId, uin: String(2_000_000_000 + (parseInt(regId.slice(0, 6), 16) % 999_999_999)) } }]
      : outcome === 'reject'
        ? [{ type: 'EnrollmentRejected', data: { regId, code: 'SIGA_MISMATCH', reason: 'civil registry disagrees' } }]
        : [{ type: 'AdjudicationRequested', data: { regId, adjudicationId: `${regId}-adj`, reasons: ['possible duplicate'] } }]),
  ];
  return all.slice(0, Math.max(1, Math.min(length, all.length)));
}
