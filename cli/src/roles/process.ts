import { StreamParallelConsumer } from '@registo/messaging';
import { AbisHttpConnector, ImmigrationHttpConnector, SigaHttpConnector } from '@registo/external';
import { DEFAULT_UIN_POLICY } from '@registo/producers';
import { createEnrollmentProcess } from '@registo/consumers';
import { startConsumerWorker } from '../composition/consumer-worker.js';
import { externalOf, sqlOf } from '../composition/context.js';
import type { RoleModule } from '../composition/role.js';

/** The enrollment saga: SIGA, Immigration and the ABIS asked for each packet, then the identity commands. */
export const processRole: RoleModule = {
  name: 'process',
  needsSql: 'the process role keeps its claims in SQL: set DATABASE_URL (or run embedded)',
  needsExternal:
    'the process role calls SIGA, Immigration and the ABIS: set REGISTO_SIGA_URL, REGISTO_IMMIGRATION_URL, REGISTO_ABIS_URL and REGISTO_EXTERNAL_TOKEN, or REGISTO_SIMULATORS=on',
  async start(ctx) {
    const { driver, sealer } = sqlOf(ctx, 'process');
    const ext = externalOf(ctx, 'process');
    const connector = { token: ext.token, timeoutMs: ext.timeoutMs };
    const handler = createEnrollmentProcess({
      store: ctx.eventStore,
      db: driver,
      sealer,
      siga: new SigaHttpConnector({ baseUrl: ext.sigaUrl, ...connector }),
      immigration: new ImmigrationHttpConnector({ baseUrl: ext.immigrationUrl, ...connector }),
      abis: new AbisHttpConnector({ baseUrl: ext.abisUrl, ...connector }),
      indexKey: ctx.keys.identity.indexKey,
      uinKey: ctx.keys.identity.uinKey,
      uinPolicy: { ...DEFAULT_UIN_POLICY, length: ctx.config.uinLength },
      logger: ctx.logger,
    });
    // Enrollments on different partitions never share a stream: the process takes them all at once.
    startConsumerWorker(ctx, 'process:enrollment', (source, sink) => new StreamParallelConsumer(driver, handler, source, sink, { logger: ctx.logger, concurrency: 32 }), {
      partitionsConsumedConcurrently: ctx.config.kafka?.partitions,
    });
  },
};
