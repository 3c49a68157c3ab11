import { type CategoryEvent, type EventEnvelope, expectEventOf } from '@registo/schemas';
import type { SqlTx } from '@registo/event-store';
import type { SqlHandler } from '@registo/messaging';

/**
 * Read models of the `sync` category: `sync_status` (one row per sync job: where it stands,
 * attempts, last failure, timestamps) and `sync_mismatches` (one row per reconciliation
 * mismatch, open or resolved). They feed the reconciliation report and the redrive command.
 * Each row applies an event only if it is the next revision of its stream.
 */
export const SYNC_STATUS_DDL = `
CREATE TABLE IF NOT EXISTS sync_status (
  sync_id text PRIMARY KEY,
  system text NOT NULL,
  direction text NOT NULL,
  operation text NOT NULL,
  uin text,
  source_event_id text NOT NULL,
  source_type text NOT NULL,
  status text NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  redrives int NOT NULL DEFAULT 0,
  replayed boolean NOT NULL DEFAULT false,
  outcome text,
  last_code text,
  last_reason text,
  requested_at timestamptz NOT NULL,
  succeeded_at timestamptz,
  last_failed_at timestamptz,
  dead_lettered_at timestamptz,
  redriven_at timestamptz,
  revision bigint NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sync_status_by_system ON sync_status (system, status);
CREATE TABLE IF NOT EXISTS sync_mismatches (
  mismatch_id text PRIMARY KEY,
  system text NOT NULL,
  uin text NOT NULL,
  field text NOT NULL,
  kind text NOT NULL,
  register_value text,
  external_value text,
  sealed jsonb,
  proposed_rule text,
  status text NOT NULL,
  run_id text NOT NULL,
  times_found int NOT NULL,
  found_at timestamptz NOT NULL,
  resolved_at timestamptz,
  resolution text,
  rule text,
  action text,
  resolved_by text,
  note text,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS sync_mismatches_by_system ON sync_mismatches (system, status);`;

const MISMATCH_PREFIX = 'sync-mismatch.';

async function currentRevision(tx: SqlTx, table: string, key: string, id: string): Promise<number> {
  const rows = await tx.query<{ revision: string | number }>(`SELECT revision FROM ${table} WHERE ${key} = $1 FOR UPDATE`, [id]);
  return rows[0] ? Number(rows[0].revision) : -1;
}

async function applySync(tx: SqlTx, e: CategoryEvent<'sync'>): Promise<void> {
  const syncId = e.streamId.slice('sync-'.length);
  const at = e.metadata.recordedAt;
  const revision = await currentRevision(tx, 'sync_status', 'sync_id', syncId);
  if (e.revision <= revision) return;
  if (e.revision !== revision + 1) throw new Error(`sync_status: ${e.streamId} expected revision ${revision + 1}, got ${e.revision}`);
  const set = async (sql: string, params: unknown[]): Promise<void> => {
    await tx.query(`UPDATE sync_status SET ${sql}, revision = $2, updated_at = $3 WHERE sync_id = $1`, [syncId, e.revision, at, ...params]);
  };
  switch (e.type) {
    case 'SyncRequested': {
      const d = e.data;
      await tx.query(
        `INSERT INTO sync_status (sync_id, system, direction, operation, uin, source_event_id, source_type, status, requested_at, revision, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,'PENDING',$8,$9,$8)`,
        [syncId, d.system, d.direction, d.operation, d.uin, d.sourceEventId, d.sourceType, at, e.revision],
      );
      return;
    }
    case 'SyncSucceeded':
      return set(`status = 'SUCCEEDED', attempts = $4, succeeded_at = $3, replayed = $5, outcome = $6`, [e.data.attempt, e.data.replayed, e.data.outcome]);
    case 'SyncFailed':
      return set(`status = 'FAILED', attempts = $4, last_code = $5, last_reason = $6, last_failed_at = $3`, [e.data.attempt, e.data.code, e.data.reason]);
    case 'SyncDeadLettered':
      return set(`status = 'DEAD_LETTERED', last_code = $4, last_reason = $5, dead_lettered_at = $3`, [e.data.code, e.data.reason]);
    case 'SyncRedriven':
      return set(`status = 'PENDING', redrives = redrives + 1, redriven_at = $3`, []);
    default:
      throw new Error(`sync_status: unexpected ${e.type} on ${e.streamId}`);
  }
}

async function applyMismatch(tx: SqlTx, e: CategoryEvent<'sync'>): Promise<void> {
  const mismatchId = e.streamId.slice(MISMATCH_PREFIX.length);
  const at = e.metadata.recordedAt;
  const revision = await currentRevision(tx, 'sync_mismatches', 'mismatch_id', mismatchId);
  if (e.revision <= revision) return;
  if (e.revision !== revision + 1) throw new Error(`sync_mismatches: ${e.streamId} expected revision ${revision + 1}, got ${e.revision}`);
  if (e.type === 'ReconciliationMismatchFound') {
    const d = e.data;
    await tx.query(
      `INSERT INTO sync_mismatches (mismatch_id, system, uin, field, kind, register_value, external_value, sealed, proposed_rule, status, run_id, times_found, found_at, revision)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8::jsonb,$9,'OPEN',$10,1,$11,$12)
       ON CONFLICT (mismatch_id) DO UPDATE SET kind = EXCLUDED.kind, register_value = EXCLUDED.register_value, external_value = EXCLUDED.external_value,
         sealed = EXCLUDED.sealed, proposed_rule = EXCLUDED.proposed_rule, status = 'OPEN', run_id = EXCLUDED.run_id, times_found = sync_mismatches.times_found + 1,
         found_at = EXCLUDED.found_at, resolved_at = NULL, resolution = NULL, rule = NULL, action = NULL, resolved_by = NULL, note = NULL, revision = EXCLUDED.revision`,
      [mismatchId, d.system, d.uin, d.field, d.kind, d.registerValue, d.externalValue, d.sealed ? JSON.stringify(d.sealed) : null, d.proposedRule, d.runId, at, e.revision],
    );
    return;
  }
  if (e.type === 'ReconciliationMismatchResolved') {
    const d = e.data;
    await tx.query(
      `UPDATE sync_mismatches SET status = 'RESOLVED', resolved_at = $3, resolution = $4, rule = $5, action = $6, resolved_by = $7, note = $8, revision = $2 WHERE mismatch_id = $1`,
      [mismatchId, e.revision, at, d.resolution, d.rule, d.action, d.by, d.note],
    );
    return;
  }
  if (e.type === 'ReconciliationResolutionChosen') {
    // Still open: the row's action is the operator's choice, waiting for its side to hold the value.
    const d = e.data;
    await tx.query(`UPDATE sync_mismatches SET action = $3, resolved_by = $4, note = $5, revision = $2 WHERE mismatch_id = $1`, [mismatchId, e.revision, d.action, d.by, d.note]);
    return;
  }
  throw new Error(`sync_mismatches: unexpected ${e.type} on ${e.streamId}`);
}

export const syncStatusProjection: SqlHandler = {
  name: 'sync_status',
  categories: ['sync'],
  ddl: SYNC_STATUS_DDL,
  async apply(tx: SqlTx, event: EventEnvelope): Promise<void> {
    const e = expectEventOf('sync', event);
    if (e.streamId.startsWith(MISMATCH_PREFIX)) return applyMismatch(tx, e);
    return applySync(tx, e);
  },
};
