import { SqlConsumer } from '@registo/messaging';
import { PROJECTIONS } from '@registo/projections';
import { startConsumerWorker } from '../composition/consumer-worker.js';
import { sqlOf } from '../composition/context.js';
import type { RoleModule } from '../composition/role.js';

/** One consumer per read model: each has its own offsets, dead letters and restarts. */
export const projectorRole: RoleModule = {
  name: 'projector',
  needsSql: 'the projector role keeps read models in SQL: set DATABASE_URL (or run embedded)',
  async start(ctx) {
    const { driver } = sqlOf(ctx, 'projector');
    for (const projection of Object.values(PROJECTIONS)) {
      startConsumerWorker(ctx, `projector:${projection.name}`, (source, sink) => new SqlConsumer(driver, projection, source, sink, { logger: ctx.logger }), { describe: { projection: projection.name } });
    }
  },
};
