import {
  type EventEnvelope,
  type NewEvent,
  type UnpositionedEnvelope,
  RegistoError,
  parseStreamId,
  prepareEnvelope,
} from '@registo/schemas';

export type ExpectationKind = 'any' | 'no_stream' | 'stream_exists' | 'exact';

export interface Expectation {
  kind: ExpectationKind;
  /** For `exact`: the revision the stream must be at. */
  revision: number;
}

/** Rejects anything that is not one of the four documented kinds of expected revision. */
export function parseExpectedRevision(expected: unknown): Expectation {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') {
    return { kind: expected, revision: -1 };
  }
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) {
    return { kind: 'exact', revision: expected };
  }
  throw new RegistoError(
    'EXPECTED_REVISION_INVALID',
    `expected revision must be 'any', 'no_stream', 'stream_exists' or a revision >= 0; got ${JSON.stringify(expected) ?? String(expected)}`,
    { expected: String(expected) },
  );
}

export function describeExpectation(e: Expectation): string {
  return e.kind === 'exact' ? String(e.revision) : e.kind;
}

/**
 * Validates and hashes a whole append before anything touches storage, so that a bad event
 * anywhere in it leaves nothing written. `current` is the stream's last revision as the
 * caller believes it (-1: no stream); the events get current+1, current+2, ...
 * Event ids drawn here are kept by the caller across retries (same ids, same idempotency).
 */
export function prepareAppend(
  streamId: string,
  events: readonly NewEvent[],
  current: number,
  recordedAt: string,
): UnpositionedEnvelope[] {
  parseStreamId(streamId);
  if (!Array.isArray(events) || events.length === 0) {
    throw new RegistoError('APPEND_EMPTY', `append to ${streamId} has no events`, { streamId });
  }
  const prepared = events.map((e, i) => prepareEnvelope(e, { streamId, revision: current + 1 + i, recordedAt }));
  const ids = new Set<string>();
  for (const p of prepared) {
    if (ids.has(p.eventId)) {
      throw new RegistoError('EVENT_ID_DUPLICATED_IN_APPEND', `event id ${p.eventId} appears twice in one append`, {
        eventId: p.eventId,
      });
    }
    ids.add(p.eventId);
  }
  return prepared;
}

/** Re-numbers prepared events onto another current revision, keeping ids and timestamps. */
export function reprepare(
  streamId: string,
  prepared: readonly UnpositionedEnvelope[],
  current: number,
): UnpositionedEnvelope[] {
  return prepareAppend(
    streamId,
    prepared.map((p) => ({
      type: p.type,
      data: p.data,
      eventId: p.eventId,
      schemaVersion: p.schemaVersion,
      metadata: p.metadata,
    })),
    current,
    prepared[0]!.metadata.recordedAt,
  );
}

export function withPositions(prepared: readonly UnpositionedEnvelope[], firstPosition: number): EventEnvelope[] {
  return prepared.map((p, i) => ({ ...p, position: firstPosition + i }));
}
