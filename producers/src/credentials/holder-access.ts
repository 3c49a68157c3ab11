import type { EventStore } from '@registo/event-store';
import { fold } from '../decider.js';
import { readStreamOf } from '../typed-read.js';
import { type HolderPresence, credentialDecider, credentialStreamId, decideHolderAccess, holderStreamWorthReading } from '../deciders/credential.js';

/**
 * The holder channel's use case "act for this holder": reads the holder's credential stream (not
 * a read model, which may lag a revocation just approved) and applies the decider's holder
 * binding. Throws COMMAND_REJECTED with reason HOLDER_NOT_BOUND.
 */
export async function authorizeHolder(store: EventStore, uin: string, presence: HolderPresence): Promise<void> {
  // Another holder's stream is not even read for a proof that does not name them.
  const history = holderStreamWorthReading(uin, presence) ? await readStreamOf(store, 'credential', credentialStreamId(uin)) : [];
  decideHolderAccess(fold(credentialDecider, history), uin, presence);
}
