import { RegistoError, isAdminUnit } from '@registo/schemas';
import { type EnrollmentPacket, type PacketContentRules, enrollmentPacketSchema } from './content.js';

export const DEFAULT_QUALITY_THRESHOLD = 40;
/** Registration clients keep their own clocks; a capture this far ahead of ours is still believed. */
export const CAPTURE_CLOCK_SKEW_MS = 5 * 60_000;
export const EARLIEST_BIRTH_DATE = '1900-01-01';

export interface ContentCheckOptions {
  now?: Date;
  qualityThreshold?: number;
  /** When the signer certificate became valid: a capture cannot have started before it. */
  certifiedFrom?: Date;
  /** The register's content rules (producers' packetContentIssues); none when only the shape is checked. */
  rules?: PacketContentRules;
}

/**
 * The packet content as the platform accepts it: the schema first (PACKET_SCHEMA_INVALID),
 * then dates (PACKET_IMPOSSIBLE_DATE, then PACKET_CAPTURED_BEFORE_CERTIFICATE), administrative
 * units (PACKET_UNKNOWN_ADMIN_UNIT) and biometric quality (PACKET_QUALITY_TOO_LOW), in that order.
 */
export function validatePacketContent(value: unknown, options: ContentCheckOptions = {}): EnrollmentPacket {
  const parsed = enrollmentPacketSchema(options.rules).safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 20).flatMap((i) => {
      const at = i.path.map(String);
      // An extra field is reported on its parent; name the field itself.
      const paths = i.code === 'unrecognized_keys' ? i.keys.map((k) => [...at, k].join('.')) : [at.join('.') || '(root)'];
      return paths.map((path) => ({ path, message: i.message }));
    });
    const paths = [...new Set(issues.map((i) => i.path))].join(', ');
    throw new RegistoError('PACKET_SCHEMA_INVALID', `packet does not match the schema at: ${paths}`, { issues });
  }
  const packet = parsed.data;
  checkDates(packet, options.now ?? new Date(), options.certifiedFrom);
  checkAdminUnits(packet);
  checkQuality(packet, options.qualityThreshold ?? DEFAULT_QUALITY_THRESHOLD);
  return packet;
}

/** True when `yyyy-mm-dd` names a day that exists (no 2023-02-30, no month 13). */
export function isCalendarDate(date: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years 0-99 as 1900-1999
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** The instant an ISO timestamp names, or undefined when a field is out of range. */
export function parseTimestamp(ts: string): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|([+-])(\d{2}):(\d{2}))$/.exec(ts);
  if (!m || !isCalendarDate(m[1]!)) return undefined;
  const [h, min, s] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (h > 23 || min > 59 || s > 59) return undefined;
  if (m[5] !== undefined && (Number(m[6]) > 14 || Number(m[7]) > 59)) return undefined;
  const t = new Date(ts);
  return Number.isNaN(t.getTime()) ? undefined : t;
}

// Messages and details name fields and rules, never the values: a refusal is read back by
// registration clients, exported to auditors and outlives the erasure of the sealed data.
function impossible(field: string, rule: string): RegistoError {
  return new RegistoError('PACKET_IMPOSSIBLE_DATE', `${field} ${rule}`, { field });
}

function checkDates(p: EnrollmentPacket, now: Date, certifiedFrom: Date | undefined): void {
  const started = parseTimestamp(p.capture.startedAt);
  if (!started) throw impossible('capture.startedAt', 'is not a real instant');
  const completed = parseTimestamp(p.capture.completedAt);
  if (!completed) throw impossible('capture.completedAt', 'is not a real instant');
  if (completed < started) throw impossible('capture.completedAt', 'is before capture.startedAt');
  if (completed.getTime() > now.getTime() + CAPTURE_CLOCK_SKEW_MS) throw impossible('capture.completedAt', 'is in the future');
  const dob = p.demographics.dateOfBirth;
  const field = 'demographics.dateOfBirth';
  if (!isCalendarDate(dob)) throw impossible(field, 'is not a calendar date');
  if (dob < EARLIEST_BIRTH_DATE) throw impossible(field, `is before ${EARLIEST_BIRTH_DATE}`);
  // Compared as UTC days: a person born today (anywhere) is not refused.
  if (dob > now.toISOString().slice(0, 10)) throw impossible(field, 'is in the future');
  if (dob > completed.toISOString().slice(0, 10)) throw impossible(field, 'is after the capture');
  // Possible dates, then whether this device can have made them.
  if (certifiedFrom !== undefined && started.getTime() < certifiedFrom.getTime() - CAPTURE_CLOCK_SKEW_MS) {
    throw new RegistoError('PACKET_CAPTURED_BEFORE_CERTIFICATE', 'capture.startedAt is before the signer certificate was valid', {
      field: 'capture.startedAt',
    });
  }
}

function checkAdminUnits(p: EnrollmentPacket): void {
  const { address, placeOfBirth } = p.demographics;
  const unknown = (field: string) =>
    new RegistoError('PACKET_UNKNOWN_ADMIN_UNIT', `${field} is not a district of São Tomé and Príncipe`, { field });
  if (!isAdminUnit(address.district)) throw unknown('demographics.address.district');
  if (placeOfBirth !== undefined && !isAdminUnit(placeOfBirth)) throw unknown('demographics.placeOfBirth');
}

function checkQuality(p: EnrollmentPacket, threshold: number): void {
  const low = p.biometrics.filter((b) => b.quality < threshold).map((b) => `${b.modality}/${b.position}`);
  if (low.length > 0) {
    throw new RegistoError('PACKET_QUALITY_TOO_LOW', `biometric quality below ${threshold}: ${low.join(', ')}`, {
      threshold,
      captures: low,
    });
  }
}
