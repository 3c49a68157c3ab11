import { StreamParallelConsumer } from '@registo/messaging';
import { createCredentialIssuance } from '@registo/consumers';
import { startConsumerWorker } from '../composition/consumer-worker.js';
import { sqlOf } from '../composition/context.js';
import type { RoleModule } from '../composition/role.js';

/** A VC per identity event, revoked on DECEASED/BLOCKED (docs/credentials.md). */
export const credentialsRole: RoleModule = {
  name: 'credentials',
  needsSql: 'the credentials role keeps its status-list places in SQL: set DATABASE_URL (or run embedded)',
  async start(ctx) {
    const { driver } = sqlOf(ctx, 'credentials');
    const handler = createCredentialIssuance(ctx.shared.credentials!.issuer, ctx.logger);
    startConsumerWorker(ctx, 'credentials:issuance', (source, sink) => new StreamParallelConsumer(driver, handler, source, sink, { logger: ctx.logger, concurrency: 16 }));
  },
};
