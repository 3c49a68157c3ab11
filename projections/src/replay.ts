import { adjudicationQueueProjection } from './adjudication-queue/projection.js';
import type { EventEnvelope } from '@registo/schemas';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { SqlHandler } from '@registo/messaging';
import { enrollmentStatusProjection } from './enrollment-status/projection.js';
import { identityRegistryProjection } from './identity-registry/projection.js';
import { credentialStatusProjection } from './credential-status/projection.js';
import { syncStatusProjection } from './sync-status/projection.js';

/** Every projection `registo replay --projection <name>` can rebuild. */
export const PROJECTIONS: Record<string, SqlHandler> = {
  [enrollmentStatusProjection.name]: enrollmentStatusProjection,
  [identityRegistryProjection.name]: identityRegistryProjection,
  [adjudicationQueueProjection.name]: adjudicationQueueProjection,
  [credentialStatusProjection.name]: credentialStatusProjection,
  [syncStatusProjection.name]: syncStatusProjection,
};

export interface ReplayProgress {
  (done: number, head: number): void;
}

/**
 * Rebuilds a projection from the event store: drops its rows and applies every event of its
 * categories again, in log order, in transactions of `batchSize` events. Consumer offsets
 * are left alone: the per-stream revision guard makes a later redelivery a no-op.
 */
export async function replayProjection(
  store: EventStore,
  db: SqlDriver,
  handler: SqlHandler,
  options: { batchSize?: number; onProgress?: ReplayProgress } = {},
): Promise<{ events: number; head: number }> {
  const tables = [...handler.ddl.matchAll(/CREATE TABLE IF NOT EXISTS (\w+)/g)].map((m) => m[1]!);
  await db.migrate(handler.ddl);
  await db.transaction(async (tx) => {
    for (const t of tables) await tx.query(`TRUNCATE ${t}`);
  });
  const head = await store.headPosition();
  const batchSize = options.batchSize ?? 2000;
  let from = 1;
  let events = 0;
  while (from <= head) {
    const page: EventEnvelope[] = await store.readAll({ fromPosition: from, maxCount: batchSize });
    if (page.length === 0) break;
    const relevant = page.filter((e) => e.position <= head && handler.categories.some((c) => e.streamId.startsWith(`${c}-`)));
    await db.transaction(async (tx) => {
      for (const e of relevant) await handler.apply(tx, e);
    });
    events += relevant.length;
    from = page[page.length - 1]!.position + 1;
    options.onProgress?.(Math.min(from - 1, head), head);
  }
  return { events, head };
}
