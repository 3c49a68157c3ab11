import { RegistoError } from '@registo/schemas';
import type { EventStore, SqlTx } from '@registo/event-store';
import type { Logger } from '@registo/base';

/*
 * The log's origin: the first line of every checkpoint and the checkpoint key's note name, so
 * the log's identity for every verifier. It must never change with the platform's public URL
 * (its default is derived from it), or checkpoints signed before a restart under another URL
 * would stop verifying under the name the platform publishes. It is pinned once in
 * `registo_audit_origin` (AUDIT_TREE_DDL): by the log's first checkpoint when one exists (a log
 * signed before the pin was kept), otherwise by the first start. The checkpointer, the keys it
 * publishes, the export header and the health view all use the pinned value.
 */

/** The stream of CheckpointSigned events. */
export const AUDIT_CHECKPOINT_STREAM = 'audit-checkpoints';

export interface ConfiguredOrigin {
  origin: string;
  /** Set by the operator (REGISTO_AUDIT_ORIGIN) rather than derived from the public URL. */
  explicit: boolean;
}

async function pinned(db: SqlTx): Promise<string | undefined> {
  const [row] = await db.query<{ origin: string }>('SELECT origin FROM registo_audit_origin');
  return row?.origin;
}

/** The origin of the log's first checkpoint, if it has one. */
async function firstCheckpointOrigin(store: EventStore): Promise<string | undefined> {
  const [first] = await store.readStream(AUDIT_CHECKPOINT_STREAM, { maxCount: 1, verify: false });
  const origin = first?.data.origin;
  return typeof origin === 'string' && origin.length > 0 ? origin : undefined;
}

/**
 * The log's pinned origin, pinning `configured` (or the first checkpoint's) if none is yet. A
 * derived origin that differs gives way to the pinned one (a warning says so); an explicit one
 * that differs is refused with AUDIT_ORIGIN_CHANGED, since the log cannot be renamed.
 * The tables must exist (AUDIT_TREE_DDL).
 */
export async function pinLogOrigin(db: SqlTx, store: EventStore, configured: ConfiguredOrigin, logger?: Logger): Promise<string> {
  let origin = await pinned(db);
  if (origin === undefined) {
    const candidate = (await firstCheckpointOrigin(store)) ?? configured.origin;
    await db.query('INSERT INTO registo_audit_origin (origin) VALUES ($1) ON CONFLICT DO NOTHING', [candidate]);
    origin = (await pinned(db))!;
  }
  if (origin !== configured.origin) {
    if (configured.explicit) {
      throw new RegistoError('AUDIT_ORIGIN_CHANGED', `REGISTO_AUDIT_ORIGIN is '${configured.origin}', but the log's origin is '${origin}': a log keeps its origin`, { pinned: origin, configured: configured.origin });
    }
    logger?.warn({ origin, derived: configured.origin }, 'the audit log keeps its pinned origin; the one derived from REGISTO_PUBLIC_URL differs and is not used');
  }
  return origin;
}
