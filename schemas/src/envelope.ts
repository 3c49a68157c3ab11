import { v7 as uuidv7, validate as uuidValidate } from 'uuid';
import avro from 'avsc';
import { canonicalJson, sha256Hex } from './canonical.js';
import { RegistoError, IntegrityError } from './errors.js';
import { parseStreamId } from './stream-id.js';
import { type SchemaCatalog, schemaCatalog } from './catalog.js';

export interface Actor {
  id: string;
  role: string;
}

export interface EventMetadata {
  correlationId: string;
  causationId: string | null;
  actor: Actor;
  occurredAt: string;
  recordedAt: string;
  traceparent: string | null;
}

/** An event as stored and as published (DESIGN §2). */
export interface EventEnvelope<TData = Record<string, unknown>, TType extends string = string> {
  eventId: string;
  streamId: string;
  revision: number;
  position: number;
  type: TType;
  schemaVersion: number;
  data: TData;
  metadata: EventMetadata;
  hash: string;
}

/** What a caller hands to `append`: the store fills in the rest. */
export interface NewEvent<TData = Record<string, unknown>, TType extends string = string> {
  type: TType;
  data: TData;
  eventId?: string;
  schemaVersion?: number;
  metadata?: Partial<Omit<EventMetadata, 'recordedAt'>>;
}

/** An envelope before the store has given it a position. */
export type UnpositionedEnvelope = Omit<EventEnvelope, 'position'>;

/** Largest canonical size of one event: the store refuses anything bigger. */
export const MAX_EVENT_BYTES = 1024 * 1024;

const SYSTEM_ACTOR: Actor = { id: 'registo', role: 'system' };

/** The bytes the hash covers: the envelope without `hash` and `position`, canonicalised. */
export function hashInput(e: Omit<EventEnvelope, 'hash' | 'position'> | EventEnvelope): string {
  return canonicalJson({
    eventId: e.eventId,
    streamId: e.streamId,
    revision: e.revision,
    type: e.type,
    schemaVersion: e.schemaVersion,
    data: e.data,
    metadata: e.metadata,
  });
}

export function computeHash(e: Omit<EventEnvelope, 'hash' | 'position'> | EventEnvelope): string {
  return sha256Hex(hashInput(e));
}

/** Throws IntegrityError naming the position if the stored hash does not match the content. */
export function verifyEnvelope(e: EventEnvelope): void {
  let computed: string;
  try {
    computed = computeHash(e);
  } catch {
    computed = '(content cannot be canonicalised)';
  }
  if (computed !== e.hash) throw new IntegrityError(e.position, e.eventId, e.hash, computed);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks data against the event type's Avro schema and returns it normalised (defaults
 * filled, nothing undeclared) so that an Avro round trip gives back the same JSON and hash.
 */
export function validateEventData(
  type: string,
  schemaVersion: number | undefined,
  data: unknown,
  catalog: SchemaCatalog = schemaCatalog(),
): { data: Record<string, unknown>; schemaVersion: number; category: string } {
  const schema = catalog.get(type, schemaVersion);
  if (!isPlainObject(data)) {
    throw new RegistoError('EVENT_DATA_INVALID', `${type}: data must be an object`, { type, paths: [''] });
  }
  const paths: string[] = [];
  const ok = schema.avro.isValid(data, {
    noUndeclaredFields: true,
    errorHook: (path: string[]) => paths.push(path.join('.') || '(root)'),
  });
  if (!ok) {
    throw new RegistoError('EVENT_DATA_INVALID', `${type} v${schema.version}: invalid at ${paths.join(', ')}`, {
      type,
      schemaVersion: schema.version,
      paths,
    });
  }
  const bad = findUnstorableString(data, '');
  if (bad !== undefined) {
    throw new RegistoError('EVENT_DATA_INVALID', `${type}: text at ${bad || '(root)'} holds a NUL or an unpaired surrogate`, {
      type,
      paths: [bad],
    });
  }
  // Only data that leaves out a field with a default needs filling in (and a deep copy).
  const normalised = hasEveryField(schema.avro, data)
    ? data
    : (JSON.parse(JSON.stringify(schema.avro.clone(data))) as Record<string, unknown>);
  return { data: normalised, schemaVersion: schema.version, category: schema.category };
}

/** True when no record field (at any depth) is left out, i.e. no default needs filling in. */
function hasEveryField(type: avro.Type, value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (type instanceof avro.types.RecordType) {
    const v = value as Record<string, unknown>;
    return type.fields.every((f) => v[f.name] !== undefined && hasEveryField(f.type, v[f.name]));
  }
  if (type instanceof avro.types.ArrayType) return (value as unknown[]).every((x) => hasEveryField(type.itemsType, x));
  if (type instanceof avro.types.MapType) return Object.values(value).every((x) => hasEveryField(type.valuesType, x));
  if (type instanceof avro.types.UnwrappedUnionType) {
    const branch = type.types.find((t) => t instanceof avro.types.RecordType && t.isValid(value));
    return branch === undefined || hasEveryField(branch, value);
  }
  return true;
}

/** PostgreSQL's jsonb (and many consumers) refuse NUL characters and unpaired UTF-16 surrogates. */
function findUnstorableString(v: unknown, path: string): string | undefined {
  if (typeof v === 'string') return v.includes('\0') || !v.isWellFormed() ? path : undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = findUnstorableString(v[i], `${path}.${i}`);
      if (bad !== undefined) return bad;
    }
  } else if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      const bad = findUnstorableString(x, path ? `${path}.${k}` : k);
      if (bad !== undefined) return bad;
    }
  }
  return undefined;
}

function checkString(field: string, v: unknown, nullable: boolean): void {
  if (v === null && nullable) return;
  if (typeof v !== 'string' || v.length === 0 || v.length > 512 || v.includes('\0') || !v.isWellFormed()) {
    throw new RegistoError('EVENT_METADATA_INVALID', `metadata.${field} must be a non-empty string of at most 512 characters`, {
      field,
    });
  }
}

function checkTimestamp(field: string, v: string): void {
  if (Number.isNaN(Date.parse(v))) {
    throw new RegistoError('EVENT_METADATA_INVALID', `metadata.${field} is not an RFC 3339 timestamp`, { field });
  }
}

export interface PrepareContext {
  streamId: string;
  /** Revision this event will have if the append succeeds. */
  revision: number;
  recordedAt: string;
  defaults?: Partial<Omit<EventMetadata, 'recordedAt'>>;
  catalog?: SchemaCatalog;
}

/**
 * Turns a NewEvent into a full envelope (without position): validates type, category, data,
 * metadata and size, fills ids and timestamps, computes the hash. Pure apart from the clock-free
 * UUIDv7 it draws when the caller gave no eventId.
 */
export function prepareEnvelope(input: NewEvent, ctx: PrepareContext): UnpositionedEnvelope {
  const { category } = parseStreamId(ctx.streamId);
  if (!isPlainObject(input)) throw new RegistoError('EVENT_DATA_INVALID', 'event must be an object', {});
  if (typeof input.type !== 'string') throw new RegistoError('EVENT_TYPE_UNKNOWN', 'event type must be a string', {});
  const catalog = ctx.catalog ?? schemaCatalog();
  const checked = validateEventData(input.type, input.schemaVersion, input.data, catalog);
  if (checked.category !== category) {
    throw new RegistoError(
      'EVENT_TYPE_CATEGORY_MISMATCH',
      `${input.type} belongs to category '${checked.category}', not to stream ${ctx.streamId}`,
      { type: input.type, streamId: ctx.streamId, expectedCategory: checked.category },
    );
  }
  const eventId = input.eventId ?? uuidv7();
  if (typeof eventId !== 'string' || !uuidValidate(eventId)) {
    throw new RegistoError('EVENT_ID_INVALID', `eventId '${String(eventId)}' is not a UUID`, { eventId: String(eventId) });
  }
  const m = { ...ctx.defaults, ...(isPlainObject(input.metadata) ? input.metadata : {}) };
  const occurredAt = m.occurredAt ?? ctx.recordedAt;
  const metadata: EventMetadata = {
    correlationId: m.correlationId ?? eventId,
    causationId: m.causationId ?? null,
    actor: m.actor ?? SYSTEM_ACTOR,
    occurredAt,
    recordedAt: ctx.recordedAt,
    traceparent: m.traceparent ?? null,
  };
  checkString('correlationId', metadata.correlationId, false);
  checkString('causationId', metadata.causationId, true);
  checkString('traceparent', metadata.traceparent, true);
  checkString('occurredAt', metadata.occurredAt, false);
  checkTimestamp('occurredAt', metadata.occurredAt);
  if (!isPlainObject(metadata.actor)) throw new RegistoError('EVENT_METADATA_INVALID', 'metadata.actor must be {id, role}', {});
  checkString('actor.id', metadata.actor.id, false);
  checkString('actor.role', metadata.actor.role, false);
  metadata.actor = { id: metadata.actor.id, role: metadata.actor.role };

  const envelope: Omit<UnpositionedEnvelope, 'hash'> = {
    eventId: eventId.toLowerCase(),
    streamId: ctx.streamId,
    revision: ctx.revision,
    type: input.type,
    schemaVersion: checked.schemaVersion,
    data: checked.data,
    metadata,
  };
  let canonical: string;
  try {
    canonical = hashInput(envelope);
  } catch (e) {
    throw new RegistoError('EVENT_DATA_INVALID', `${input.type}: data cannot be canonicalised (${(e as Error).message})`, {
      type: input.type,
    });
  }
  const size = Buffer.byteLength(canonical);
  if (size > MAX_EVENT_BYTES) {
    throw new RegistoError('EVENT_TOO_LARGE', `${input.type} is ${size} bytes; the limit is ${MAX_EVENT_BYTES}`, {
      type: input.type,
      bytes: size,
      limit: MAX_EVENT_BYTES,
    });
  }
  return { ...envelope, hash: sha256Hex(canonical) };
}
