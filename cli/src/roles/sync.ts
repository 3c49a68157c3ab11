import { supervise } from '@registo/messaging';
import { SyncService } from '@registo/consumers';
import { sqlOf } from '../composition/context.js';
import type { RoleModule } from '../composition/role.js';

/** External sync (docs/sync.md): outbound consumers per system, change-feed polling, scheduled reconciliation. */
export const syncRole: RoleModule = {
  name: 'sync',
  needsSql: 'the sync role keeps its cursors in SQL: set DATABASE_URL (or run embedded)',
  needsExternal: 'the sync role calls SIGA and Immigration: set REGISTO_SIGA_URL, REGISTO_IMMIGRATION_URL, REGISTO_ABIS_URL and REGISTO_EXTERNAL_TOKEN, or REGISTO_SIMULATORS=on',
  async start(ctx) {
    const { driver, sealer } = sqlOf(ctx, 'sync');
    const { sync } = ctx.config;
    const service = new SyncService({
      store: ctx.eventStore,
      db: driver,
      sealer,
      ports: ctx.shared.syncPorts!,
      kafka: ctx.config.kafka,
      retryDelaysMs: sync.retryDelaysMs,
      pollMs: sync.pollMs,
      reconcileIntervalMs: sync.reconcileIntervalMs,
      sessionTimeoutMs: sync.sessionTimeoutMs,
      logger: ctx.logger,
    });
    const s = supervise('sync', ctx.logger, () => service.run(), () => service.stop());
    ctx.workers.add({ name: 'sync', stop: () => s.stop(), health: () => s.health(), describe: () => ({ ...service.status(), ...s.health() }) });
  },
};
