import { STP_ADMIN_UNITS, type EventEnvelope } from '@registo/schemas';

/**
 * Looks for the values of real people (names, dates of birth, registry and permit numbers,
 * addresses) where only sealed data may hold them: event data outside `sealed` fields, event
 * metadata, problem bodies, log lines.
 */

/** Text to search, and where it came from (for the report). */
export interface Haystack {
  where: string;
  text: string;
}

export interface Finding {
  where: string;
  value: string;
}

/**
 * Place names of the public gazetteer (districts, their seats, the islands) are no one's
 * personal data, and refusals rightly name the country ("not a district of São Tomé and
 * Príncipe"): they are not searched for even when they are a person's locality.
 */
const GAZETTEER = new Set(
  STP_ADMIN_UNITS.flatMap((u) => [u.name, u.seat, u.island]).map((n) => normalise(n)),
);

function normalise(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown): string[] {
  return typeof v === 'string' && v.length > 0 ? [v] : [];
}

/**
 * The identifying values of one person's demographics as a packet carries them. Sex,
 * nationality and district are categories shared by many and are left out.
 */
export function personalValuesOf(demographics: unknown): string[] {
  if (!isRecord(demographics)) return [];
  const d = demographics;
  const address = isRecord(d.address) ? d.address : {};
  const given = text(d.givenNames);
  const surname = text(d.surname);
  const values = [
    ...given,
    ...surname,
    ...(given.length && surname.length ? [`${given[0]} ${surname[0]}`] : []),
    ...text(d.dateOfBirth),
    ...text(d.civilRegistryNumber),
    ...text(d.residencePermitNumber),
    ...text(d.motherName),
    ...text(d.fatherName),
    ...text(address.line),
    ...text(address.locality),
  ];
  return [...new Set(values)].filter((v) => !GAZETTEER.has(normalise(v)));
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Every occurrence of a value as a whole word (so "Ana" is not found in "Analysis"), ignoring
 * case; one finding per value and haystack.
 */
export function scanForValues(haystacks: readonly Haystack[], values: Iterable<string>): Finding[] {
  const patterns = [...new Set(values)].map((value) => ({
    value,
    re: new RegExp(`(?<![\\p{L}\\p{N}])${escape(normalise(value))}(?![\\p{L}\\p{N}])`, 'u'),
  }));
  const findings: Finding[] = [];
  for (const h of haystacks) {
    const t = normalise(h.text);
    for (const p of patterns) if (p.re.test(t)) findings.push({ where: h.where, value: p.value });
  }
  return findings;
}

function isSealed(v: unknown): boolean {
  if (!isRecord(v)) return false;
  const keys = Object.keys(v).sort().join(',');
  return keys === 'alg,ciphertext,iv,keyVersion,subjectId';
}

/** A value with every sealed field replaced by a marker: what anyone reading the log can read. */
export function withoutSealed(v: unknown): unknown {
  if (isSealed(v)) return '[sealed]';
  if (Array.isArray(v)) return v.map(withoutSealed);
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutSealed(x)]));
  return v;
}

/** An event as a haystack: its stream, type, unsealed data and metadata. */
export function eventHaystack(e: Pick<EventEnvelope, 'position' | 'streamId' | 'type' | 'data' | 'metadata'>): Haystack {
  return {
    where: `event ${e.position} ${e.type} (${e.streamId})`,
    text: JSON.stringify({ data: withoutSealed(e.data), metadata: e.metadata }),
  };
}
