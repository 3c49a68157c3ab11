import type { EventStore } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import { type CategoryEvent, type EventOf, type IdentityEventData, type RegistoError, isRegistoError } from '@registo/schemas';
import { fold } from '../../decider.js';
import { type IdentityState, identityDecider, identityStreamId } from '../../deciders/identity.js';
import type { IdentityRecord } from '../../enrollment/personal-data.js';
import { readStreamOf } from '../../typed-read.js';

export type StoredIdentityEvent = CategoryEvent<'identity'>;

/** The identity record as last sealed, or why it cannot be read: the subject's key is destroyed (erasure). */
export type OpenedIdentityRecord = { erased: false; record: IdentityRecord } | { erased: true; error: RegistoError };

/** One identity as its stream tells it, with its latest record opened on demand. */
export interface LoadedIdentity {
  uin: string;
  /** The stream as read (typed): hand it on as a command's history. */
  history: StoredIdentityEvent[];
  state: IdentityState;
  /** The subject its data is sealed under (the one of IdentityCreated, kept by every update). */
  subjectId: string;
  /** The IdentityCreated or IdentityUpdated event whose sealed record is the latest. */
  latest: EventOf<Pick<IdentityEventData, 'IdentityCreated' | 'IdentityUpdated'>>;
  /** Opens the latest record (once; later calls answer the same). SUBJECT_KEY_DESTROYED is an outcome, any other failure throws. */
  openRecord(): Promise<OpenedIdentityRecord>;
}

export interface IdentityReadDeps {
  store: Pick<EventStore, 'readStream'>;
  sealer: Pick<SubjectSealer, 'open'>;
}

/** Reads identity `uin`; null when there is none (no IdentityCreated). */
export async function loadIdentity(deps: IdentityReadDeps, uin: string): Promise<LoadedIdentity | null> {
  return identityFrom(deps.sealer, await readStreamOf(deps.store, 'identity', identityStreamId(uin)));
}

/**
 * The identity as these events (its stream, or a prefix of it: the identity as it stood at one
 * revision) tell it; null when they hold no IdentityCreated.
 */
export function identityFrom(sealer: Pick<SubjectSealer, 'open'>, history: StoredIdentityEvent[]): LoadedIdentity | null {
  const created = history.find((e) => e.type === 'IdentityCreated');
  if (!created) return null;
  let latest: LoadedIdentity['latest'] = created;
  for (const e of history) if (e.type === 'IdentityCreated' || e.type === 'IdentityUpdated') latest = e;
  let opened: Promise<OpenedIdentityRecord> | undefined;
  const open = async (): Promise<OpenedIdentityRecord> => {
    try {
      return { erased: false, record: await sealer.open<IdentityRecord>(latest.data.sealed) };
    } catch (e) {
      if (isRegistoError(e, 'SUBJECT_KEY_DESTROYED')) return { erased: true, error: e };
      throw e;
    }
  };
  return {
    uin: created.data.uin,
    history,
    state: fold(identityDecider, history),
    subjectId: created.data.sealed.subjectId,
    latest,
    openRecord: () => (opened ??= open()),
  };
}
