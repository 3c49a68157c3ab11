import {
  FindingLog,
  PREVIOUS_EXTENSION,
  SqlTreeStore,
  type EventStore,
  type Finding,
  type SqlDriver,
  eventFinding,
  eventLeafHash,
  extensionValue,
  noteDigest,
  parseCheckpointBody,
  parseNote,
  verifyNoteSignature,
} from '@registo/infra';
import { computeHash } from '@registo/schemas';
import type { AuditKeys } from './routes.js';

const tree = new SqlTreeStore();
const PAGE = 2000;

export interface AuditHealthReport {
  status: 'ok' | 'failed';
  treeSize: number;
  headPosition: number;
  checked: { from: number; to: number; events: number; checkpoints: number };
  /** The first position where the store, the tree or a checkpoint disagrees. */
  firstBadPosition: number | null;
  /** Every finding; `findings` lists the first `maxFindings` of them (`findingsOmitted` the rest). */
  findingsTotal: number;
  findingsOmitted: number;
  findings: Finding[];
}

/**
 * The API's own integrity view: reads the event store's table back and compares it with the
 * tree the checkpointer built when the events were first seen, and the stored tree with every
 * signed checkpoint in the range. A changed, missing or moved event is named by its position.
 */
export async function auditHealth(args: { db: SqlDriver; store: EventStore; keys: AuditKeys; from?: number; to?: number; maxFindings?: number }): Promise<AuditHealthReport> {
  const { db, store, keys } = args;
  const size = await tree.size(db);
  const head = await store.headPosition();
  const from = args.from ?? 1;
  const end = Math.min(args.to ?? head, head);
  const findings = new FindingLog(args.maxFindings);
  const find = (f: Finding): void => findings.add(f);
  let expected = from;
  let events = 0;
  while (expected <= end) {
    const page = (await store.readAll({ fromPosition: expected, maxCount: PAGE, verify: false })).filter((e) => e.position <= end);
    if (page.length === 0) break;
    const leaves = await tree.leafHashes(db, page[0]!.position - 1, page[page.length - 1]!.position);
    for (const e of page) {
      if (e.position !== expected) find({ position: expected, through: e.position - 1, check: 'sequence', message: `position ${expected}${e.position - 1 > expected ? `–${e.position - 1}` : ''} is missing from the event store` });
      expected = e.position + 1;
      events++;
      let hash: string;
      try {
        hash = computeHash(e);
      } catch {
        hash = '';
      }
      const leaf = leaves.get(e.position - 1);
      const changed = eventFinding(e.position, hash === e.hash, !leaf || leaf.equals(eventLeafHash(e)));
      if (changed) find(changed);
    }
  }
  if (expected <= end) find({ position: expected, through: end, check: 'sequence', message: `positions ${expected}–${end} are missing from the event store` });

  let checkpoints = 0;
  let previous: { treeSize: number; noteSha256: Buffer } | null = null;
  // The checkpoints over the range asked (every one when no range is given), up to 10,000.
  for (const c of await tree.checkpoints(db, { fromSize: args.from ? from - 1 : 0, toSize: args.to ?? Number.MAX_SAFE_INTEGER, limit: 10_000 })) {
    checkpoints++;
    try {
      const note = parseNote(c.note);
      const body = parseCheckpointBody(note.body);
      // The same rule as `audit verify`: every checkpoint is for the log's one (pinned) origin.
      if (body.origin !== keys.origin) {
        find({ position: c.position, check: 'origin', message: `the checkpoint of size ${c.treeSize} (event ${c.position}) is for origin '${body.origin}', not the log's '${keys.origin}'` });
      } else if (!verifyNoteSignature(note, keys.origin, keys.checkpointSpki) || body.treeSize !== c.treeSize || !body.rootHash.equals(c.rootHash)) {
        find({ position: c.position, check: 'checkpoint-signature', message: `the checkpoint of size ${c.treeSize} (event ${c.position}) is not signed by the checkpoint key` });
      }
      if (previous && previous.treeSize < c.treeSize && extensionValue(body, PREVIOUS_EXTENSION) !== previous.noteSha256.toString('base64')) {
        find({ position: c.position, check: 'checkpoint-chain', message: `the checkpoint of size ${c.treeSize} does not name the checkpoint of size ${previous.treeSize}` });
      }
      if (c.treeSize <= size && !(await tree.rootAt(db, c.treeSize)).equals(body.rootHash)) {
        find({ position: previous ? previous.treeSize + 1 : 1, through: c.treeSize, check: 'checkpoint-root', message: `the tree at size ${c.treeSize} does not have the root the checkpoint signed` });
      }
    } catch (e) {
      find({ position: c.position, check: 'checkpoint-format', message: `the checkpoint of size ${c.treeSize}: ${(e as Error).message}` });
    }
    previous = { treeSize: c.treeSize, noteSha256: noteDigest(c.note) };
  }
  const ordered = findings.ordered();
  return {
    status: findings.total === 0 ? 'ok' : 'failed',
    treeSize: size,
    headPosition: head,
    checked: { from, to: end, events, checkpoints },
    firstBadPosition: ordered[0]?.position ?? null,
    findingsTotal: findings.total,
    findingsOmitted: findings.omitted,
    findings: ordered,
  };
}
