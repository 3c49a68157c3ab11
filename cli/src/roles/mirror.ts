import { supervise } from '@registo/messaging';
import { Mirror } from '@registo/producers';
import type { RoleModule } from '../composition/role.js';

/** The store's events onto the Kafka topics (`loadConfig` refuses the role without KAFKA_BROKERS). */
export const mirrorRole: RoleModule = {
  name: 'mirror',
  async start(ctx) {
    if (!ctx.config.kafka) return;
    const mirror = new Mirror({ store: ctx.eventStore, settings: ctx.config.kafka, logger: ctx.logger });
    const s = supervise('mirror', ctx.logger, () => mirror.run(), () => mirror.stop());
    ctx.workers.add({ name: 'mirror', stop: () => s.stop(), health: () => s.health(), describe: () => ({ ...mirror.status(), ...s.health() }) });
  },
};
