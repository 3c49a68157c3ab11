import type { EventEnvelope } from './envelope.js';
import { type SchemaCatalog, schemaCatalog } from './catalog.js';
import { RegistoError } from './errors.js';
import type {
  AuditEventData,
  CredentialEventData,
  EnrollmentEventData,
  EventDataMap,
  EventOf,
  TypedEnvelope,
  IdentityEventData,
  SyncEventData,
  TrustEventData,
} from './types/index.js';

/** Each stream category that holds events, with the hand-kept mirror of its event types. */
export interface CategoryEventData {
  enrollment: EnrollmentEventData;
  identity: IdentityEventData;
  credential: CredentialEventData;
  sync: SyncEventData;
  audit: AuditEventData;
  trust: TrustEventData;
}

export type EventCategory = keyof CategoryEventData;

/** A stored event of one category, discriminated by its type. */
export type CategoryEvent<C extends EventCategory> = EventOf<CategoryEventData[C]>;

/** A stored event of any category, discriminated by its type. */
export type KnownEvent = { [C in EventCategory]: CategoryEvent<C> }[EventCategory];

/** Narrows a stored event to a set of event types; the check behind it is made at run time. */
export type EventGuard<E> = (event: EventEnvelope) => event is EventEnvelope & E;

/**
 * True when the event's type and schema version are in the catalog under `category` and its
 * data is valid for that schema, i.e. it is what the category's TypeScript mirror says (the
 * mirrors are checked against the .avsc files by schemas/test/catalog.test.ts). Undeclared
 * fields are tolerated here: a reader ignores what a later writer added.
 */
export function isEventOf<C extends EventCategory>(
  category: C,
  event: EventEnvelope,
  catalog: SchemaCatalog = schemaCatalog(),
): event is EventEnvelope & CategoryEvent<C> {
  return whyNotOf(category, event, catalog) === null;
}

/** The guard `isEventOf(category, ·)`, to hand to a read. */
export function eventGuard<C extends EventCategory>(category: C, catalog?: SchemaCatalog): EventGuard<CategoryEvent<C>> {
  return (event: EventEnvelope): event is EventEnvelope & CategoryEvent<C> => isEventOf(category, event, catalog);
}

/** True when the event is of any category with events (see isEventOf). */
export function isKnownEvent(event: EventEnvelope, catalog: SchemaCatalog = schemaCatalog()): event is KnownEvent {
  if (!catalog.has(event.type, event.schemaVersion)) return false;
  const { category } = catalog.get(event.type, event.schemaVersion);
  return category !== 'access' && isEventOf(category, event, catalog);
}

/** True when the event is of this one type and valid for its schema (see isEventOf). */
export function isEventType<K extends keyof EventDataMap>(type: K, event: EventEnvelope, catalog: SchemaCatalog = schemaCatalog()): event is EventEnvelope & TypedEnvelope<K> {
  return event.type === type && isKnownEvent(event, catalog);
}

/** The event as one type (see isEventType); throws EVENT_NOT_OF_CATEGORY when it is not. */
export function expectEventType<K extends keyof EventDataMap>(type: K, event: EventEnvelope, catalog: SchemaCatalog = schemaCatalog()): TypedEnvelope<K> {
  if (isEventType(type, event, catalog)) return event;
  throw notOfCategory(type, event, event.type === type ? 'its data is not valid for its schema' : `it is ${event.type}`);
}

function whyNotOf(category: EventCategory, event: EventEnvelope, catalog: SchemaCatalog): string | null {
  if (!catalog.has(event.type, event.schemaVersion)) return `no schema for ${event.type} v${event.schemaVersion}`;
  const schema = catalog.get(event.type, event.schemaVersion);
  if (schema.category !== category) return `${event.type} belongs to category '${schema.category}'`;
  if (!schema.avro.isValid(event.data)) return `its data is not valid for ${event.type} v${schema.version}`;
  return null;
}

/**
 * Throws EVENT_NOT_OF_CATEGORY unless the event is of the category (see isEventOf); returns it
 * narrowed. For reads that expect one category (a stream, a subscription filtered by category).
 */
export function expectEventOf<C extends EventCategory>(category: C, event: EventEnvelope, catalog: SchemaCatalog = schemaCatalog()): CategoryEvent<C> {
  if (isEventOf(category, event, catalog)) return event;
  throw notOfCategory(category, event, whyNotOf(category, event, catalog) ?? 'it is not');
}

/** The error a typed read throws for a stored event that is not what the read expects. */
export function notOfCategory(expected: string, event: EventEnvelope, why: string): RegistoError {
  return new RegistoError('EVENT_NOT_OF_CATEGORY', `${event.streamId}@${event.revision} (${event.type}) is not a ${expected} event: ${why}`, {
    streamId: event.streamId,
    revision: event.revision,
    type: event.type,
    schemaVersion: event.schemaVersion,
    expected,
  });
}
