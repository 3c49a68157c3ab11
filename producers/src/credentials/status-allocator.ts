import type { SqlDriver } from '@registo/event-store';
import { statusPositionOf } from '@registo/credentials';

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
    // One statement: a first call allocates, a repeated one returns what the first allocated
    // (the no-op update makes RETURNING give the existing row).
    const rows = await this.db.query<{ sequence: string | number }>(
      'INSERT INTO credential_status_allocations (credential_id) VALUES ($1) ON CONFLICT (credential_id) DO UPDATE SET credential_id = EXCLUDED.credential_id RETURNING sequence',
      [credentialId],
    );
    // bigserial starts at 1; positions start at 0.
    return statusPositionOf(Number(rows[0]!.sequence) - 1);
  }
}
