import { z } from 'zod';
import type { PacketType } from '@registo/schemas';
import { type TextKind, checkText } from '@registo/base';

/** `<centre:5>-<device sequence:5>-<yyyymmddhhmmss>`, e.g. `10031-00042-20261122093015`. */
export const REG_ID_PATTERN = /^\d{5}-\d{5}-\d{14}$/;

export const PACKET_DOCUMENT_TYPES = [
  'BIRTH_CERTIFICATE',
  'PASSPORT',
  'RESIDENCE_PERMIT',
  'PROOF_OF_ADDRESS',
  'NATIONAL_ID_CARD',
  'MARRIAGE_CERTIFICATE',
  'DEATH_CERTIFICATE',
  'COURT_ORDER',
  'OTHER',
] as const;

const PACKET_TYPE_VALUES = ['NEW', 'UPDATE', 'LOST', 'CORRECTION'] as const satisfies readonly PacketType[];

const BIOMETRIC_MODALITIES = ['FINGER', 'FACE', 'IRIS'] as const;

// Shapes only: whether a date exists on the calendar, or lies in the future, is a semantic
// check (PACKET_IMPOSSIBLE_DATE), not a schema violation.
const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP_SHAPE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REFERENCE = /^[A-Za-z0-9][A-Za-z0-9/._ -]*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Human text: the shared check (NFC, then the field kind's characters); the packet carries the NFC form on. */
const text = (kind: TextKind, max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .transform((raw, ctx) => {
      const checked = checkText(raw, kind);
      if (checked.ok) return checked.value;
      ctx.addIssue({ code: 'custom', message: checked.message, params: { textProblem: checked.problem } });
      return z.NEVER;
    });
const identifier = z.string().min(1).max(64).regex(IDENTIFIER);
const reference = z.string().min(1).max(64).regex(REFERENCE);
const timestamp = z.string().max(40).regex(TIMESTAMP_SHAPE, 'not an ISO 8601 timestamp with an offset');

const address = z.strictObject({
  district: text('place', 64),
  locality: text('place', 100),
  line: text('place', 200).optional(),
});

const demographics = z.strictObject({
  givenNames: text('name', 100),
  surname: text('name', 100),
  dateOfBirth: z.string().regex(DATE_SHAPE, 'not a YYYY-MM-DD date'),
  sex: z.enum(['M', 'F']),
  nationality: z.string().regex(/^[A-Z]{3}$/, 'not an ISO 3166-1 alpha-3 code'),
  address,
  placeOfBirth: text('place', 64).optional(),
  motherName: text('name', 200).optional(),
  fatherName: text('name', 200).optional(),
  civilRegistryNumber: reference.optional(),
  residencePermitNumber: reference.optional(),
});

const document = z.strictObject({
  type: z.enum(PACKET_DOCUMENT_TYPES),
  reference,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'not a lowercase hex SHA-256'),
});

const biometric = z.strictObject({
  modality: z.enum(BIOMETRIC_MODALITIES),
  position: z.string().regex(/^[A-Z][A-Z_]{1,31}$/),
  format: z.literal('SYNTHETIC'),
  // A packet is at most a few MiB; one template may not take all of it.
  template: z.string().min(4).max(256 * 1024).regex(BASE64, 'not base64'),
  quality: z.number().int().min(0).max(100),
});

/**
 * A packet's content rules beyond its shape (who is a citizen, which packets name a UIN) are
 * the register's, not the parser's: the caller hands them in (producers' packetContentIssues)
 * and they are reported like the schema's own (PACKET_SCHEMA_INVALID).
 */
export type PacketContentRules = (packet: EnrollmentPacket) => ReadonlyArray<{ path: readonly string[]; message: string }>;

const packetShape = z.strictObject({
  regId: z.string().regex(REG_ID_PATTERN, 'not <centre:5>-<sequence:5>-<yyyymmddhhmmss>'),
  packetType: z.enum(PACKET_TYPE_VALUES),
  uin: z.string().regex(/^(\d{10}|\d{12})$/, 'not a UIN').optional(),
  centreId: identifier,
  operatorId: identifier,
  deviceId: identifier,
  capture: z.strictObject({ startedAt: timestamp, completedAt: timestamp }),
  demographics,
  documents: z.array(document).max(20),
  biometrics: z.array(biometric).min(1).max(20),
});

export type EnrollmentPacket = z.infer<typeof packetShape>;

const NO_RULES: PacketContentRules = () => [];
const schemas = new WeakMap<PacketContentRules, ReturnType<typeof withRules>>();

/** The packet schema, with the caller's content rules run where the schema ties fields together (built once per rule set). */
export function enrollmentPacketSchema(rules: PacketContentRules = NO_RULES): ReturnType<typeof withRules> {
  let schema = schemas.get(rules);
  if (!schema) schemas.set(rules, (schema = withRules(rules)));
  return schema;
}

function withRules(rules: PacketContentRules) {
  return packetShape.superRefine((p, ctx) => {
    // Rules that tie fields together; still the schema's business, so still PACKET_SCHEMA_INVALID.
    for (const issue of rules(p)) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
    const seen = new Set<string>();
    p.biometrics.forEach((b, i) => {
      const key = `${b.modality}/${b.position}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['biometrics', i], message: `${key} captured twice` });
      seen.add(key);
    });
  });
}
