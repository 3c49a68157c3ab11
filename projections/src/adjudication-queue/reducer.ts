import type { CategoryEvent, EnrollmentEventData } from '@registo/schemas';

/** One adjudication as the officers' queue shows it. */
export interface AdjudicationRow {
  adjudicationId: string;
  regId: string;
  status: 'OPEN' | 'DECIDED';
  reasons: string[];
  /** Suspected duplicates of this enrollment known when it was queued (UINs or pending enrollments). */
  candidates: string[];
  requestedAt: string;
  decision: EnrollmentEventData['AdjudicationDecided']['decision'] | null;
  decisionReason: string | null;
  adjudicatorId: string | null;
  targetUin: string | null;
  decidedAt: string | null;
  lastPosition: number;
}

/**
 * Pure: the queue after an enrollment event, as a list of upserts. Candidates seen before the
 * request are carried by the caller (`candidatesSoFar`). Idempotent: a decided row never
 * reopens and a redelivered event (position not beyond the row's) changes nothing.
 */
export function reduceAdjudication(row: AdjudicationRow | undefined, event: CategoryEvent<'enrollment'>, candidatesSoFar: string[]): AdjudicationRow | null {
  if (row && event.position <= row.lastPosition) return null;
  if (event.type === 'AdjudicationRequested') {
    if (row) return null;
    const d = event.data;
    return {
      adjudicationId: d.adjudicationId,
      regId: d.regId,
      status: 'OPEN',
      reasons: d.reasons,
      candidates: candidatesSoFar,
      requestedAt: event.metadata.recordedAt,
      decision: null,
      decisionReason: null,
      adjudicatorId: null,
      targetUin: null,
      decidedAt: null,
      lastPosition: event.position,
    };
  }
  if (event.type === 'AdjudicationDecided') {
    const d = event.data;
    if (!row || row.status === 'DECIDED') return null;
    return {
      ...row,
      status: 'DECIDED',
      decision: d.decision,
      decisionReason: d.reason,
      adjudicatorId: d.adjudicatorId,
      targetUin: d.targetUin,
      decidedAt: event.metadata.recordedAt,
      lastPosition: event.position,
    };
  }
  return null;
}
