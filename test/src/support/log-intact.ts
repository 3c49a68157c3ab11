import { expect } from 'chai';
import { type EventStore, PGliteDriver, PostgresDriver, type SqlDriver } from '@registo/event-store';
import { SoftwareSigner } from '@registo/hsm';
import type { SqlHandler } from '@registo/messaging';
import { AUDIT_TREE_DDL, fetchPublishedKey } from '@registo/audit';
import { auditHealth } from '@registo/gateways';
import { adjudicationQueueProjection, enrollmentStatusProjection, identityRegistryProjection, replayProjection } from '@registo/projections';
import { DEFAULT_ADMIN_TOKEN } from '@registo/simulators';
import { createTestDatabase } from './postgres.js';
import { ENROLLMENT_READ_MODELS, type ReadModelTable, readModelRows } from './platform-env.js';

/*
 * The checks every crash and outage test ends with (test/README.md, "After a crash"): every
 * accepted packet in a final state, positions gap-free and unique, the read models equal a
 * replay of the log, no external effect applied twice, and the log's audit verification ok.
 */

/** What a packet ends in (as `registo demo` counts outcomes): approved, with an officer, or rejected. */
const FINAL_STATUSES = ['APPROVED', 'IN_ADJUDICATION', 'REJECTED'];

/** How often each idempotency key was applied at an external system (`SyncLedger.stats`, or its `/_admin/sync`). */
export interface AppliedByKey {
  appliedByKey: Record<string, number>;
}

export interface LogIntactOptions {
  /** The platform's database: a driver (PostgreSQL or PGlite), or a PostgreSQL URL. */
  db: SqlDriver | string;
  /** Its event store: replayed, and exported for the audit verification. */
  store: EventStore;
  /** Packets the platform accepted: each must be in a final state in a replay of the log. */
  acceptedRegIds?: readonly string[];
  /**
   * Read models kept live by the test, which must equal a replay of the log (default: the
   * enrollment side, ENROLLMENT_READ_MODELS); false when the test keeps none.
   */
  readModels?: { projections: readonly SqlHandler[]; tables: readonly ReadModelTable[] } | false;
  /** The external systems' ledgers (`simulatorLedgers`, or `sims.sigaLedger.stats`): no key applied twice. */
  ledgers?: Record<string, AppliedByKey>;
  /** The checkpoint key and origin, for a log the platform signed (`publishedCheckpointKey`). */
  checkpointKey?: { spki: Buffer; origin: string };
  /** How long the live read models may take to catch up with the log (default 60 s). */
  catchUpMs?: number;
}

const ENROLLMENT_PROJECTIONS = [enrollmentStatusProjection, identityRegistryProjection, adjudicationQueueProjection];

/** The checkpoint key and origin a running platform publishes (`/v1/audit/keys`). */
export async function publishedCheckpointKey(platformUrl: string): Promise<{ spki: Buffer; origin: string }> {
  const k = await fetchPublishedKey(platformUrl);
  return { spki: k.spki, origin: k.origin };
}

/** The SIGA and Immigration simulators' ledgers over their admin routes (`RunningPlatform.external`, or the simulators' URLs). */
export async function simulatorLedgers(urls: { sigaUrl: string; immigrationUrl: string }, adminToken = DEFAULT_ADMIN_TOKEN): Promise<Record<string, AppliedByKey>> {
  const stats = async (base: string): Promise<AppliedByKey> => {
    const res = await fetch(`${base.replace(/\/$/, '')}/_admin/sync`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status, `${base}/_admin/sync`).to.equal(200);
    return (await res.json()) as AppliedByKey;
  };
  return { SIGA: await stats(urls.sigaUrl), IMMIGRATION: await stats(urls.immigrationUrl) };
}

export async function expectLogIntact(o: LogIntactOptions): Promise<void> {
  const db = typeof o.db === 'string' ? new PostgresDriver({ connectionString: o.db, maxConnections: 2 }) : o.db;
  try {
    await expectPositionsUniqueAndGapFree(db);
    await expectAuditVerifies(db, o.store, o.checkpointKey);
    await expectReplayEqual(db, o);
    for (const [system, ledger] of Object.entries(o.ledgers ?? {})) {
      const twice = Object.entries(ledger.appliedByKey).filter(([, n]) => n > 1);
      expect(twice, `${system}: no update applied twice`).to.deep.equal([]);
    }
  } finally {
    if (typeof o.db === 'string') await db.close();
  }
}

/** Counted over the table itself, in one statement with the log head (a live platform may append meanwhile). */
async function expectPositionsUniqueAndGapFree(db: SqlDriver): Promise<void> {
  const [log] = await db.query<Record<'n' | 'd' | 'lo' | 'hi' | 'head', string | number>>(
    `SELECT count(*) AS n, count(DISTINCT position) AS d, coalesce(min(position), 1) AS lo, coalesce(max(position), 0) AS hi,
            (SELECT position FROM registo_log_head WHERE singleton) AS head
       FROM registo_events`,
  );
  const [n, d, lo, hi, head] = [log!.n, log!.d, log!.lo, log!.hi, log!.head].map(Number) as [number, number, number, number, number];
  expect(d, `positions unique: ${n} rows hold ${d} positions`).to.equal(n);
  expect({ first: lo, last: hi, head }, `positions gap-free: ${n} rows`).to.deep.equal({ first: 1, last: n, head: n });
}

/**
 * The verification `registo audit verify` and the health view run, over the whole log as the
 * store holds it (events past the tree against their own hashes). A log without checkpoints is
 * verified with a key of no one's: it must hold no checkpoint then.
 */
async function expectAuditVerifies(db: SqlDriver, store: EventStore, key: { spki: Buffer; origin: string } | undefined): Promise<void> {
  // The tree's tables, empty where no checkpointer ran (the verifier reads the recorded leaves from them).
  await db.migrate(AUDIT_TREE_DDL);
  const { spki, origin } = key ?? { spki: await SoftwareSigner.generate('unsigned-log').publicKeySpki(), origin: 'registo.test/unsigned-log' };
  const keys = { origin, checkpointSpki: spki, checkpointCertificatePem: '', tsaCertificatePem: null, caCertificatePems: [], signerMode: 'non_qualified' as const };
  const health = await auditHealth({ db, store, keys, maxFindings: 5 });
  expect(
    { status: health.status, positionsMissing: health.positionsMissing, positionsDuplicated: health.positionsDuplicated },
    `audit verification: ${health.findingsTotal} findings, first ${JSON.stringify(health.findings.slice(0, 3))}${key ? '' : ' (no checkpoint key given: does the log hold checkpoints?)'}`,
  ).to.deep.equal({ status: 'ok', positionsMissing: 0, positionsDuplicated: 0 });
}

async function expectReplayEqual(db: SqlDriver, o: LogIntactOptions): Promise<void> {
  const models = o.readModels === undefined ? { projections: ENROLLMENT_PROJECTIONS, tables: ENROLLMENT_READ_MODELS } : o.readModels;
  const projections = new Set<SqlHandler>(models ? models.projections : []);
  if (o.acceptedRegIds) projections.add(enrollmentStatusProjection);
  if (projections.size === 0) return;
  // The replay goes to a database of the same kind, so that both sides read back alike.
  const pglite = db instanceof PGliteDriver;
  const scratch = pglite ? null : await createTestDatabase('registo_replay');
  const replay: SqlDriver = pglite ? await PGliteDriver.open() : new PostgresDriver({ connectionString: scratch!.url, maxConnections: 2 });
  try {
    for (const p of projections) await replayProjection(o.store, replay, p);
    if (o.acceptedRegIds) {
      const rows = await replay.query<{ reg_id: string; status: string }>('SELECT reg_id, status FROM enrollment_status WHERE reg_id = ANY($1::text[])', [[...o.acceptedRegIds]]);
      const status = new Map(rows.map((r) => [r.reg_id, r.status]));
      const notFinal = o.acceptedRegIds.filter((id) => !FINAL_STATUSES.includes(status.get(id) ?? 'NOT IN THE LOG')).map((id) => `${id}: ${status.get(id) ?? 'not in the log'}`);
      expect(notFinal, 'every accepted packet in a final state').to.deep.equal([]);
    }
    if (!models) return;
    const expected = await readModelRows(replay, models.tables);
    // The live consumers may still be applying the last events: wait for them, then compare.
    const deadline = Date.now() + (o.catchUpMs ?? 60_000);
    let live = await readModelRows(db, models.tables);
    while (JSON.stringify(live) !== JSON.stringify(expected) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      live = await readModelRows(db, models.tables);
    }
    expect(live, 'the read models equal a replay of the log').to.deep.equal(expected);
  } finally {
    await replay.close();
    await scratch?.drop();
  }
}
