import type { EventStore } from '@registo/event-store';
import type { ExternalSystem } from '@registo/schemas';
import { syncHandler } from '../handlers.js';

/**
 * One dead-lettered sync performed again: `SyncRedriven`, which the sync consumer for its system
 * acts on (with the same idempotency key, so nothing is applied twice). False when this redrive
 * had already been recorded (a retried request); the sync decider refuses a sync that is not dead-lettered.
 */
export async function redriveSync(store: EventStore, syncId: string, system: ExternalSystem, redriveId: string, by: { id: string; role: string }): Promise<boolean> {
  const r = await syncHandler(store, syncId, { type: 'RedriveSync', syncId, system, redriveId, by: by.id }, { metadata: { correlationId: `redrive-${redriveId}`, actor: by } });
  return r.events.length > 0;
}
