import type { PermitVerificationResult } from '@registo/external';
import type { CheckOutcome } from '@registo/schemas';

/*
 * Pure rules for how the enrollment process reads the outside world's answers, beside the
 * enrollment decider that records them.
 */

/** Deliveries of one event during which an unreachable ABIS is left to the consumer's retries. */
export const DEFAULT_ABIS_ATTEMPTS = 3;

/**
 * Immigration's answer as an external check's outcome. A permit that is no longer VALID
 * cannot ground residence, whatever else matches: a MATCH on it is a MISMATCH.
 */
export function immigrationCheckOutcome(r: PermitVerificationResult): { outcome: CheckOutcome; discrepancies: string[] } {
  if (r.outcome === 'MATCH' && r.permitStatus !== 'VALID') return { outcome: 'MISMATCH', discrepancies: [`permitStatus:${r.permitStatus}`] };
  return { outcome: r.outcome, discrepancies: r.discrepancies };
}

/**
 * Whether an unreachable ABIS is handed to an officer on this delivery (true) or left to the
 * consumer's redeliveries (false): once `attempts` deliveries are spent, a person checks by hand.
 */
export function abisHandedToOfficer(delivery: number, attempts: number = DEFAULT_ABIS_ATTEMPTS): boolean {
  return delivery >= attempts;
}

/** Why the enrollment went to an officer when the ABIS could not identify it. */
export const abisUnavailableReasons = (delivery: number): string[] => [`ABIS unavailable after ${delivery} attempts: check biometric duplicates manually`];
