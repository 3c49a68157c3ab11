import type { EventStore, SqlDriver } from '@registo/event-store';
import { type EarlierRoot, ExportVerifier, SqlTreeStore, orderFindings, type Finding } from '@registo/audit';
import { exportLines } from './export-lines.js';
import type { AuditKeys } from './routes.js';

const tree = new SqlTreeStore();

export interface AuditHealthReport {
  status: 'ok' | 'failed';
  treeSize: number;
  headPosition: number;
  checked: { from: number; to: number; events: number; checkpoints: number };
  /** The first position where the store, the tree or a checkpoint disagrees. */
  firstBadPosition: number | null;
  /** Positions of the checked range no event holds, and events beyond the first at one position. */
  positionsMissing: number;
  positionsDuplicated: number;
  /** Every finding; `findings` lists the first `maxFindings` of them (`findingsOmitted` the rest). */
  findingsTotal: number;
  findingsOmitted: number;
  /** From this position on, signed roots were not compared (positions already reported), or null. */
  rootsUncheckedFrom: number | null;
  findings: Finding[];
}

/**
 * The API's own integrity view: the range of the log as the export gives it (the event store's
 * table read back, with the leaf hashes the checkpointer recorded when it first saw each event),
 * put through the verifier `registo audit verify` runs, with the log's pinned origin and the
 * checkpoint key. So the health view and `audit verify` reach the same verdict, with the same
 * findings, on the same data. Events past the tree (not yet leaves) are checked against their own
 * hashes. A changed, missing, duplicated or moved event is named by its position.
 */
export async function auditHealth(args: { db: SqlDriver; store: EventStore; keys: AuditKeys; from?: number; to?: number; maxFindings?: number }): Promise<AuditHealthReport> {
  const { db, store, keys } = args;
  const size = await tree.size(db);
  const head = await store.headPosition();
  const from = Math.min(args.from ?? 1, size + 1);
  const to = Math.max(Math.min(args.to ?? head, head), from - 1);
  // A signed root that differs is bisected with the stored tree's consistency proofs, as
  // `audit verify` does with the same proofs served over HTTP.
  const earlierRoot: EarlierRoot = async (at, signedSize) => {
    const p = await tree.consistencyProof(db, at, signedSize);
    return { root: p.firstRoot, proof: p.proof };
  };
  const verifier = new ExportVerifier({ publicKeySpki: keys.checkpointSpki, origin: keys.origin, maxFindings: args.maxFindings, earlierRoot });
  for await (const chunk of exportLines({ db, store, origin: keys.origin, from, to, pastTree: 'recomputed' })) {
    for (const line of chunk.split('\n')) verifier.line(line);
  }
  const report = await verifier.finish();
  const served = await servedRoots(db, from, Math.min(to, size));
  const findings = orderFindings([...report.findings, ...served]);
  return {
    status: report.ok && served.length === 0 ? 'ok' : 'failed',
    treeSize: size,
    headPosition: head,
    checked: { from, to, events: report.events, checkpoints: report.checkpoints },
    firstBadPosition: findings[0]?.position ?? null,
    positionsMissing: report.positionsMissing,
    positionsDuplicated: report.positionsDuplicated,
    findingsTotal: report.findingsTotal + served.length,
    findingsOmitted: report.findingsOmitted,
    rootsUncheckedFrom: report.rootsUncheckedFrom,
    findings,
  };
}

/**
 * What the export cannot show: the stored tree's upper nodes, which inclusion and consistency
 * proofs are served from, must give each signed root (the verifier rebuilds the tree from the
 * leaves instead). One finding per checkpoint over the range whose root they do not give.
 */
async function servedRoots(db: SqlDriver, from: number, to: number): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const c of await tree.checkpoints(db, { fromSize: Math.max(from - 1, 1), toSize: to, limit: 10_000 })) {
    const root = await tree.rootAt(db, c.treeSize).catch(() => null);
    if (!root?.equals(c.rootHash)) {
      out.push({ position: c.position, check: 'checkpoint-root', message: `the stored tree's nodes do not give the signed root at size ${c.treeSize} (checkpoint at ${c.position}): proofs served from them would not verify` });
    }
  }
  return out;
}
