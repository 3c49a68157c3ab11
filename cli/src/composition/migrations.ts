import type { SqlDriver } from '@registo/event-store';
import { AUDIT_TREE_DDL } from '@registo/audit';
import { STATUS_ALLOCATIONS_DDL } from '@registo/producers';
import { PROJECTIONS } from '@registo/projections';
import { DEDUP_DDL, SYNC_CURSORS_DDL } from '@registo/consumers';

/**
 * The platform's one migration step, before any role starts: every read model (the API reads
 * them before their projector has run once), the audit tree, status-list places, the process's
 * claims and the sync cursors. Each statement is idempotent and runs under the driver's migration
 * lock, so processes starting together on one database do not race.
 */
export async function migratePlatform(driver: SqlDriver): Promise<void> {
  for (const projection of Object.values(PROJECTIONS)) await driver.migrate(projection.ddl);
  for (const ddl of [AUDIT_TREE_DDL, STATUS_ALLOCATIONS_DDL, DEDUP_DDL, SYNC_CURSORS_DDL]) await driver.migrate(ddl);
}
