import { type EventEnvelope, expectEventOf } from '@registo/schemas';
import type { SqlTx } from '@registo/event-store';
import type { SqlHandler } from '@registo/messaging';
import { type AdjudicationRow, reduceAdjudication } from './reducer.js';

export const ADJUDICATION_QUEUE_DDL = `
CREATE TABLE IF NOT EXISTS adjudication_queue (
  adjudication_id text PRIMARY KEY,
  reg_id text NOT NULL,
  status text NOT NULL,
  reasons jsonb NOT NULL,
  candidates jsonb NOT NULL,
  requested_at timestamptz NOT NULL,
  decision text,
  decision_reason text,
  adjudicator_id text,
  target_uin text,
  decided_at timestamptz,
  last_position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS adjudication_queue_open ON adjudication_queue (status, requested_at);
CREATE TABLE IF NOT EXISTS adjudication_candidates (
  reg_id text NOT NULL,
  candidate text NOT NULL,
  PRIMARY KEY (reg_id, candidate)
);`;

interface Row {
  adjudication_id: string;
  reg_id: string;
  status: AdjudicationRow['status'];
  reasons: string[];
  candidates: string[];
  requested_at: Date | string;
  decision: AdjudicationRow['decision'];
  decision_reason: string | null;
  adjudicator_id: string | null;
  target_uin: string | null;
  decided_at: Date | string | null;
  last_position: string | number;
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

function fromRow(r: Row): AdjudicationRow {
  return {
    adjudicationId: r.adjudication_id,
    regId: r.reg_id,
    status: r.status,
    reasons: r.reasons,
    candidates: r.candidates,
    requestedAt: iso(r.requested_at)!,
    decision: r.decision,
    decisionReason: r.decision_reason,
    adjudicatorId: r.adjudicator_id,
    targetUin: r.target_uin,
    decidedAt: iso(r.decided_at),
    lastPosition: Number(r.last_position),
  };
}

export async function findAdjudication(tx: SqlTx, adjudicationId: string, lock = false): Promise<AdjudicationRow | undefined> {
  const rows = await tx.query<Row>(`SELECT * FROM adjudication_queue WHERE adjudication_id = $1${lock ? ' FOR UPDATE' : ''}`, [adjudicationId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * One page of the queue in the order officers work it (oldest request first), continuing
 * after the case named by `after` in that same order: a cursor compared by id alone would
 * skip or repeat cases whose ids sort differently from their requests.
 */
export async function listAdjudications(tx: SqlTx, options: { status?: AdjudicationRow['status']; limit?: number; after?: string } = {}): Promise<AdjudicationRow[]> {
  const rows = await tx.query<Row>(
    `SELECT q.* FROM adjudication_queue q LEFT JOIN adjudication_queue c ON c.adjudication_id = $2
     WHERE ($1::text IS NULL OR q.status = $1)
       AND ($2::text IS NULL OR (q.requested_at, q.adjudication_id) > (c.requested_at, c.adjudication_id))
     ORDER BY q.requested_at, q.adjudication_id LIMIT $3`,
    [options.status ?? null, options.after ?? null, options.limit ?? 100],
  );
  return rows.map(fromRow);
}

async function save(tx: SqlTx, r: AdjudicationRow): Promise<void> {
  await tx.query(
    `INSERT INTO adjudication_queue (adjudication_id, reg_id, status, reasons, candidates, requested_at, decision, decision_reason, adjudicator_id, target_uin, decided_at, last_position)
     VALUES ($1,$2,$3,$4::jsonb,$5::jsonb,$6,$7,$8,$9,$10,$11,$12)
     ON CONFLICT (adjudication_id) DO UPDATE SET status = EXCLUDED.status, decision = EXCLUDED.decision, decision_reason = EXCLUDED.decision_reason,
       adjudicator_id = EXCLUDED.adjudicator_id, target_uin = EXCLUDED.target_uin, decided_at = EXCLUDED.decided_at, last_position = EXCLUDED.last_position`,
    [r.adjudicationId, r.regId, r.status, JSON.stringify(r.reasons), JSON.stringify(r.candidates), r.requestedAt, r.decision, r.decisionReason, r.adjudicatorId, r.targetUin, r.decidedAt, r.lastPosition],
  );
}

/** The adjudicators' queue: open cases with their reasons and duplicate candidates, and how each was decided. */
export const adjudicationQueueProjection: SqlHandler = {
  name: 'adjudication_queue',
  categories: ['enrollment'],
  ddl: ADJUDICATION_QUEUE_DDL,
  async apply(tx: SqlTx, delivered: EventEnvelope): Promise<void> {
    const event = expectEventOf('enrollment', delivered);
    if (event.type === 'DuplicateSuspected') {
      const d = event.data;
      await tx.query('INSERT INTO adjudication_candidates (reg_id, candidate) VALUES ($1, $2) ON CONFLICT DO NOTHING', [d.regId, d.candidateUin]);
      return;
    }
    // The identity a packet claims to be is the case's candidate: the officer sees its record
    // beside the packet's (both opened from their sealed copies, never stored in clear).
    if (event.type === 'IdentityClaimChecked') {
      const d = event.data;
      await tx.query('INSERT INTO adjudication_candidates (reg_id, candidate) VALUES ($1, $2) ON CONFLICT DO NOTHING', [d.regId, d.uin]);
      return;
    }
    if (event.type !== 'AdjudicationRequested' && event.type !== 'AdjudicationDecided') return;
    const { adjudicationId: id, regId } = event.data;
    const candidates = (await tx.query<{ candidate: string }>('SELECT candidate FROM adjudication_candidates WHERE reg_id = $1 ORDER BY candidate', [regId])).map((r) => r.candidate);
    const next = reduceAdjudication(await findAdjudication(tx, id, true), event, candidates);
    if (next) await save(tx, next);
  },
};
