import type { Logger } from '@registo/base';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import type { ExternalChange, ExternalSyncPort, SyncSystem } from '@registo/external';
import {
  CommandRejected,
  changedFields,
  fold,
  applySystemChangeToIdentity,
  identityStatusAfterPermit,
  inboundSyncId,
  mayAnnounce,
  recordSyncStep,
  requestSyncCommand,
  loadIdentity,
  readStreamWith,
  syncDecider,
  syncStreamId,
} from '@registo/producers';
import { isRegistoError } from '@registo/schemas';

/**
 * Inbound sync: SIGA's civil-status changes (deaths, name corrections) and Immigration's
 * permit changes (expiry, revocation) become commands on identities, with the system as
 * their source. A change arrives by webhook and again by polling (or twice by webhook): its
 * sync stream `sync-<system>.in.<changeId>` makes the second arrival a no-op.
 */

export type ChangeOutcome = 'STATUS_CHANGED' | 'UPDATED' | 'ALREADY_APPLIED' | 'NO_CHANGE' | 'IDENTITY_UNKNOWN' | 'SUBJECT_ERASED' | 'UNSUPPORTED';

export const SYNC_CURSORS_DDL = `
CREATE TABLE IF NOT EXISTS registo_sync_cursors (
  system text PRIMARY KEY,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);`;

export interface InboundSyncDeps {
  store: EventStore;
  sealer: SubjectSealer;
  db: SqlDriver;
  logger?: Logger;
}

export interface InboundSync {
  migrate(): Promise<void>;
  apply(system: SyncSystem, change: ExternalChange, via: 'WEBHOOK' | 'POLL'): Promise<ChangeOutcome>;
  /** Reads the change feed from the stored cursor to its end; returns how many changes it applied. */
  poll(system: SyncSystem, port: ExternalSyncPort): Promise<number>;
}

export function createInboundSync(deps: InboundSyncDeps): InboundSync {
  const actor = (system: SyncSystem) => ({ id: `sync-${system.toLowerCase()}`, role: 'system' });

  async function apply(system: SyncSystem, change: ExternalChange, via: 'WEBHOOK' | 'POLL'): Promise<ChangeOutcome> {
    const syncId = inboundSyncId(system, change.changeId);
    const stream = syncStreamId(syncId);
    const metadata = { correlationId: stream, actor: actor(system) };
    const state = fold(syncDecider, await readStreamWith(deps.store, stream, syncDecider.accepts, 'sync job'));
    if (state.status === 'SUCCEEDED') return 'ALREADY_APPLIED';
    const job = { syncId, system, direction: 'INBOUND' as const, operation: change.type, uin: change.uin, fields: Object.keys(change.details).sort() };
    // Fields by name only: the corrected values themselves go into the sealed identity record.
    await recordSyncStep(deps.store, requestSyncCommand(job, { key: change.changeId, sourceType: `${system}:${via}` }), { metadata });
    const started = performance.now();
    let outcome: ChangeOutcome;
    try {
      outcome = await perform(deps, system, change, metadata);
    } catch (e) {
      await recordSyncStep(deps.store, { type: 'RecordSyncFailure', syncId, system, code: isRegistoError(e) ? e.code : 'INTERNAL', reason: (e as Error).message.slice(0, 1000), retryable: true }, { metadata });
      throw e;
    }
    if (outcome === 'IDENTITY_UNKNOWN' || outcome === 'UNSUPPORTED') {
      const reason = outcome === 'IDENTITY_UNKNOWN' ? `no identity ${change.uin} in the register` : `change type ${change.type} is not in the agreement`;
      await recordSyncStep(deps.store, { type: 'RecordSyncFailure', syncId, system, code: `SYNC_${outcome}`, reason, retryable: false }, { metadata });
      await recordSyncStep(deps.store, { type: 'DeadLetterSync', syncId, system, code: `SYNC_${outcome}`, reason }, { metadata });
      return outcome;
    }
    await recordSyncStep(deps.store, { type: 'RecordSyncSuccess', syncId, system, durationMs: Math.round(performance.now() - started), replayed: false, outcome }, { metadata });
    return outcome;
  }

  return {
    migrate: () => deps.db.migrate(SYNC_CURSORS_DDL),
    apply,
    async poll(system, port) {
      const rows = await deps.db.query<{ last_seq: string }>('SELECT last_seq FROM registo_sync_cursors WHERE system = $1', [system]);
      let after = Number(rows[0]?.last_seq ?? 0);
      let applied = 0;
      for (;;) {
        const page = await port.changes(after, 200);
        if (page.changes.length === 0) break;
        for (const change of page.changes) {
          await apply(system, change, 'POLL');
          applied++;
          after = change.seq;
        }
        // The cursor moves after the changes are applied: a crash re-reads a page, and re-applying is a no-op.
        await deps.db.query(
          `INSERT INTO registo_sync_cursors (system, last_seq) VALUES ($1, $2) ON CONFLICT (system) DO UPDATE SET last_seq = GREATEST(registo_sync_cursors.last_seq, EXCLUDED.last_seq), updated_at = now()`,
          [system, after],
        );
      }
      return applied;
    },
  };
}

/** What one change does to its identity, by the agreement with the system that sent it. */
async function perform(deps: InboundSyncDeps, system: SyncSystem, change: ExternalChange, metadata: { correlationId: string; actor: { id: string; role: string } }): Promise<ChangeOutcome> {
  const identity = await loadIdentity(deps, change.uin);
  if (!identity) return 'IDENTITY_UNKNOWN';
  // The agreement is per system (SIGA cannot block a foreigner's identity).
  if (!mayAnnounce(system, change.type)) return 'UNSUPPORTED';
  const status = async (to: 'DECEASED' | 'DEACTIVATED' | 'BLOCKED', reason: string): Promise<ChangeOutcome> => {
    try {
      const r = await applySystemChangeToIdentity(deps.store, { type: 'ChangeIdentityStatus', uin: change.uin, to, reason, source: system }, { metadata, history: identity.history });
      return r.events.length > 0 ? 'STATUS_CHANGED' : 'NO_CHANGE';
    } catch (e) {
      // A deceased identity's status is final: a later permit change has nothing left to do.
      if (e instanceof CommandRejected && e.reason === 'IDENTITY_DECEASED') return 'NO_CHANGE';
      throw e;
    }
  };
  switch (change.type) {
    case 'DECEASED':
      return status('DECEASED', `${system} ${change.changeId}: death registered${change.details.dateOfDeath ? ` on ${change.details.dateOfDeath}` : ''}`);
    case 'PERMIT_EXPIRED':
    case 'PERMIT_REVOKED':
      return status(identityStatusAfterPermit(change.type === 'PERMIT_EXPIRED' ? 'EXPIRED' : 'REVOKED'), `${system} ${change.changeId}: residence permit ${change.type === 'PERMIT_EXPIRED' ? 'expired' : 'revoked'}`);
    case 'NAME_CORRECTED': {
      const opened = await identity.openRecord();
      if (opened.erased) return 'SUBJECT_ERASED';
      const { record } = opened;
      const corrected = { ...record.demographics, ...(change.details.givenNames && { givenNames: change.details.givenNames }), ...(change.details.surname && { surname: change.details.surname }) };
      const changed = changedFields(record.demographics, corrected);
      if (changed.length === 0) return 'NO_CHANGE';
      const sealed = await deps.sealer.seal(identity.subjectId, { ...record, demographics: corrected });
      try {
        // The correction is named after the change, so a second arrival is the same update.
        const r = await applySystemChangeToIdentity(deps.store, { type: 'UpdateIdentity', uin: change.uin, regId: `sync-${change.changeId}`, changedFields: changed, sealed }, { metadata });
        return r.events.length > 0 ? 'UPDATED' : 'ALREADY_APPLIED';
      } catch (e) {
        if (e instanceof CommandRejected && e.reason === 'IDENTITY_ERASED') return 'SUBJECT_ERASED';
        if (e instanceof CommandRejected && e.reason === 'IDENTITY_NOT_ACTIVE') return 'NO_CHANGE';
        throw e;
      }
    }
    default:
      return 'UNSUPPORTED';
  }
}
