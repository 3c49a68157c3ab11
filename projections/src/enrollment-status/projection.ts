import type { EventEnvelope } from '@registo/schemas';
import type { EventStore, SqlTx } from '@registo/event-store';
import type { SqlHandler } from '@registo/messaging';
import { type EnrollmentStatusRow, reduceEnrollmentStatus } from './reducer.js';

export const ENROLLMENT_STATUS_DDL = `
CREATE TABLE IF NOT EXISTS enrollment_status (
  reg_id text PRIMARY KEY,
  status text NOT NULL,
  residency text,
  packet_type text,
  centre_id text,
  uin text,
  rejection_code text,
  revision bigint NOT NULL,
  last_position bigint NOT NULL,
  submitted_at timestamptz,
  updated_at timestamptz NOT NULL,
  timeline jsonb NOT NULL
);
-- Added when GET /v1/packets/{regId} came to read this table (a table built before has them empty until replayed).
ALTER TABLE enrollment_status ADD COLUMN IF NOT EXISTS packet_hash text;
ALTER TABLE enrollment_status ADD COLUMN IF NOT EXISTS rejection_reason text;
ALTER TABLE enrollment_status ADD COLUMN IF NOT EXISTS open_adjudication text;
CREATE INDEX IF NOT EXISTS enrollment_status_status ON enrollment_status (status);`;

interface Row {
  reg_id: string;
  status: EnrollmentStatusRow['status'];
  residency: string | null;
  packet_type: string | null;
  centre_id: string | null;
  packet_hash: string | null;
  uin: string | null;
  rejection_code: string | null;
  rejection_reason: string | null;
  open_adjudication: string | null;
  revision: string | number;
  last_position: string | number;
  submitted_at: Date | string | null;
  updated_at: Date | string;
  timeline: EnrollmentStatusRow['timeline'];
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

export function fromRow(r: Row): EnrollmentStatusRow {
  return {
    regId: r.reg_id,
    status: r.status,
    residency: r.residency,
    packetType: r.packet_type,
    centreId: r.centre_id,
    packetHash: r.packet_hash,
    uin: r.uin,
    rejectionCode: r.rejection_code,
    rejectionReason: r.rejection_reason,
    openAdjudication: r.open_adjudication,
    revision: Number(r.revision),
    lastPosition: Number(r.last_position),
    submittedAt: iso(r.submitted_at),
    updatedAt: iso(r.updated_at)!,
    timeline: r.timeline,
  };
}

export async function loadEnrollmentStatus(tx: SqlTx, regId: string, lock = false): Promise<EnrollmentStatusRow | undefined> {
  const rows = await tx.query<Row>(`SELECT * FROM enrollment_status WHERE reg_id = $1${lock ? ' FOR UPDATE' : ''}`, [regId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function saveEnrollmentStatus(tx: SqlTx, r: EnrollmentStatusRow): Promise<void> {
  await tx.query(
    `INSERT INTO enrollment_status (reg_id, status, residency, packet_type, centre_id, uin, rejection_code, revision, last_position, submitted_at, updated_at, timeline, packet_hash, rejection_reason, open_adjudication)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12::jsonb,$13,$14,$15)
     ON CONFLICT (reg_id) DO UPDATE SET status = EXCLUDED.status, residency = EXCLUDED.residency, packet_type = EXCLUDED.packet_type,
       centre_id = EXCLUDED.centre_id, uin = EXCLUDED.uin, rejection_code = EXCLUDED.rejection_code, revision = EXCLUDED.revision,
       last_position = EXCLUDED.last_position, submitted_at = EXCLUDED.submitted_at, updated_at = EXCLUDED.updated_at, timeline = EXCLUDED.timeline,
       packet_hash = EXCLUDED.packet_hash, rejection_reason = EXCLUDED.rejection_reason, open_adjudication = EXCLUDED.open_adjudication`,
    [r.regId, r.status, r.residency, r.packetType, r.centreId, r.uin, r.rejectionCode, r.revision, r.lastPosition, r.submittedAt, r.updatedAt, JSON.stringify(r.timeline), r.packetHash, r.rejectionReason, r.openAdjudication],
  );
}

/**
 * An enrollment as it stands now: its read-model row brought up to date with the events the
 * projection has not applied yet (read from the store after the row's revision, through the
 * same reducer). Whoever just wrote to the enrollment reads their write; with no row (or no
 * read model) the whole stream is folded. Undefined when there is no such enrollment.
 */
export async function currentEnrollmentStatus(store: Pick<EventStore, 'readStream'>, db: SqlTx | null, regId: string): Promise<EnrollmentStatusRow | undefined> {
  let row = db ? await loadEnrollmentStatus(db, regId) : undefined;
  const tail = await store.readStream(`enrollment-${regId}`, row ? { fromRevision: row.revision + 1 } : {});
  for (const event of tail) {
    const outcome = reduceEnrollmentStatus(row, event);
    if (outcome.kind === 'gap') throw new Error(`enrollment_status: ${event.streamId} expected revision ${outcome.expectedRevision}, got ${event.revision}`);
    if (outcome.kind === 'apply') row = outcome.row;
  }
  return row;
}

/** Regid of an enrollment event: its stream id without the category. */
const regIdOf = (e: EventEnvelope): string => e.streamId.slice('enrollment-'.length);

/** The `enrollment_status` read model: regId → current status and timeline. */
export const enrollmentStatusProjection: SqlHandler = {
  name: 'enrollment_status',
  categories: ['enrollment'],
  ddl: ENROLLMENT_STATUS_DDL,
  async apply(tx: SqlTx, event: EventEnvelope): Promise<void> {
    const current = await loadEnrollmentStatus(tx, regIdOf(event), true);
    const outcome = reduceEnrollmentStatus(current, event);
    if (outcome.kind === 'skip') return;
    if (outcome.kind === 'gap') {
      throw new Error(`enrollment_status: ${event.streamId} expected revision ${outcome.expectedRevision}, got ${event.revision}`);
    }
    await saveEnrollmentStatus(tx, outcome.row);
  },
};
