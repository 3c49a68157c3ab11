import type { EventStore } from '@registo/event-store';
import type { AdjudicationDecision } from '@registo/schemas';
import { enrollmentHandler } from '../handlers.js';

export interface AdjudicationDecisionRequest {
  regId: string;
  adjudicationId: string;
  decision: AdjudicationDecision;
  reason: string;
  targetUin: string | null;
}

/** An adjudicator's decision on an enrollment's open case; the enrollment decider says whether it fits the case. */
export async function decideAdjudication(store: EventStore, request: AdjudicationDecisionRequest, actor: { id: string; role: string }): Promise<{ position: number | null }> {
  const { regId, adjudicationId, decision, reason, targetUin } = request;
  const result = await enrollmentHandler(
    store,
    regId,
    { type: 'DecideAdjudication', regId, adjudicationId, decision, reason, adjudicatorId: actor.id, targetUin },
    { metadata: { correlationId: regId, actor: { id: actor.id, role: actor.role } } },
  );
  return { position: result.events[0]?.position ?? null };
}
