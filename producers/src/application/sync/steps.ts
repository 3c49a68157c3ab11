import type { EventStore } from '@registo/event-store';
import type { HandleOptions, HandleResult } from '../../command-handler.js';
import type { IdentityEventData } from '@registo/schemas';
import type { IdentityCommand, IdentityState } from '../../deciders/identity.js';
import type { MismatchCommand, MismatchEvents, MismatchState, SyncCommand, SyncJobEvents, SyncState } from '../../deciders/sync.js';
import { identityHandler, mismatchHandler, syncHandler } from '../handlers.js';

/*
 * The steps the sync consumers (inbound, outbound, reconciliation) take, each recorded by its
 * decider: a sync job's request, success, failure, dead letter; a mismatch found or resolved;
 * a system's change applied to an identity. The commands name their aggregate (syncId,
 * mismatchId, uin); the stream it lives in is the handlers' business.
 */

/** A step of a synchronisation job (`sync-<syncId>`); the sync decider refuses one out of order. */
export function recordSyncStep(store: EventStore, command: SyncCommand, options?: HandleOptions<SyncJobEvents>): Promise<HandleResult<SyncState, SyncJobEvents>> {
  return syncHandler(store, command.syncId, command, options);
}

/** A step of a reconciliation mismatch: found, resolved by a rule, its operator resolution completed. */
export function recordMismatchStep(store: EventStore, command: MismatchCommand, options?: HandleOptions<MismatchEvents>): Promise<HandleResult<MismatchState, MismatchEvents>> {
  return mismatchHandler(store, command.mismatchId, command, options);
}

/** What an outside system says about a person (a death, a permit revoked, a name corrected), applied to the identity. */
export function applySystemChangeToIdentity(
  store: EventStore,
  command: Extract<IdentityCommand, { type: 'ChangeIdentityStatus' | 'UpdateIdentity' }>,
  options?: HandleOptions<IdentityEventData>,
): Promise<HandleResult<IdentityState, IdentityEventData>> {
  return identityHandler(store, command.uin, command, options);
}
