import type { EventEnvelope } from '../envelope.js';
import type { EnrollmentEventData } from './enrollment.js';
import type { IdentityEventData } from './identity.js';
import type { TrustEventData } from './trust.js';
import type { CredentialEventData } from './credential.js';
import type { AuditEventData } from './audit.js';
import type { SyncEventData } from './sync.js';

export * from './common.js';
export * from './enrollment.js';
export * from './identity.js';
export * from './trust.js';
export * from './credential.js';
export * from './audit.js';

/** Every event type with a hand-kept TS mirror, mapped to its data shape. */
export type EventDataMap = EnrollmentEventData & IdentityEventData & TrustEventData & CredentialEventData & AuditEventData & SyncEventData;
export * from './sync.js';


/** A stored event of one known type, with its data typed. */
export type TypedEnvelope<K extends keyof EventDataMap> = EventEnvelope<EventDataMap[K], K>;

/** Discriminated union of stored events over a set of types. */
export type EventOf<M> = { [K in keyof M & string]: EventEnvelope<M[K], K> }[keyof M & string];

/** Discriminated union of events to append over a set of types. */
export type NewEventOf<M> = { [K in keyof M & string]: { type: K; data: M[K] } }[keyof M & string];
