import type { EventEnvelope, SealedData } from '@registo/schemas';
import type { SqlTx } from '@registo/event-store';
import type { SqlHandler } from '@registo/messaging';
import { type CredentialRow, type StatusChangeRow, type StatusRequestRow, keysOf, reduceCredentialStatus } from './reducer.js';

export const CREDENTIAL_STATUS_DDL = `
CREATE TABLE IF NOT EXISTS credential_status (
  credential_id text PRIMARY KEY,
  uin text NOT NULL,
  kind text NOT NULL,
  credential_type text NOT NULL,
  serial_hex text,
  status text NOT NULL,
  reason text,
  status_list_id text,
  status_list_index int,
  issuer text NOT NULL,
  issued_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  signer_mode text NOT NULL,
  credential_sha256 text NOT NULL,
  sealed jsonb NOT NULL,
  issued_position bigint NOT NULL,
  status_changed_at timestamptz,
  status_position bigint NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS credential_status_serial ON credential_status (serial_hex) WHERE serial_hex IS NOT NULL;
CREATE INDEX IF NOT EXISTS credential_status_uin ON credential_status (uin);
CREATE INDEX IF NOT EXISTS credential_status_issued ON credential_status (issued_position);
CREATE INDEX IF NOT EXISTS credential_status_list ON credential_status (status_list_id) WHERE status <> 'ACTIVE';
CREATE TABLE IF NOT EXISTS credential_holders (
  uin text PRIMARY KEY,
  revision bigint NOT NULL,
  last_position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS credential_status_requests (
  request_id text PRIMARY KEY,
  credential_id text NOT NULL,
  uin text NOT NULL,
  action text NOT NULL,
  reason text,
  comment text NOT NULL,
  requested_by text NOT NULL,
  requested_by_role text NOT NULL,
  state text NOT NULL,
  decided_by text,
  decision_comment text,
  requested_at timestamptz NOT NULL,
  decided_at timestamptz
);
CREATE INDEX IF NOT EXISTS credential_status_requests_state ON credential_status_requests (state, requested_at);
CREATE TABLE IF NOT EXISTS credential_status_changes (
  position bigint NOT NULL,
  credential_id text NOT NULL,
  serial_hex text,
  status text NOT NULL,
  reason text,
  changed_at timestamptz NOT NULL,
  PRIMARY KEY (position, credential_id)
);`;

interface CredentialDbRow {
  credential_id: string;
  uin: string;
  kind: CredentialRow['kind'];
  credential_type: string;
  serial_hex: string | null;
  status: CredentialRow['status'];
  reason: CredentialRow['reason'];
  status_list_id: string | null;
  status_list_index: number | null;
  issuer: string;
  issued_at: Date | string;
  expires_at: Date | string;
  signer_mode: string;
  credential_sha256: string;
  sealed: SealedData | string;
  issued_position: string | number;
  status_changed_at: Date | string | null;
  status_position: string | number;
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

function credentialFrom(r: CredentialDbRow): CredentialRow {
  return {
    credentialId: r.credential_id,
    uin: r.uin,
    kind: r.kind,
    credentialType: r.credential_type,
    serialHex: r.serial_hex,
    status: r.status,
    reason: r.reason,
    statusListId: r.status_list_id,
    statusListIndex: r.status_list_index,
    issuer: r.issuer,
    issuedAt: iso(r.issued_at)!,
    expiresAt: iso(r.expires_at)!,
    signerMode: r.signer_mode,
    credentialSha256: r.credential_sha256,
    sealed: typeof r.sealed === 'string' ? (JSON.parse(r.sealed) as SealedData) : r.sealed,
    issuedPosition: Number(r.issued_position),
    statusChangedAt: iso(r.status_changed_at),
    statusPosition: Number(r.status_position),
  };
}

interface RequestDbRow {
  request_id: string;
  credential_id: string;
  uin: string;
  action: string;
  reason: string | null;
  comment: string;
  requested_by: string;
  requested_by_role: string;
  state: StatusRequestRow['state'];
  decided_by: string | null;
  decision_comment: string | null;
  requested_at: Date | string;
  decided_at: Date | string | null;
}

function requestFrom(r: RequestDbRow): StatusRequestRow {
  return {
    requestId: r.request_id,
    credentialId: r.credential_id,
    uin: r.uin,
    action: r.action,
    reason: r.reason,
    comment: r.comment,
    requestedBy: r.requested_by,
    requestedByRole: r.requested_by_role,
    state: r.state,
    decidedBy: r.decided_by,
    decisionComment: r.decision_comment,
    requestedAt: iso(r.requested_at)!,
    decidedAt: iso(r.decided_at),
  };
}

export async function findCredential(tx: SqlTx, credentialId: string, lock = false): Promise<CredentialRow | undefined> {
  const rows = await tx.query<CredentialDbRow>(`SELECT * FROM credential_status WHERE credential_id = $1${lock ? ' FOR UPDATE' : ''}`, [credentialId]);
  return rows[0] ? credentialFrom(rows[0]) : undefined;
}

export async function findCredentialBySerial(tx: SqlTx, serialHex: string): Promise<CredentialRow | undefined> {
  const rows = await tx.query<CredentialDbRow>('SELECT * FROM credential_status WHERE serial_hex = $1', [serialHex]);
  return rows[0] ? credentialFrom(rows[0]) : undefined;
}

export async function listCredentialsOfHolder(tx: SqlTx, uin: string): Promise<CredentialRow[]> {
  return (await tx.query<CredentialDbRow>('SELECT * FROM credential_status WHERE uin = $1 ORDER BY issued_position', [uin])).map(credentialFrom);
}

/** Credentials issued after log position `after`, oldest first (the print bureau's cursor). */
export async function listCredentialsIssuedAfter(tx: SqlTx, after: number, limit: number, kind?: CredentialRow['kind']): Promise<CredentialRow[]> {
  const rows = await tx.query<CredentialDbRow>(
    `SELECT * FROM credential_status WHERE issued_position > $1 ${kind ? 'AND kind = $3' : ''} ORDER BY issued_position LIMIT $2`,
    kind ? [after, limit, kind] : [after, limit],
  );
  return rows.map(credentialFrom);
}

/** Indices of one status list whose credential is in `status` (the bits to set). */
export async function statusListIndices(tx: SqlTx, statusListId: string, status: CredentialRow['status']): Promise<number[]> {
  const rows = await tx.query<{ status_list_index: number }>(
    'SELECT status_list_index FROM credential_status WHERE status_list_id = $1 AND status = $2 AND status_list_index IS NOT NULL',
    [statusListId, status],
  );
  return rows.map((r) => Number(r.status_list_index));
}

/** Whether any credential points to this status list (an unknown list is a 404). */
export async function statusListExists(tx: SqlTx, statusListId: string): Promise<boolean> {
  return (await tx.query('SELECT 1 FROM credential_status WHERE status_list_id = $1 LIMIT 1', [statusListId])).length > 0;
}

export async function findStatusRequest(tx: SqlTx, requestId: string, lock = false): Promise<StatusRequestRow | undefined> {
  const rows = await tx.query<RequestDbRow>(`SELECT * FROM credential_status_requests WHERE request_id = $1${lock ? ' FOR UPDATE' : ''}`, [requestId]);
  return rows[0] ? requestFrom(rows[0]) : undefined;
}

export async function listStatusRequests(tx: SqlTx, state: StatusRequestRow['state'] | null, limit = 100): Promise<StatusRequestRow[]> {
  const rows = await tx.query<RequestDbRow>(
    `SELECT * FROM credential_status_requests ${state ? 'WHERE state = $2' : ''} ORDER BY requested_at, request_id LIMIT $1`,
    state ? [limit, state] : [limit],
  );
  return rows.map(requestFrom);
}

/** The last log position this read model applied (0 before any). */
export async function credentialStatusRevision(tx: SqlTx): Promise<number> {
  const rows = await tx.query<{ p: string | number | null }>('SELECT max(last_position) AS p FROM credential_holders');
  return Number(rows[0]?.p ?? 0);
}

export async function statusChangesAfter(tx: SqlTx, position: number, x509Only = true): Promise<StatusChangeRow[]> {
  const rows = await tx.query<{ position: string | number; credential_id: string; serial_hex: string | null; status: 'revoked' | 'good'; reason: StatusChangeRow['reason']; changed_at: Date | string }>(
    `SELECT * FROM credential_status_changes WHERE position > $1 ${x509Only ? 'AND serial_hex IS NOT NULL' : ''} ORDER BY position, credential_id`,
    [position],
  );
  return rows.map((r) => ({ position: Number(r.position), credentialId: r.credential_id, serialHex: r.serial_hex, status: r.status, reason: r.reason, at: iso(r.changed_at)! }));
}

async function saveCredential(tx: SqlTx, c: CredentialRow): Promise<void> {
  await tx.query(
    `INSERT INTO credential_status (credential_id, uin, kind, credential_type, serial_hex, status, reason, status_list_id, status_list_index, issuer,
       issued_at, expires_at, signer_mode, credential_sha256, sealed, issued_position, status_changed_at, status_position)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15::jsonb,$16,$17,$18)
     ON CONFLICT (credential_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason,
       status_changed_at = EXCLUDED.status_changed_at, status_position = EXCLUDED.status_position`,
    [c.credentialId, c.uin, c.kind, c.credentialType, c.serialHex, c.status, c.reason, c.statusListId, c.statusListIndex, c.issuer,
      c.issuedAt, c.expiresAt, c.signerMode, c.credentialSha256, JSON.stringify(c.sealed), c.issuedPosition, c.statusChangedAt, c.statusPosition],
  );
}

async function saveRequest(tx: SqlTx, r: StatusRequestRow): Promise<void> {
  await tx.query(
    `INSERT INTO credential_status_requests (request_id, credential_id, uin, action, reason, comment, requested_by, requested_by_role, state, decided_by, decision_comment, requested_at, decided_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
     ON CONFLICT (request_id) DO UPDATE SET state = EXCLUDED.state, decided_by = EXCLUDED.decided_by, decision_comment = EXCLUDED.decision_comment, decided_at = EXCLUDED.decided_at`,
    [r.requestId, r.credentialId, r.uin, r.action, r.reason, r.comment, r.requestedBy, r.requestedByRole, r.state, r.decidedBy, r.decisionComment, r.requestedAt, r.decidedAt],
  );
}

/**
 * `credential_status`: every credential with its current status (and its sealed copy, for the
 * holder's channel and the print bureau), the status-change requests awaiting a second person,
 * and the log of status changes that delta CRLs are made from.
 */
export const credentialStatusProjection: SqlHandler = {
  name: 'credential_status',
  categories: ['credential'],
  ddl: CREDENTIAL_STATUS_DDL,
  async apply(tx: SqlTx, event: EventEnvelope): Promise<void> {
    const uin = event.streamId.slice('credential-'.length);
    const holder = await tx.query<{ revision: string | number }>('SELECT revision FROM credential_holders WHERE uin = $1 FOR UPDATE', [uin]);
    const { credentialId, requestId } = keysOf(event);
    const outcome = reduceCredentialStatus(
      {
        holderRevision: holder[0] ? Number(holder[0].revision) : undefined,
        credential: credentialId ? await findCredential(tx, credentialId, true) : undefined,
        request: requestId ? await findStatusRequest(tx, requestId, true) : undefined,
      },
      event,
    );
    if (outcome.kind === 'skip') return;
    if (outcome.kind === 'gap') throw new Error(`credential_status: ${event.streamId} expected revision ${outcome.expectedRevision}, got ${event.revision}`);
    if (outcome.credential) await saveCredential(tx, outcome.credential);
    if (outcome.request) await saveRequest(tx, outcome.request);
    if (outcome.change) {
      const ch: StatusChangeRow = outcome.change;
      await tx.query(
        'INSERT INTO credential_status_changes (position, credential_id, serial_hex, status, reason, changed_at) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING',
        [ch.position, ch.credentialId, ch.serialHex, ch.status, ch.reason, ch.at],
      );
    }
    await tx.query(
      `INSERT INTO credential_holders (uin, revision, last_position) VALUES ($1, $2, $3)
       ON CONFLICT (uin) DO UPDATE SET revision = EXCLUDED.revision, last_position = EXCLUDED.last_position`,
      [uin, event.revision, event.position],
    );
  },
};

/**
 * The holder-key register over the credential read model: which UINs have an X.509 certificate
 * for a key. X.509 credential ids end in the first 32 hex digits of the key's SHA-256
 * (`x509-<uin>-<digest>`), so the id alone answers.
 */
export class SqlHolderKeyRegister {
  constructor(private readonly db: SqlTx) {}

  async certifiedFor(publicKeySha256: string): Promise<readonly string[]> {
    const digest = publicKeySha256.slice(0, 32);
    if (!/^[0-9a-f]{32}$/.test(digest)) return [];
    const rows = await this.db.query<{ uin: string }>("SELECT DISTINCT uin FROM credential_status WHERE kind = 'X509' AND credential_id LIKE $1", [`x509-%-${digest}`]);
    return rows.map((r) => r.uin);
  }
}
