import { RegistoError } from '@registo/schemas';
import { CAPTURE_CLOCK_SKEW_MS, parseTimestamp } from './content-checks.js';

/** A registration centre's code: the regId's first part, and the OU of its devices' certificates. */
export const CENTRE_ID_PATTERN = /^\d{5}$/;

/** The centre a registration id was issued under (its first part). */
export function centreOfRegId(regId: string): string {
  return regId.slice(0, 5);
}

/** The instant a registration id's date part names (`yyyymmddhhmmss`, UTC) as ISO 8601; not checked for reality. */
export function regIdStampOf(regId: string): string {
  const d = regId.slice(-14);
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(8, 10)}:${d.slice(10, 12)}:${d.slice(12, 14)}Z`;
}

/**
 * A registration id's date part must be a real instant no earlier than the signer's
 * certificate and no later than now (with the clock skew allowed for captures): a device
 * cannot have numbered a packet before it existed, nor in the future.
 */
export function checkRegIdDate(regId: string, now: Date, certifiedFrom: Date): void {
  const stamp = parseTimestamp(regIdStampOf(regId));
  const implausible = (rule: string) => new RegistoError('PACKET_REG_ID_IMPLAUSIBLE', `the date part of regId ${rule}`, { field: 'regId' });
  if (!stamp) throw implausible('is not a real instant');
  if (stamp.getTime() > now.getTime() + CAPTURE_CLOCK_SKEW_MS) throw implausible('is in the future');
  if (stamp.getTime() < certifiedFrom.getTime() - CAPTURE_CLOCK_SKEW_MS) throw implausible('is before the signer certificate was valid');
}
