import type { PacketType, Residency } from '@registo/schemas';

/*
 * What a packet's content means for the register, in one place: who is a citizen, which
 * number anchors a person in the register, which packets name an identity. Intake runs
 * `packetContentIssues` while the packet is parsed (infra only parses: it is handed these
 * rules), so a packet that breaks one is refused at the door as PACKET_SCHEMA_INVALID.
 */

/** São Tomé and Príncipe: its nationals are the register's citizens; everyone else a foreigner. */
export const CITIZEN_NATIONALITY = 'STP';

export function residencyOfNationality(nationality: string): Residency {
  return nationality === CITIZEN_NATIONALITY ? 'CITIZEN' : 'FOREIGNER';
}

/** A NEW packet brings a person in (the UIN is allocated later); the others are about an identity and name its UIN. */
export const namesIdentity = (packetType: PacketType): boolean => packetType !== 'NEW';

/** The fields of a packet the rules read. */
export interface PacketFacts {
  packetType: PacketType;
  uin?: string | undefined;
  demographics: { nationality: string; civilRegistryNumber?: string | undefined; residencePermitNumber?: string | undefined };
}

/**
 * The number that anchors a person in the register: a citizen's civil-registry number, a
 * foreigner's residence-permit number (prefixed, so the two kinds never collide).
 */
export function anchorNumberOf(residency: Residency, d: PacketFacts['demographics']): string | null {
  const number = residency === 'CITIZEN' ? d.civilRegistryNumber : d.residencePermitNumber && `permit:${d.residencePermitNumber}`;
  return number || null;
}

export interface PacketIssue {
  path: string[];
  message: string;
}

/** The packet-content rules a packet breaks (none: it may be accepted, as far as they go). */
export function packetContentIssues(p: PacketFacts): PacketIssue[] {
  const issues: PacketIssue[] = [];
  if (!namesIdentity(p.packetType) && p.uin !== undefined) issues.push({ path: ['uin'], message: 'a NEW packet has no UIN yet' });
  if (namesIdentity(p.packetType) && p.uin === undefined) issues.push({ path: ['uin'], message: `a ${p.packetType} packet names the UIN it is about` });
  const d = p.demographics;
  const citizen = residencyOfNationality(d.nationality) === 'CITIZEN';
  if (citizen && d.civilRegistryNumber === undefined) issues.push({ path: ['demographics', 'civilRegistryNumber'], message: 'required for a citizen' });
  if (!citizen && d.residencePermitNumber === undefined) issues.push({ path: ['demographics', 'residencePermitNumber'], message: 'required for a foreigner' });
  return issues;
}

/** Why an enrollment cannot update the identity it names. */
export interface UpdateTargetRefusal {
  code: 'UIN_REQUIRED' | 'UIN_UNKNOWN' | 'IDENTITY_ERASED';
  reason: string;
}

/**
 * Whether a packet that names an identity may update it: it must name a UIN, the identity must
 * exist (`identity` null: there is none) and still hold its data. Null when it may, as far as
 * what is known yet goes (`identity` undefined: not looked up yet).
 */
export function updateTargetRefusal(packetType: PacketType | null, uin: string | undefined, identity?: { erased: boolean } | null): UpdateTargetRefusal | null {
  if (!uin) return { code: 'UIN_REQUIRED', reason: `a ${packetType} packet must name the identity it updates` };
  if (identity === null) return { code: 'UIN_UNKNOWN', reason: `there is no identity ${uin} to update` };
  if (identity?.erased) return { code: 'IDENTITY_ERASED', reason: `identity ${uin} has been erased` };
  return null;
}
