import { type SqlDriver, statusPositionOf } from '@registo/infra';

export const STATUS_ALLOCATIONS_DDL = `
CREATE TABLE IF NOT EXISTS credential_status_allocations (
  credential_id text PRIMARY KEY,
  sequence bigserial UNIQUE,
  allocated_at timestamptz NOT NULL DEFAULT now()
);`;

/**
 * Gives each VC its place in the status lists, once: the same credential id always gets the same
 * place, so a retried issuance (redelivery, crash before the append) points at the same bits.
 * Sequence values a conflict burns are simply never used.
 */
export class StatusListAllocator {
  constructor(private readonly db: SqlDriver) {}

  async migrate(): Promise<void> {
    await this.db.migrate(STATUS_ALLOCATIONS_DDL);
  }

  async allocate(credentialId: string): Promise<{ statusListId: string; statusListIndex: number }> {
    await this.db.query('INSERT INTO credential_status_allocations (credential_id) VALUES ($1) ON CONFLICT (credential_id) DO NOTHING', [credentialId]);
    const rows = await this.db.query<{ sequence: string | number }>('SELECT sequence FROM credential_status_allocations WHERE credential_id = $1', [credentialId]);
    // bigserial starts at 1; positions start at 0.
    return statusPositionOf(Number(rows[0]!.sequence) - 1);
  }
}
