import type { EventStore } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import { identityHandler, mismatchHandler } from '../handlers.js';
import {
  type MismatchState,
  type ResolutionAction,
  LEGACY_CLOSE_ACTION,
  acceptedExternalRegId,
  mismatchDecider,
  mismatchStreamId,
} from '../../deciders/sync.js';
import { changedFields } from '../../enrollment/personal-data.js';
import type { SealedData } from '@registo/schemas';
import { loadIdentity } from '../identity/load.js';
import { readStreamWith } from '../../typed-read.js';

export interface ResolveMismatchDeps {
  store: EventStore;
  sealer: SubjectSealer;
}

export interface MismatchResolution {
  mismatchId: string;
  action: ResolutionAction;
  /** PENDING: the register's value is on its way to the system; the sync consumer resolves the mismatch when it lands. */
  status: 'RESOLVED' | 'PENDING';
}

type Actor = { id: string; role: string };

/**
 * An operator's resolution of a mismatch. The mismatch decider says whether the action fits
 * the mismatch and what follows: CLOSE_WITHOUT_CHANGE closes it; ACCEPT_REGISTER is recorded
 * and left to the sync consumer (which sends the value and then resolves it); ACCEPT_EXTERNAL
 * updates the identity here, with the operator as actor, and then resolves it. Repeating the
 * request repeats nothing that was done (the choice and the update are each recorded once).
 */
export async function resolveMismatch(
  deps: ResolveMismatchDeps,
  mismatchId: string,
  request: { action: ResolutionAction | typeof LEGACY_CLOSE_ACTION; note: string },
  actor: Actor,
): Promise<MismatchResolution> {
  const metadata = { correlationId: `mismatch-${mismatchId}`, actor };
  const action: ResolutionAction = request.action === LEGACY_CLOSE_ACTION ? 'CLOSE_WITHOUT_CHANGE' : request.action;
  const chosen = await mismatchHandler(deps.store, mismatchId, { type: 'ChooseResolution', mismatchId, action, by: actor.id, note: request.note }, { metadata });
  if (action === 'CLOSE_WITHOUT_CHANGE') return { mismatchId, action, status: 'RESOLVED' };
  if (action === 'ACCEPT_REGISTER') return { mismatchId, action, status: chosen.state.open ? 'PENDING' : 'RESOLVED' };
  await takeExternalValue(deps, mismatchId, chosen.state, metadata);
  await mismatchHandler(deps.store, mismatchId, { type: 'CompleteResolution', mismatchId, action, by: actor.id, note: request.note }, { metadata });
  return { mismatchId, action, status: 'RESOLVED' };
}

/** The identity's record with the system's value of the field, through the identity decider (which may refuse: not active, erased). */
async function takeExternalValue(deps: ResolveMismatchDeps, mismatchId: string, mismatch: MismatchState, metadata: { correlationId: string; actor: Actor }): Promise<void> {
  const stream = await readStreamWith(deps.store, mismatchStreamId(mismatchId), mismatchDecider.accepts, 'mismatch');
  let sealedValues: SealedData | null = null;
  for (const e of stream) if (e.type === 'ReconciliationMismatchFound') sealedValues = e.data.sealed;
  if (!sealedValues) throw new Error(`mismatch ${mismatchId} carries no sealed values`);
  const { externalValue } = await deps.sealer.open<{ registerValue: string | null; externalValue: string | null }>(sealedValues);
  const uin = mismatch.uin!;
  const identity = await loadIdentity(deps, uin);
  if (!identity) throw new Error(`no identity ${uin} for mismatch ${mismatchId}`);
  const opened = await identity.openRecord();
  if (opened.erased) throw opened.error;
  const { record } = opened;
  const taken = { ...record.demographics, [mismatch.field!]: externalValue ?? undefined };
  const changed = changedFields(record.demographics, taken);
  // Already so (the register was corrected meanwhile): nothing to update.
  if (changed.length === 0) return;
  const sealed = await deps.sealer.seal(identity.subjectId, { ...record, demographics: taken });
  await identityHandler(deps.store, uin, { type: 'UpdateIdentity', uin, regId: acceptedExternalRegId(mismatchId, mismatch.found), changedFields: changed, sealed }, { metadata });
}
