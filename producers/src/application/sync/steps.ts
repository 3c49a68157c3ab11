import type { EventStore } from '@registo/event-store';
import type { HandleOptions, HandleResult } from '../../command-handler.js';
import type { ExternalSystem, IdentityEventData } from '@registo/schemas';
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

/** Where a sync comes from: a stored event (its stream and revision), or a change or run with no event behind it. */
export interface SyncOrigin {
  /** The sync's idempotency key at the other side: the source event's id, a change id, a reconciliation key. */
  key: string;
  /** The stored source event, when there is one. */
  event?: { streamId: string; revision: number; type: string };
  /** What the sync was asked by when no stored event stands behind it (`SIGA:WEBHOOK`, `Reconciliation`). */
  sourceType?: string;
}

/** The RequestSync command for one sync job, as every sync (inbound, outbound, reconciliation) asks for it. */
export function requestSyncCommand(
  job: { syncId: string; system: ExternalSystem; direction: 'INBOUND' | 'OUTBOUND'; operation: string; uin: string; fields: string[] },
  origin: SyncOrigin,
): Extract<SyncCommand, { type: 'RequestSync' }> {
  const { syncId, system, direction, operation, uin, fields } = job;
  // In the order the SyncRequested data has always had (stored events keep their key order).
  return {
    type: 'RequestSync',
    syncId,
    system,
    direction,
    operation,
    uin,
    sourceEventId: origin.key,
    sourceStreamId: origin.event?.streamId ?? null,
    sourceRevision: origin.event?.revision ?? null,
    sourceType: origin.event?.type ?? origin.sourceType ?? '',
    fields,
  };
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
