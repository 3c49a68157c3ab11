import type { Actor, EventEnvelope, EventMetadata } from '@registo/schemas';

/** The metadata a command's events carry when a role writes them in answer to an event. */
export type CausedMetadata = Partial<Omit<EventMetadata, 'recordedAt'>>;

/**
 * Metadata for what `actor` writes in answer to `cause`: the same correlation and trace, and
 * the cause's id as causation, so an enrollment can be followed from upload to credential.
 */
export function causedBy(cause: EventEnvelope, actor: Actor): CausedMetadata {
  return { correlationId: cause.metadata.correlationId, causationId: cause.eventId, actor: { ...actor }, ...(cause.metadata.traceparent ? { traceparent: cause.metadata.traceparent } : {}) };
}
