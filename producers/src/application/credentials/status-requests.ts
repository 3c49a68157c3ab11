import type { EventStore } from '@registo/event-store';
import type { CredentialEventData } from '@registo/schemas';
import type { StatusChangeRequest, CredentialStatus } from '../../deciders/credential.js';
import { credentialHandler } from '../handlers.js';

type Actor = { id: string; role: string };

/** What the officer asks for: the request, less who asks (the actor) and the status version (the decider's). */
export type StatusChangeAsk = Pick<
  CredentialEventData['CredentialStatusChangeRequested'],
  'uin' | 'requestId' | 'credentialId' | 'action' | 'reason' | 'comment'
>;

/** An officer asks for a credential's status to change; nothing happens until another person approves (dual control, in the decider). */
export async function requestStatusChange(store: EventStore, ask: StatusChangeAsk, actor: Actor): Promise<void> {
  await credentialHandler(
    store,
    ask.uin,
    { type: 'RequestStatusChange', ...ask, requestedBy: actor.id, requestedByRole: actor.role },
    { metadata: { correlationId: ask.requestId, actor: { id: actor.id, role: actor.role } } },
  );
}

/** An approver's decision on a pending request, and where it leaves the request and its credential. */
export async function decideStatusChange(
  store: EventStore,
  decision: { uin: string; requestId: string; verb: 'approve' | 'reject'; comment: string | null },
  actor: Actor,
): Promise<{ request: StatusChangeRequest; credentialStatus: CredentialStatus }> {
  const { uin, requestId, comment } = decision;
  const result = await credentialHandler(
    store,
    uin,
    decision.verb === 'approve'
      ? { type: 'ApproveStatusChange', uin, requestId, approvedBy: actor.id, approverRole: actor.role, comment }
      : { type: 'RejectStatusChange', uin, requestId, rejectedBy: actor.id, rejecterRole: actor.role, comment: comment ?? 'rejected' },
    { metadata: { correlationId: requestId, actor: { id: actor.id, role: actor.role } } },
  );
  const request = result.state.requests[requestId]!;
  return { request, credentialStatus: result.state.credentials[request.credentialId]!.status };
}
