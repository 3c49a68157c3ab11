import type { ExternalSystem } from '@registo/schemas';

/*
 * What the outside systems' word does to an identity, in one place for the inbound sync (a
 * change announced by webhook or poll) and the reconciliation (a difference found in an export).
 */

/**
 * The changes each system may announce. The agreement is per system: SIGA announces deaths and
 * name corrections, Immigration permit changes; neither may send the other's (SIGA cannot block
 * a foreigner's identity), and the ABIS announces none.
 */
const INBOUND_CHANGES: Partial<Record<ExternalSystem, readonly string[]>> = {
  SIGA: ['DECEASED', 'NAME_CORRECTED'],
  IMMIGRATION: ['PERMIT_EXPIRED', 'PERMIT_REVOKED'],
};

export const mayAnnounce = (system: ExternalSystem, changeType: string): boolean => INBOUND_CHANGES[system]?.includes(changeType) ?? false;

/** What a residence permit's end does to its holder's identity: an expired permit deactivates it, a revoked one blocks it. */
export function identityStatusAfterPermit(permit: 'EXPIRED' | 'REVOKED'): 'DEACTIVATED' | 'BLOCKED' {
  return permit === 'EXPIRED' ? 'DEACTIVATED' : 'BLOCKED';
}
