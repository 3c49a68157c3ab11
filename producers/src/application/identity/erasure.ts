import type { EventStore } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import type { BiometricIdentification } from '@registo/external';
import { RegistoError } from '@registo/schemas';
import { subjectIdFor } from '../../enrollment/personal-data.js';
import { identityHandler } from '../handlers.js';
import { loadIdentity } from './load.js';

export interface ErasureDeps {
  store: EventStore;
  sealer: SubjectSealer;
  /** The ABIS holding the person's templates; null when none is configured (they are named for removal by hand). */
  abis: BiometricIdentification | null;
}

export interface ErasureOrder {
  uin: string;
  legalBasis: string;
  orderRef: string | null;
}

export interface ErasureResult {
  uin: string;
  /** Position of the SubjectKeyDestroyed this request appended; null when the identity was erased already. */
  position: number | null;
  alreadyErased: boolean;
  /** The enrollments (registration ids) whose templates the ABIS held. */
  enrollments: string[];
  /** REMOVED: the ABIS confirmed; NO_ABIS: none configured, remove the enrollments' templates there by hand. */
  templates: 'REMOVED' | 'NO_ABIS';
}

/**
 * Erasure of a person (docs/identity-lifecycle.md, "Personal data"): the data keys of the
 * identity's subject and of every enrollment linked to it are destroyed, `SubjectKeyDestroyed`
 * is appended (the identity decider says whether it is due), then the templates are removed
 * from the ABIS. Every step is idempotent, so a request that failed half-way is completed by
 * repeating it: the ABIS step throws ERASURE_INCOMPLETE, which says the keys are gone already.
 */
export async function eraseIdentity(deps: ErasureDeps, order: ErasureOrder, actor: { id: string; role: string }): Promise<ErasureResult> {
  const identity = await loadIdentity(deps, order.uin);
  if (!identity) throw new RegistoError('NOT_FOUND', `no identity ${order.uin}`, { uin: order.uin });
  const { subjectId } = identity;
  // Every enrollment of the person sealed its packet under a subject named after it (update
  // packets included): all of those keys go, not only the identity's.
  const enrollments = identity.state.regIds;
  for (const subject of new Set([subjectId, ...enrollments.map(subjectIdFor)])) await deps.sealer.destroy(subject);
  const appended = await identityHandler(
    deps.store,
    order.uin,
    { type: 'DestroySubjectKey', uin: order.uin, subjectId, legalBasis: order.legalBasis, orderRef: order.orderRef },
    { metadata: { actor }, history: identity.history },
  );
  const position = appended.events[0]?.position ?? null;
  // The biometric templates live in the ABIS gallery, outside the log: they go too.
  if (!deps.abis) return { uin: order.uin, position, alreadyErased: position === null, enrollments, templates: 'NO_ABIS' };
  try {
    for (const regId of enrollments) await deps.abis.remove(regId);
  } catch (e) {
    const cause = e instanceof RegistoError ? e.code : 'ERROR';
    throw new RegistoError('ERASURE_INCOMPLETE', `the subject keys of ${order.uin} are destroyed and the erasure recorded, but the ABIS did not confirm removing the templates (${cause}); repeat the erasure to complete it`, {
      uin: order.uin,
      position,
      cause,
    });
  }
  return { uin: order.uin, position, alreadyErased: position === null, enrollments, templates: 'REMOVED' };
}
