import type { EventStore } from '@registo/event-store';
import { type IdentityStatus, RegistoError } from '@registo/schemas';
import { CommandRejected } from '../../decider.js';
import { identityHandler } from '../handlers.js';

/** An identity officer's status change, with a reason; the identity decider says which transitions are allowed. */
export async function changeIdentityStatus(
  store: EventStore,
  uin: string,
  change: { to: IdentityStatus; reason: string },
  actor: { id: string; role: string },
): Promise<{ uin: string; status: IdentityStatus | null; changed: boolean }> {
  let result;
  try {
    result = await identityHandler(
      store,
      uin,
      { type: 'ChangeIdentityStatus', uin, to: change.to, reason: change.reason, source: `officer:${actor.id}` },
      { metadata: { correlationId: `identity-${uin}`, actor: { id: actor.id, role: actor.role } } },
    );
  } catch (e) {
    // No such identity is NOT_FOUND, as when it is looked up, not a refused command.
    if (e instanceof CommandRejected && e.reason === 'IDENTITY_NOT_FOUND') throw new RegistoError('NOT_FOUND', `no identity ${uin}`);
    throw e;
  }
  return { uin, status: result.state.status, changed: result.events.length > 0 };
}
