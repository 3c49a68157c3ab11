import type { EventStore } from '@registo/event-store';
import type { TrustEventData } from '@registo/schemas';
import { commandHandler } from '../../command-handler.js';
import { KEY_CEREMONY_STREAM, trustDecider } from '../../deciders/trust.js';

/** The platform's one key-ceremony stream. */
const trustHandler = commandHandler(trustDecider, (_: 'platform') => KEY_CEREMONY_STREAM);

/**
 * A key ceremony's outcome, recorded as KeyCeremonyPerformed; the trust decider records
 * nothing when the keys are those already recorded. The position of what was appended, or null.
 */
export async function recordKeyCeremony(store: EventStore, ceremony: TrustEventData['KeyCeremonyPerformed'], actor: { id: string; role: string }): Promise<number | null> {
  const recorded = await trustHandler(store, 'platform', { type: 'RecordKeyCeremony', ...ceremony }, { metadata: { actor } });
  return recorded.events[0]?.position ?? null;
}
