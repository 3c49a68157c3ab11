import { randomUUID } from 'node:crypto';
import type { EventStore, SqlDriver } from '@registo/event-store';
import { CommandRejected, redriveSync } from '@registo/producers';
import { SYNC_STATUS_DDL, listSyncs } from '@registo/projections';
import { type ExternalSystem, RegistoError } from '@registo/schemas';

export interface RedriveFilter {
  system?: ExternalSystem;
  syncId?: string;
}

export interface RedriveResult {
  redriveId: string;
  redriven: string[];
  /** Already redriven by this command (a retried request), or no longer dead-lettered. */
  skipped: Array<{ syncId: string; reason: string }>;
}

/**
 * Redrive is a command, and so an event: each dead-lettered sync that matches gets a
 * `SyncRedriven`, which the sync consumer for its system performs again (with the same
 * idempotency key, so nothing is applied twice). By id, the sync's own stream decides; for
 * "all" and "by system", the `sync_status` read model lists the dead letters.
 */
export async function redriveSyncs(
  store: EventStore,
  db: SqlDriver,
  filter: RedriveFilter,
  by: { id: string; role: string },
  options: { redriveId?: string; onProgress?: (done: number, total: number) => void } = {},
): Promise<RedriveResult> {
  const redriveId = options.redriveId ?? randomUUID();
  await db.migrate(SYNC_STATUS_DDL);
  const ids = filter.syncId ? [filter.syncId] : (await listSyncs(db, { status: 'DEAD_LETTERED', ...(filter.system && { system: filter.system }) })).map((s) => s.syncId);
  const result: RedriveResult = { redriveId, redriven: [], skipped: [] };
  for (const [i, syncId] of ids.entries()) {
    const system = (filter.system ?? syncId.split('.')[0]!.toUpperCase()) as ExternalSystem;
    try {
      if (await redriveSync(store, syncId, system, redriveId, by)) result.redriven.push(syncId);
      else result.skipped.push({ syncId, reason: 'already redriven by this command' });
    } catch (e) {
      if (!(e instanceof CommandRejected)) throw e;
      // Asked by id: say why not. In bulk: the read model was behind (it succeeded or was redriven meanwhile).
      if (filter.syncId) {
        if (e.reason === 'SYNC_NOT_FOUND') throw new RegistoError('NOT_FOUND', `no sync ${syncId}`, { syncId });
        throw e;
      }
      result.skipped.push({ syncId, reason: e.reason });
    }
    options.onProgress?.(i + 1, ids.length);
  }
  return result;
}
