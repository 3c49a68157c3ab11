import { createTimestamper } from '@registo/trust';
import { supervise } from '@registo/messaging';
import { Checkpointer } from '@registo/consumers';
import { sqlOf } from '../composition/context.js';
import type { RoleModule } from '../composition/role.js';

/** The RFC 6962 tree over the log, and checkpoints signed with the hierarchy's checkpoint key (the token's in qualified mode). */
export const checkpointerRole: RoleModule = {
  name: 'checkpointer',
  needsSql: 'the checkpointer keeps the Merkle tree in SQL: set DATABASE_URL (or run embedded)',
  async start(ctx) {
    const { driver } = sqlOf(ctx, 'checkpointer');
    const { config, trust, logger } = ctx;
    const origin = ctx.shared.auditOrigin;
    let checkpointer: Checkpointer | undefined;
    const run = (): Promise<void> =>
      (checkpointer = new Checkpointer({
        store: ctx.eventStore,
        db: driver,
        signer: trust.signers.checkpoint_signer,
        origin,
        // Each checkpoint's note is timestamped by the platform's own RFC 3161 authority.
        timestamper: createTimestamper(trust),
        cadence: { every: config.audit.checkpointEvery, intervalMs: config.audit.checkpointIntervalMs },
        logger,
      })).run();
    const s = supervise('checkpointer', logger, run, async () => checkpointer?.stop());
    ctx.workers.add({ name: 'checkpointer', stop: () => s.stop(), health: () => s.health(), describe: () => ({ ...checkpointer?.status(), origin, ...s.health() }) });
  },
};
