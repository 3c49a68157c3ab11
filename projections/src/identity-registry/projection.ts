import type { EventEnvelope } from '@registo/schemas';
import type { SqlTx } from '@registo/event-store';
import type { SqlHandler } from '@registo/messaging';
import { type IdentityRow, reduceIdentity } from './reducer.js';

export const IDENTITY_REGISTRY_DDL = `
CREATE TABLE IF NOT EXISTS identity_registry (
  uin text PRIMARY KEY,
  status text NOT NULL,
  residency text NOT NULL,
  reg_ids jsonb NOT NULL,
  civil_registry_index text,
  erased boolean NOT NULL,
  revision bigint NOT NULL,
  last_position bigint NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS identity_registry_crn ON identity_registry (civil_registry_index) WHERE civil_registry_index IS NOT NULL;`;

interface Row {
  uin: string;
  status: IdentityRow['status'];
  residency: string;
  reg_ids: string[];
  civil_registry_index: string | null;
  erased: boolean;
  revision: string | number;
  last_position: string | number;
  created_at: Date | string;
  updated_at: Date | string;
}

function fromRow(r: Row): IdentityRow {
  return {
    uin: r.uin,
    status: r.status,
    residency: r.residency,
    regIds: r.reg_ids,
    civilRegistryIndex: r.civil_registry_index,
    erased: r.erased,
    revision: Number(r.revision),
    lastPosition: Number(r.last_position),
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

export async function findIdentityByUin(tx: SqlTx, uin: string, lock = false): Promise<IdentityRow | undefined> {
  const rows = await tx.query<Row>(`SELECT * FROM identity_registry WHERE uin = $1${lock ? ' FOR UPDATE' : ''}`, [uin]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Search by civil-registry number, through its blind index (infra `blindIndex`). */
export async function findIdentitiesByCivilRegistryIndex(tx: SqlTx, index: string): Promise<IdentityRow[]> {
  return (await tx.query<Row>('SELECT * FROM identity_registry WHERE civil_registry_index = $1 ORDER BY uin', [index])).map(fromRow);
}

async function save(tx: SqlTx, r: IdentityRow): Promise<void> {
  await tx.query(
    `INSERT INTO identity_registry (uin, status, residency, reg_ids, civil_registry_index, erased, revision, last_position, created_at, updated_at)
     VALUES ($1,$2,$3,$4::jsonb,$5,$6,$7,$8,$9,$10)
     ON CONFLICT (uin) DO UPDATE SET status = EXCLUDED.status, reg_ids = EXCLUDED.reg_ids, civil_registry_index = EXCLUDED.civil_registry_index, erased = EXCLUDED.erased,
       revision = EXCLUDED.revision, last_position = EXCLUDED.last_position, updated_at = EXCLUDED.updated_at`,
    [r.uin, r.status, r.residency, JSON.stringify(r.regIds), r.civilRegistryIndex, r.erased, r.revision, r.lastPosition, r.createdAt, r.updatedAt],
  );
}

/** The identity register: UIN → status, residency, enrollments, erasure; searchable by civil-registry number. */
export const identityRegistryProjection: SqlHandler = {
  name: 'identity_registry',
  categories: ['identity'],
  ddl: IDENTITY_REGISTRY_DDL,
  async apply(tx: SqlTx, event: EventEnvelope): Promise<void> {
    const uin = event.streamId.slice('identity-'.length);
    const outcome = reduceIdentity(await findIdentityByUin(tx, uin, true), event);
    if (outcome.kind === 'skip') return;
    if (outcome.kind === 'gap') throw new Error(`identity_registry: ${event.streamId} expected revision ${outcome.expectedRevision}, got ${event.revision}`);
    await save(tx, outcome.row);
  },
};
